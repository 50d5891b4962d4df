"""An anatomy for a quant whose header has not been read: a sibling's, retyped to the quant's file size.

Every quant in a repo is the same model: same layers, heads, vocabulary, tensor shapes. Only
the tensor types differ, and the file size says how many bytes they add up to. So once one
header of the repo is known (a few MB, read once and cached), any other label can be sized
without reading its header: keep the reference's tensors, and give the weight matrices types
from llama.cpp's quant ladder so their bytes add up to the file's (norms and biases stay F32).

The result is an estimate (the real per-tensor mix is the quantizer's choice), good for a fit
badge; reading the label's own header replaces it with the exact anatomy.
"""

from __future__ import annotations

from dataclasses import replace

from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.gguf.ggml_types import GGML_TYPES_BY_NAME, GgmlType, ggml_type
from tui.core.gguf.reader import TensorInfo

#: Types quantizers give weight matrices, fewest bits first (rows must be whole blocks).
QUANT_LADDER = ("IQ1_S", "IQ2_XXS", "Q2_K", "Q3_K", "IQ4_XS", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "F16", "F32")
#: For rows that are not a multiple of 256 elements (llama.cpp falls back to 32-element blocks).
SMALL_BLOCK_LADDER = ("Q4_0", "Q5_0", "Q8_0", "F16", "F32")
#: Which tensors a quantizer gives more bits first (llama.cpp's recipes: output, attention V, FFN down).
_UPGRADE_ORDER = ("output.weight", "token_embd.weight", "attn_v", "ffn_down", "attn_k", "attn_output", "attn_q",
                  "ffn_gate", "ffn_up")


def anatomy_for_size(reference: ModelAnatomy, file_size: int, n_shards: int = 1) -> ModelAnatomy:
    """``reference`` retyped so its tensors take ``file_size`` bytes (header bytes kept as the reference's)."""
    header_bytes = max(0, reference.file_size - reference.tensor_bytes)
    fixed = [t for t in reference.tensors if not _is_weight_matrix(t)]
    weights = [t for t in reference.tensors if _is_weight_matrix(t)]
    target = file_size - header_bytes - sum(t.n_bytes for t in fixed)
    n_elements = sum(t.n_elements for t in weights)
    if not weights or target <= 0 or not n_elements:
        return replace(reference, file_size=file_size, n_shards=n_shards)
    target_bpw = target * 8 / n_elements
    ladders = {t.name: _ladder_for(t) for t in weights}
    chosen: dict[str, int] = {}
    for t in weights:
        ladder = ladders[t.name]
        below = [i for i, ty in enumerate(ladder) if ty.bits_per_weight <= target_bpw]
        chosen[t.name] = below[-1] if below else 0
    total = sum(_bytes(t, ladders[t.name][chosen[t.name]]) for t in weights)
    order = sorted(weights, key=_upgrade_rank)
    upgraded = True
    while upgraded and total < target:
        upgraded = False
        for t in order:
            step = chosen[t.name] + 1
            if step >= len(ladders[t.name]):
                continue
            delta = _bytes(t, ladders[t.name][step]) - _bytes(t, ladders[t.name][chosen[t.name]])
            if total + delta <= target:
                chosen[t.name], total, upgraded = step, total + delta, True
    retyped = {t.name: ladders[t.name][chosen[t.name]].id for t in weights}
    tensors = tuple(replace(t, ggml_type=retyped[t.name]) if t.name in retyped else t for t in reference.tensors)
    by_type: dict[str, int] = {}
    for t in tensors:
        by_type[t.type_name] = by_type.get(t.type_name, 0) + t.n_bytes
    return replace(reference, tensors=tensors, file_size=file_size, n_shards=n_shards, file_type=None,
                   bytes_by_type=dict(sorted(by_type.items(), key=lambda kv: -kv[1])))


def _is_weight_matrix(t: TensorInfo) -> bool:
    """A quantizable weight: two or more dimensions, stored as a float or quant type (not F32 norms/biases)."""
    return len(t.shape) >= 2 and ggml_type(t.ggml_type).name not in ("F32", "I8", "I16", "I32", "I64", "F64")


def _ladder_for(t: TensorInfo) -> list[GgmlType]:
    row = t.shape[0]
    names = QUANT_LADDER if row % 256 == 0 else SMALL_BLOCK_LADDER
    return [GGML_TYPES_BY_NAME[n] for n in names if row % GGML_TYPES_BY_NAME[n].block_size == 0]


def _bytes(t: TensorInfo, ty: GgmlType) -> int:
    return t.n_elements // ty.block_size * ty.type_size


def _upgrade_rank(t: TensorInfo) -> tuple[int, str]:
    for rank, marker in enumerate(_UPGRADE_ORDER):
        if t.name == marker or f".{marker}" in t.name:
            return rank, t.name
    return len(_UPGRADE_ORDER), t.name
