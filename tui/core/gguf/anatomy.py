"""What a model is made of, read from its GGUF header: the input to every fit estimate.

``ModelAnatomy`` is a plain record of sizes (tokens, elements, bytes); ``anatomy_from_headers``
derives it from one header per shard. Field meanings follow llama.cpp's ``llama_hparams``;
the rules that turn keys into per-layer values live in ``tui.core.gguf.hparams``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

from tui.core.gguf.reader import ArraySummary, GGUFError, GGUFHeader, TensorInfo

#: metadata arrays up to this length stay in ``ModelAnatomy.metadata`` (any per-layer array fits)
METADATA_ARRAY_LIMIT = 512
#: ``anatomy_to_dict`` shows metadata arrays up to this length; longer ones as their type and length
JSON_ARRAY_LIMIT = 64


@dataclass(frozen=True)
class ModelAnatomy:
    """A model's shape as llama.cpp sees it. Per-layer tuples have ``n_layer`` entries."""

    architecture: str                  # general.architecture, e.g. "llama", "qwen3moe"
    name: str | None                   # general.name
    file_type: int | None              # general.file_type (llama_ftype), None if absent
    n_params: int                      # sum of all tensor elements
    n_layer: int                       # {arch}.block_count, nextn layers included (nanbeige: x num_loops)
    n_embd: int                        # {arch}.embedding_length
    n_ff: tuple[int, ...]              # {arch}.feed_forward_length, per layer (0 = no dense FFN)
    n_head: tuple[int, ...]            # {arch}.attention.head_count, per layer
    n_head_kv: tuple[int, ...]         # {arch}.attention.head_count_kv, per layer (0 = no attention)
    n_embd_head_k: int                 # {arch}.attention.key_length, else n_embd / n_head
    n_embd_head_v: int                 # {arch}.attention.value_length, else n_embd / n_head
    n_vocab: int                       # len(tokenizer.ggml.tokens) (llama.cpp's n_tokens), else {arch}.vocab_size, else token_embd rows
    n_ctx_train: int                   # {arch}.context_length (tokens)
    sliding_window: int = 0            # {arch}.attention.sliding_window (tokens); 0 = none
    swa_layers: tuple[bool, ...] = ()  # per layer: True where attention is sliding-window
    swa_type: str = "none"             # "none", "standard", "chunked" (llama4) or "symmetric"
    n_embd_head_k_swa: int = 0         # key head size on SWA layers ({arch}.attention.key_length_swa); 0 = n_embd_head_k
    n_embd_head_v_swa: int = 0         # value head size on SWA layers; 0 = n_embd_head_v
    n_layer_kv_from_start: int = -1    # only the first N layers own a KV cache (gemma3n, gemma4); -1 = all
    n_expert: int = 0                  # {arch}.expert_count
    n_expert_used: int = 0             # {arch}.expert_used_count (largest per-layer value)
    n_expert_shared: int = 0           # {arch}.expert_shared_count
    n_ff_exp: int = 0                  # {arch}.expert_feed_forward_length (largest per-layer value)
    n_ff_shexp: int = 0                # {arch}.expert_shared_feed_forward_length
    n_layer_dense_lead: int = 0        # {arch}.leading_dense_block_count (DeepSeek-style)
    kv_lora_rank: int = 0              # MLA: {arch}.attention.kv_lora_rank
    q_lora_rank: int = 0               # MLA: {arch}.attention.q_lora_rank
    n_embd_head_k_mla: int = 0         # MLA: {arch}.attention.key_length_mla
    n_embd_head_v_mla: int = 0         # MLA: {arch}.attention.value_length_mla
    ssm_d_conv: int = 0                # recurrent: {arch}.ssm.conv_kernel
    ssm_d_inner: int = 0               # recurrent: {arch}.ssm.inner_size
    ssm_d_state: int = 0               # recurrent: {arch}.ssm.state_size
    ssm_n_group: int = 0               # recurrent: {arch}.ssm.group_count
    ssm_dt_rank: int = 0               # recurrent: {arch}.ssm.time_step_rank
    n_embd_r: int = 0                  # recurrent: rolling (conv / token-shift) state elements per layer and sequence
    n_embd_s: int = 0                  # recurrent: SSM / WKV state elements per layer and sequence
    recurrent_layers: tuple[bool, ...] = ()  # per layer: True where the layer keeps recurrent state
    n_nextn_layers: int = 0            # {arch}.nextn_predict_layers (trailing MTP layers)
    tied_embeddings: bool = False      # no output.weight: the output layer reuses token_embd
    known_architecture: bool = True    # the bundled llama.cpp can load this architecture
    file_size: int = 0                 # bytes, all shards
    n_shards: int = 1
    bytes_by_type: dict[str, int] = field(default_factory=dict)  # ggml type name -> tensor bytes
    tensors: tuple[TensorInfo, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)  # key/values, large arrays left out

    @property
    def tensor_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)

    @property
    def bits_per_weight(self) -> float:
        """Whole-model bits per weight: tensor bytes * 8 / parameters."""
        return self.tensor_bytes * 8 / self.n_params if self.n_params else 0.0

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 0

    @property
    def n_layer_main(self) -> int:
        """Layers that run for every token (nextn / MTP layers excluded)."""
        return self.n_layer - self.n_nextn_layers


def anatomy_from_headers(headers: list[GGUFHeader]) -> ModelAnatomy:
    """The anatomy of a model from its shards' headers (in shard order; the first holds the key/values)."""
    from tui.core.gguf.hparams import is_known_architecture, load_hparams

    if not headers:
        raise GGUFError("no GGUF header to read a model from")
    first = headers[0]
    tensors = tuple(t for h in headers for t in h.tensors)
    hp = load_hparams(first.metadata, {t.name: t.shape for t in tensors})
    names = {t.name for t in tensors}
    bytes_by_type: dict[str, int] = {}
    for t in tensors:
        bytes_by_type[t.type_name] = bytes_by_type.get(t.type_name, 0) + t.n_bytes
    name = first.metadata.get("general.name")
    file_type = first.metadata.get("general.file_type")
    return ModelAnatomy(
        architecture=hp.arch,
        name=name if isinstance(name, str) else None,
        file_type=file_type if isinstance(file_type, int) and not isinstance(file_type, bool) else None,
        n_params=sum(t.n_elements for t in tensors),
        n_layer=hp.n_layer_all,
        n_embd=hp.n_embd,
        n_ff=tuple(hp.n_ff),
        n_head=tuple(hp.n_head),
        n_head_kv=tuple(hp.n_head_kv),
        n_embd_head_k=hp.n_embd_head_k,
        n_embd_head_v=hp.n_embd_head_v,
        n_vocab=hp.n_vocab,
        n_ctx_train=hp.n_ctx_train,
        sliding_window=hp.n_swa if hp.swa_type != "none" else 0,
        swa_layers=tuple(hp.is_swa),
        swa_type=hp.swa_type,
        n_embd_head_k_swa=hp.n_embd_head_k_swa,
        n_embd_head_v_swa=hp.n_embd_head_v_swa,
        n_layer_kv_from_start=hp.n_layer_kv_from_start,
        n_expert=hp.n_expert,
        n_expert_used=max(hp.n_expert_used, default=0),
        n_expert_shared=hp.n_expert_shared,
        n_ff_exp=max(hp.n_ff_exp, default=0),
        n_ff_shexp=hp.n_ff_shexp,
        n_layer_dense_lead=hp.n_layer_dense_lead,
        kv_lora_rank=hp.n_lora_kv,
        q_lora_rank=hp.n_lora_q,
        n_embd_head_k_mla=hp.n_embd_head_k_mla,
        n_embd_head_v_mla=hp.n_embd_head_v_mla,
        ssm_d_conv=hp.ssm_d_conv,
        ssm_d_inner=hp.ssm_d_inner,
        ssm_d_state=hp.ssm_d_state,
        ssm_n_group=hp.ssm_n_group,
        ssm_dt_rank=hp.ssm_dt_rank,
        n_embd_r=hp.n_embd_r(),
        n_embd_s=hp.n_embd_s(),
        recurrent_layers=tuple(hp.is_recr),
        n_nextn_layers=hp.n_layer_nextn,
        tied_embeddings="token_embd.weight" in names and "output.weight" not in names,
        known_architecture=is_known_architecture(hp.arch),
        file_size=sum(_shard_size(h) for h in headers),
        n_shards=len(headers),
        bytes_by_type=dict(sorted(bytes_by_type.items(), key=lambda kv: -kv[1])),
        tensors=tensors,
        metadata=_small_metadata(first.metadata),
    )


def load_anatomy(path: str | os.PathLike[str]) -> ModelAnatomy:
    """The anatomy of a local GGUF model; ``path`` may be any shard of a split model."""
    from tui.core.gguf.split import read_model_headers

    return anatomy_from_headers(read_model_headers(path))


def anatomy_to_dict(anatomy: ModelAnatomy, *, include_tensors: bool = False) -> dict[str, Any]:
    """A JSON-ready dict: every field (tuples as lists), plus tensor_count, tensor_bytes, bits_per_weight."""
    out: dict[str, Any] = {}
    for f in fields(anatomy):
        if f.name == "tensors":
            continue
        value = getattr(anatomy, f.name)
        out[f.name] = _jsonable_metadata(value) if f.name == "metadata" else _jsonable(value)
    out["tensor_count"] = len(anatomy.tensors)
    out["tensor_bytes"] = anatomy.tensor_bytes
    out["bits_per_weight"] = round(anatomy.bits_per_weight, 4)
    out["is_moe"] = anatomy.is_moe
    if include_tensors:
        out["tensors"] = [
            {"name": t.name, "shape": list(t.shape), "type": t.type_name, "bytes": t.n_bytes, "shard": t.shard}
            for t in anatomy.tensors
        ]
    return out


def _shard_size(header: GGUFHeader) -> int:
    if header.file_size is not None:
        return header.file_size
    return header.data_offset + header.tensor_data_size  # size unknown (a stream): the least it can be


def _small_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Key/values without the long arrays (vocabularies, merges, scores)."""
    return {
        k: v
        for k, v in metadata.items()
        if not isinstance(v, ArraySummary) and not (isinstance(v, list) and len(v) > METADATA_ARRAY_LIMIT)
    }


_JSON_KIND = {str: "string", bool: "bool", int: "int", float: "float"}


def _jsonable_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in metadata.items():
        if isinstance(value, list) and len(value) > JSON_ARRAY_LIMIT:
            kinds = {_JSON_KIND.get(type(v), "array") for v in value}
            value = {"array": kinds.pop() if len(kinds) == 1 else "mixed", "length": len(value)}
        out[key] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, ArraySummary):
        return {"array": value.type.name.lower(), "length": value.length}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
