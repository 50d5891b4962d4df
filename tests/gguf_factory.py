"""Build GGUF models that llama.cpp really loads: the ground truth the fit engine is checked against.

Two kinds of file come out of here:

* ``make_model(path, spec)``: a small, complete model (random weights, a synthetic SPM
  tokenizer) of any supported architecture. A few hundred kB to a few MB, so a test loads it
  in llama.cpp in a fraction of a second and reads the buffer sizes llama.cpp reports.
* ``make_header_only(path, preset)``: a real-size model (Llama-3.1-70B, Qwen3-30B-A3B, ...)
  whose data region is a sparse hole: the header and tensor infos are written, then the file
  is truncated to its full size. It costs no disk, and llama.cpp's "no_alloc" loading path
  (the one its own memory fitting uses) sizes every buffer without reading a weight.

The tensor lists mirror what llama.cpp's ``load_arch_tensors`` asks for (src/models/<arch>.cpp
in the vendored llama.cpp): the loader refuses a file with a missing required tensor or an
extra one, so a file that loads is a file whose anatomy matches llama.cpp's view exactly.

Shapes are in ggml order (``ne0`` first, the row length), as llama.cpp and GGUF tensor infos
write them; sizes are bytes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

#: Architectures this factory can build (GGUF ``general.architecture`` names).
ARCHITECTURES = ("llama", "deci", "gemma3", "qwen3moe", "gpt-oss", "deepseek2", "mamba")

#: Types whose block is 256 elements; a row that is not a multiple falls back (see ``_fit_type``).
_K_QUANT_BLOCK = 256

#: The GGUF data alignment GGUFWriter uses (bytes); tensors start on multiples of it.
ALIGNMENT = gguf.GGUF_DEFAULT_ALIGNMENT


@dataclass(frozen=True)
class ModelSpec:
    """The shape of a synthetic model, in llama.cpp's hyper-parameter terms.

    Per-layer values (``n_head_kv``, ``n_ff``) may be an int (every layer) or a tuple with one
    entry per layer; per-layer values are only meaningful for ``deci``, the architecture that
    llama.cpp builds layer by layer (``llama`` itself sizes every layer like layer 0). A deci
    layer with ``n_head_kv`` 0 has no KV cache (a plain projection); one with ``n_ff`` 0 has no
    FFN: such a file loads and sizes correctly, but llama.cpp 0.3.36 aborts when it decodes.

    ``weight_type`` is the ggml type of the 2-D and 3-D matrices; 1-D tensors (norms, biases)
    stay F32 as every converter writes them. ``type_rules`` are ``(regex, type)`` pairs tried
    in order against tensor names (first match wins), e.g. to mimic a Q4_K_M mix.
    """

    arch: str = "llama"
    name: str = "factory-model"
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int | tuple[int, ...] = 2
    head_dim: int | None = None         # attention.key_length/value_length; None = n_embd // n_head
    n_ff: int | tuple[int, ...] = 128
    n_vocab: int = 320                  # tokens in the synthetic SPM vocabulary (>= 259)
    n_ctx_train: int = 4096             # tokens
    rope_freq_base: float = 10000.0
    # MoE
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_expert_shared: int = 0            # deepseek2 shared experts
    n_layer_dense_lead: int = 0         # deepseek2 leading dense blocks
    # sliding-window attention
    sliding_window: int = 0             # tokens; 0 = none
    swa_pattern: int = 0                # every Nth layer is full attention (gemma3: 6, gpt-oss: 2)
    # MLA (deepseek2)
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    rope_dim: int = 0                   # qk rope head dim (deepseek2); 0 = head_dim
    head_dim_k_mla: int = 0             # qk_nope + qk_rope
    head_dim_v_mla: int = 0
    # recurrent (mamba)
    ssm_d_conv: int = 4
    ssm_d_inner: int = 0                # 0 = 2 * n_embd (the only expansion llama.cpp supports)
    ssm_d_state: int = 16
    ssm_dt_rank: int = 0                # 0 = ceil(n_embd / 16)
    # storage
    weight_type: str = "F16"
    embd_type: str | None = None        # token_embd type; None = weight_type
    output_type: str | None = None      # output.weight type; None = weight_type
    type_rules: tuple[tuple[str, str], ...] = ()
    tied_embeddings: bool = False       # True: no output.weight, llama.cpp reuses token_embd
    llama3_rope_freqs: bool = False     # write rope_freqs.weight (Llama 3.1 long-context factors)
    seed: int = 0

    def with_changes(self, **changes) -> ModelSpec:
        return replace(self, **changes)

    # --- derived values -------------------------------------------------------------------

    @property
    def head_dim_(self) -> int:
        return self.head_dim if self.head_dim else self.n_embd // self.n_head

    def layer_values(self, value: int | tuple[int, ...]) -> tuple[int, ...]:
        if isinstance(value, tuple):
            if len(value) != self.n_layer:
                raise ValueError(f"per-layer value {value} has {len(value)} entries, n_layer is {self.n_layer}")
            return value
        return (value,) * self.n_layer

    @property
    def swa_layers(self) -> tuple[bool, ...]:
        """Per layer: True where attention is sliding-window (llama.cpp ``set_swa_pattern``)."""
        if not self.sliding_window or not self.swa_pattern:
            return (False,) * self.n_layer
        n = self.swa_pattern
        return tuple(il % n < n - 1 for il in range(self.n_layer))

    @property
    def d_inner(self) -> int:
        return self.ssm_d_inner or 2 * self.n_embd

    @property
    def dt_rank(self) -> int:
        return self.ssm_dt_rank or -(-self.n_embd // 16)


@dataclass(frozen=True)
class TensorPlan:
    """One tensor to write: name, ggml-order shape and ggml type name."""

    name: str
    shape: tuple[int, ...]
    type_name: str

    @property
    def qtype(self) -> GGMLQuantizationType:
        return GGMLQuantizationType[self.type_name]

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def n_bytes(self) -> int:
        block, size = GGML_QUANT_SIZES[self.qtype]
        return self.n_elements // block * size


@dataclass(frozen=True)
class BuiltModel:
    """What the factory wrote. ``path`` is the file to open (the first shard of a split model)."""

    path: Path
    shards: tuple[Path, ...]
    spec: ModelSpec
    tensors: tuple[TensorPlan, ...]
    header_only: bool = False

    @property
    def tensor_bytes(self) -> int:
        """Sum of tensor data bytes (unpadded), over all shards."""
        return sum(t.n_bytes for t in self.tensors)

    @property
    def file_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.shards)


# --- tensor lists per architecture ----------------------------------------------------------


def _attention_qkv(spec: ModelSpec, i: int, n_head_kv: int) -> list[tuple[str, tuple[int, ...]]]:
    hd = spec.head_dim_
    return [
        (f"blk.{i}.attn_q.weight", (spec.n_embd, hd * spec.n_head)),
        (f"blk.{i}.attn_k.weight", (spec.n_embd, hd * n_head_kv)),
        (f"blk.{i}.attn_v.weight", (spec.n_embd, hd * n_head_kv)),
        (f"blk.{i}.attn_output.weight", (hd * spec.n_head, spec.n_embd)),
    ]


def _dense_ffn(spec: ModelSpec, i: int, n_ff: int) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (f"blk.{i}.ffn_gate.weight", (spec.n_embd, n_ff)),
        (f"blk.{i}.ffn_down.weight", (n_ff, spec.n_embd)),
        (f"blk.{i}.ffn_up.weight", (spec.n_embd, n_ff)),
    ]


def _expert_ffn(spec: ModelSpec, i: int) -> list[tuple[str, tuple[int, ...]]]:
    e, f = spec.n_expert, spec.n_ff_exp
    return [
        (f"blk.{i}.ffn_gate_inp.weight", (spec.n_embd, e)),
        (f"blk.{i}.ffn_gate_exps.weight", (spec.n_embd, f, e)),
        (f"blk.{i}.ffn_down_exps.weight", (f, spec.n_embd, e)),
        (f"blk.{i}.ffn_up_exps.weight", (spec.n_embd, f, e)),
    ]


def _embeddings(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    names = [("token_embd.weight", (spec.n_embd, spec.n_vocab)), ("output_norm.weight", (spec.n_embd,))]
    if not spec.tied_embeddings:
        names.append(("output.weight", (spec.n_embd, spec.n_vocab)))
    return names


def _llama_tensors(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    out = _embeddings(spec)
    if spec.llama3_rope_freqs:
        out.append(("rope_freqs.weight", (spec.head_dim_ // 2,)))
    kv = spec.layer_values(spec.n_head_kv)
    ff = spec.layer_values(spec.n_ff)
    for i in range(spec.n_layer):
        if spec.arch == "llama" and (kv[i] != kv[0] or ff[i] != ff[0]):
            raise ValueError("llama sizes every layer like layer 0: use arch='deci' for per-layer shapes")
        if kv[i] > 0:
            out.append((f"blk.{i}.attn_norm.weight", (spec.n_embd,)))
            out += _attention_qkv(spec, i, kv[i])
        else:  # deci "linear attention" layer: no K/V, a plain projection
            out.append((f"blk.{i}.attn_norm.weight", (spec.n_embd,)))
            out.append((f"blk.{i}.attn_output.weight", (spec.n_embd, spec.n_embd)))
        if ff[i] > 0:
            out.append((f"blk.{i}.ffn_norm.weight", (spec.n_embd,)))
            out += _dense_ffn(spec, i, ff[i])
    return out


def _gemma3_tensors(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    out = _embeddings(spec)
    hd = spec.head_dim_
    for i in range(spec.n_layer):
        out.append((f"blk.{i}.attn_norm.weight", (spec.n_embd,)))
        out += _attention_qkv(spec, i, spec.layer_values(spec.n_head_kv)[i])
        out += [
            (f"blk.{i}.post_attention_norm.weight", (spec.n_embd,)),
            (f"blk.{i}.attn_k_norm.weight", (hd,)),
            (f"blk.{i}.attn_q_norm.weight", (hd,)),
            (f"blk.{i}.ffn_norm.weight", (spec.n_embd,)),
        ]
        out += _dense_ffn(spec, i, spec.layer_values(spec.n_ff)[i])
        out.append((f"blk.{i}.post_ffw_norm.weight", (spec.n_embd,)))
    return out


def _qwen3moe_tensors(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    out = _embeddings(spec)
    hd = spec.head_dim_
    for i in range(spec.n_layer):
        out.append((f"blk.{i}.attn_norm.weight", (spec.n_embd,)))
        out += _attention_qkv(spec, i, spec.layer_values(spec.n_head_kv)[i])
        out += [
            (f"blk.{i}.attn_k_norm.weight", (hd,)),
            (f"blk.{i}.attn_q_norm.weight", (hd,)),
            (f"blk.{i}.ffn_norm.weight", (spec.n_embd,)),
        ]
        out += _expert_ffn(spec, i)
    return out


def _gpt_oss_tensors(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    if spec.tied_embeddings:
        raise ValueError("gpt-oss requires output.weight (llama.cpp loads it unconditionally)")
    out = _embeddings(spec)
    e, f = spec.n_expert, spec.n_ff_exp
    for i in range(spec.n_layer):
        out += [
            (f"blk.{i}.attn_norm.weight", (spec.n_embd,)),
            (f"blk.{i}.post_attention_norm.weight", (spec.n_embd,)),
        ]
        out += _attention_qkv(spec, i, spec.layer_values(spec.n_head_kv)[i])
        out.append((f"blk.{i}.attn_sinks.weight", (spec.n_head,)))
        out += _expert_ffn(spec, i)
        out += [
            (f"blk.{i}.attn_output.bias", (spec.n_embd,)),
            (f"blk.{i}.ffn_gate_inp.bias", (e,)),
            (f"blk.{i}.ffn_gate_exps.bias", (f, e)),
            (f"blk.{i}.ffn_down_exps.bias", (spec.n_embd, e)),
            (f"blk.{i}.ffn_up_exps.bias", (f, e)),
        ]
    return out


def _deepseek2_tensors(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    out = _embeddings(spec)
    rope = spec.rope_dim
    nope = spec.head_dim_k_mla - rope
    kv_rank, q_rank, h = spec.kv_lora_rank, spec.q_lora_rank, spec.n_head
    if nope < 1:
        raise ValueError("head_dim_k_mla must exceed rope_dim")
    for i in range(spec.n_layer):
        out.append((f"blk.{i}.attn_norm.weight", (spec.n_embd,)))
        if q_rank > 0:
            out.append((f"blk.{i}.attn_q_a_norm.weight", (q_rank,)))
        out.append((f"blk.{i}.attn_kv_a_norm.weight", (kv_rank,)))
        if q_rank > 0:
            out += [
                (f"blk.{i}.attn_q_a.weight", (spec.n_embd, q_rank)),
                (f"blk.{i}.attn_q_b.weight", (q_rank, h * spec.head_dim_k_mla)),
            ]
        else:
            out.append((f"blk.{i}.attn_q.weight", (spec.n_embd, h * spec.head_dim_k_mla)))
        out += [
            (f"blk.{i}.attn_kv_a_mqa.weight", (spec.n_embd, kv_rank + rope)),
            (f"blk.{i}.attn_k_b.weight", (nope, kv_rank, h)),
            (f"blk.{i}.attn_v_b.weight", (kv_rank, spec.head_dim_v_mla, h)),
            (f"blk.{i}.attn_output.weight", (h * spec.head_dim_v_mla, spec.n_embd)),
            (f"blk.{i}.ffn_norm.weight", (spec.n_embd,)),
        ]
        if i < spec.n_layer_dense_lead:
            out += _dense_ffn(spec, i, spec.layer_values(spec.n_ff)[i])
        else:
            shared = spec.n_ff_exp * spec.n_expert_shared
            out += _expert_ffn(spec, i)
            out += [
                (f"blk.{i}.ffn_gate_shexp.weight", (spec.n_embd, shared)),
                (f"blk.{i}.ffn_down_shexp.weight", (shared, spec.n_embd)),
                (f"blk.{i}.ffn_up_shexp.weight", (spec.n_embd, shared)),
            ]
    return out


def _mamba_tensors(spec: ModelSpec) -> list[tuple[str, tuple[int, ...]]]:
    out = _embeddings(spec)
    di, ds, dt, dc = spec.d_inner, spec.ssm_d_state, spec.dt_rank, spec.ssm_d_conv
    for i in range(spec.n_layer):
        out += [
            (f"blk.{i}.attn_norm.weight", (spec.n_embd,)),
            (f"blk.{i}.ssm_in.weight", (spec.n_embd, 2 * di)),
            (f"blk.{i}.ssm_conv1d.weight", (dc, di)),
            (f"blk.{i}.ssm_conv1d.bias", (di,)),
            (f"blk.{i}.ssm_x.weight", (di, dt + 2 * ds)),
            (f"blk.{i}.ssm_dt.weight", (dt, di)),
            (f"blk.{i}.ssm_dt.bias", (di,)),
            (f"blk.{i}.ssm_a", (ds, di)),
            (f"blk.{i}.ssm_d", (di,)),
            (f"blk.{i}.ssm_out.weight", (di, spec.n_embd)),
        ]
    return out


_TENSOR_BUILDERS = {
    "llama": _llama_tensors,
    "deci": _llama_tensors,
    "gemma3": _gemma3_tensors,
    "qwen3moe": _qwen3moe_tensors,
    "gpt-oss": _gpt_oss_tensors,
    "deepseek2": _deepseek2_tensors,
    "mamba": _mamba_tensors,
}

#: Tensors llama.cpp's graph needs in F32 whatever the file's quantization (converters keep them F32).
_ALWAYS_F32 = re.compile(r"(ssm_a|ssm_d|ssm_conv1d\.weight|attn_sinks\.weight|ffn_gate_inp\.weight)$")


def _fit_type(type_name: str, row: int) -> str:
    """``type_name`` if a row of ``row`` elements is whole blocks of it, else the fallback llama-quantize would pick."""
    block, _ = GGML_QUANT_SIZES[GGMLQuantizationType[type_name]]
    if row % block == 0:
        return type_name
    if row % 32 == 0:
        return "Q8_0"
    return "F16"


def tensor_plan(spec: ModelSpec) -> tuple[TensorPlan, ...]:
    """The tensors llama.cpp expects for ``spec``, with their storage types."""
    if spec.arch not in _TENSOR_BUILDERS:
        raise ValueError(f"unsupported architecture {spec.arch!r}; choose from {', '.join(ARCHITECTURES)}")
    rules = [(re.compile(p), t) for p, t in spec.type_rules]
    plans = []
    for name, shape in _TENSOR_BUILDERS[spec.arch](spec):
        if len(shape) == 1 or name.endswith(".bias") or _ALWAYS_F32.search(name):
            type_name = "F32"
        else:
            type_name = next((t for rx, t in rules if rx.search(name)), None)
            if type_name is None:
                if name == "token_embd.weight":
                    type_name = spec.embd_type or spec.weight_type
                elif name == "output.weight":
                    type_name = spec.output_type or spec.weight_type
                else:
                    type_name = spec.weight_type
            type_name = _fit_type(type_name.upper(), shape[0])
        plans.append(TensorPlan(name, tuple(int(d) for d in shape), type_name))
    return tuple(plans)


# --- metadata ----------------------------------------------------------------------------------


def _per_layer(writer: GGUFWriter, key: str, values: tuple[int, ...]) -> None:
    if len(set(values)) == 1:
        writer.add_uint32(key, values[0])
    else:
        writer.add_array(key, [int(v) for v in values])


def _write_hparams(writer: GGUFWriter, spec: ModelSpec) -> None:
    a = spec.arch
    writer.add_name(spec.name)
    writer.add_uint32(f"{a}.context_length", spec.n_ctx_train)
    writer.add_uint32(f"{a}.embedding_length", spec.n_embd)
    writer.add_uint32(f"{a}.block_count", spec.n_layer)
    writer.add_float32(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)
    writer.add_uint32(f"{a}.vocab_size", spec.n_vocab)
    if a == "mamba":
        writer.add_uint32(f"{a}.feed_forward_length", 0)
        writer.add_uint32(f"{a}.attention.head_count", 0)
        writer.add_uint32(f"{a}.attention.head_count_kv", 0)
        writer.add_uint32(f"{a}.ssm.conv_kernel", spec.ssm_d_conv)
        writer.add_uint32(f"{a}.ssm.inner_size", spec.d_inner)
        writer.add_uint32(f"{a}.ssm.state_size", spec.ssm_d_state)
        writer.add_uint32(f"{a}.ssm.time_step_rank", spec.dt_rank)
        return
    _per_layer(writer, f"{a}.feed_forward_length", spec.layer_values(spec.n_ff))
    writer.add_uint32(f"{a}.attention.head_count", spec.n_head)
    _per_layer(writer, f"{a}.attention.head_count_kv", spec.layer_values(spec.n_head_kv))
    writer.add_float32(f"{a}.rope.freq_base", spec.rope_freq_base)
    if a == "deepseek2":
        # llama.cpp's MLA layout: one "KV head" holding the compressed latent plus the rope part
        writer.add_uint32(f"{a}.attention.key_length", spec.kv_lora_rank + spec.rope_dim)
        writer.add_uint32(f"{a}.attention.value_length", spec.kv_lora_rank)
        writer.add_uint32(f"{a}.attention.key_length_mla", spec.head_dim_k_mla)
        writer.add_uint32(f"{a}.attention.value_length_mla", spec.head_dim_v_mla)
        writer.add_uint32(f"{a}.rope.dimension_count", spec.rope_dim)
        writer.add_uint32(f"{a}.attention.q_lora_rank", spec.q_lora_rank)
        writer.add_uint32(f"{a}.attention.kv_lora_rank", spec.kv_lora_rank)
        writer.add_uint32(f"{a}.leading_dense_block_count", spec.n_layer_dense_lead)
        writer.add_uint32(f"{a}.expert_shared_count", spec.n_expert_shared)
        writer.add_float32(f"{a}.expert_weights_scale", 1.0)
    else:
        writer.add_uint32(f"{a}.attention.key_length", spec.head_dim_)
        writer.add_uint32(f"{a}.attention.value_length", spec.head_dim_)
        writer.add_uint32(f"{a}.rope.dimension_count", spec.head_dim_)
    if spec.n_expert:
        writer.add_uint32(f"{a}.expert_count", spec.n_expert)
        writer.add_uint32(f"{a}.expert_used_count", spec.n_expert_used)
        writer.add_uint32(f"{a}.expert_feed_forward_length", spec.n_ff_exp)
    if spec.sliding_window:
        writer.add_uint32(f"{a}.attention.sliding_window", spec.sliding_window)
        if spec.swa_pattern:
            writer.add_uint32(f"{a}.attention.sliding_window_pattern", spec.swa_pattern)


def _write_tokenizer(writer: GGUFWriter, n_vocab: int) -> None:
    """A synthetic SentencePiece ("llama") vocabulary of ``n_vocab`` tokens.

    <unk>, <s>, </s>, the 256 byte tokens llama.cpp looks up (``<0x0A>`` for newline), then
    unique word pieces. It tokenizes any text (falling back to bytes) and costs
    ~20 bytes a token of header, like a real vocabulary.
    """
    if n_vocab < 259 + 1:
        raise ValueError("the synthetic vocabulary needs at least 260 tokens (specials + 256 bytes)")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    i = 0
    while len(tokens) < n_vocab:
        # "▁e", "▁t", ..., then "e0", "t0", ...: deterministic, unique
        tokens.append(("\u2581" + letters[i]) if i < len(letters) else f"{letters[i % 26]}{i // 26}")
        i += 1
    types = [2, 3, 3] + [6] * 256 + [1] * (n_vocab - 259)
    scores = [0.0] * 259 + [-float(k) for k in range(n_vocab - 259)]
    writer.add_string("tokenizer.ggml.model", "llama")
    writer.add_array("tokenizer.ggml.tokens", tokens)
    writer.add_array("tokenizer.ggml.scores", scores)
    writer.add_array("tokenizer.ggml.token_type", types)
    writer.add_uint32("tokenizer.ggml.unknown_token_id", 0)
    writer.add_uint32("tokenizer.ggml.bos_token_id", 1)
    writer.add_uint32("tokenizer.ggml.eos_token_id", 2)
    writer.add_bool("tokenizer.ggml.add_bos_token", True)


def _ftype(spec: ModelSpec) -> int:
    """``general.file_type`` (llama_ftype) for the dominant weight type."""
    return {
        "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10,
        "Q3_K": 12, "Q4_K": 15, "Q5_K": 17, "Q6_K": 18, "BF16": 32, "MXFP4": 38,
    }.get(spec.weight_type.upper(), 1)


# --- tensor data -------------------------------------------------------------------------------


def _tensor_data(plan: TensorPlan, rng: np.random.Generator) -> np.ndarray:
    """Small random weights (norms at 1, SSM A negative) stored as ``plan.type_name``.

    Types the ``gguf`` package cannot quantize (the K-quants) get zero blocks: valid data
    (a zero scale) of exactly the right size.
    """
    np_shape = tuple(reversed(plan.shape))
    name = plan.name
    if plan.name.endswith("norm.weight"):
        values = np.ones(np_shape, dtype=np.float32)
    elif name.endswith(".ssm_a"):
        values = -np.exp(rng.standard_normal(np_shape).astype(np.float32) * 0.1)
    else:
        values = (rng.standard_normal(np_shape) * 0.02).astype(np.float32)
    if plan.type_name == "F32":
        return values
    if plan.type_name == "F16":
        return values.astype(np.float16)
    try:
        return gguf.quants.quantize(values, plan.qtype)
    except NotImplementedError:
        block, size = GGML_QUANT_SIZES[plan.qtype]
        byte_shape = np_shape[:-1] + (np_shape[-1] // block * size,)
        return np.zeros(byte_shape, dtype=np.uint8)


# --- writing -------------------------------------------------------------------------------


def _new_writer(path: Path, spec: ModelSpec, split_max_tensors: int) -> GGUFWriter:
    if spec.arch not in _TENSOR_BUILDERS:
        raise ValueError(f"unsupported architecture {spec.arch!r}; choose from {', '.join(ARCHITECTURES)}")
    writer = GGUFWriter(path, spec.arch, split_max_tensors=split_max_tensors)
    _write_hparams(writer, spec)
    writer.add_file_type(_ftype(spec))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _write_tokenizer(writer, spec.n_vocab)
    return writer


def _shard_paths(writer: GGUFWriter, path: Path) -> tuple[Path, ...]:
    return tuple(writer.format_shard_names(path))


def make_model(path: str | os.PathLike, spec: ModelSpec = ModelSpec(), *, split_max_tensors: int = 0) -> BuiltModel:
    """Write a complete small model (real random weights) that llama.cpp loads and runs.

    ``split_max_tensors`` > 0 writes a split model (``name-00001-of-0000N.gguf``, llama.cpp's
    naming); ``BuiltModel.path`` is then the first shard.
    """
    path = Path(path)
    plans = tensor_plan(spec)
    rng = np.random.default_rng(spec.seed)
    writer = _new_writer(path, spec, split_max_tensors)
    for plan in plans:
        data = _tensor_data(plan, rng)
        writer.add_tensor(plan.name, data, raw_dtype=plan.qtype)
    shards = _shard_paths(writer, path)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return BuiltModel(shards[0], shards, spec, plans)


def make_sparse_model(path: str | os.PathLike, spec: ModelSpec, *, split_max_tensors: int = 0) -> BuiltModel:
    """Write ``spec``'s header and tensor infos, then extend each file to full size with a hole.

    The file is byte-for-byte what a real model's header is, and as long as the real model;
    its data reads as zeros and takes no disk blocks.
    """
    path = Path(path)
    plans = tensor_plan(spec)
    writer = _new_writer(path, spec, split_max_tensors)
    for plan in plans:
        writer.add_tensor_info(plan.name, tuple(reversed(plan.shape)), np.dtype(np.float32), plan.n_bytes,
                               raw_dtype=plan.qtype)
    shards = _shard_paths(writer, path)
    shard_data = [sum(GGUFWriter.ggml_pad(ti.nbytes, writer.data_alignment) for ti in tensors.values())
                  for tensors in writer.tensors]
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    assert writer.fout is not None
    for fout in writer.fout:
        writer.write_padding(fout, fout.tell())
        fout.flush()
    data_starts = [fout.tell() for fout in writer.fout]
    writer.close()
    for shard, start, size in zip(shards, data_starts, shard_data, strict=True):
        os.truncate(shard, start + size)
    return BuiltModel(shards[0], shards, spec, plans, header_only=True)


# --- presets -----------------------------------------------------------------------------------


def q4_k_m_rules(n_layer: int) -> tuple[tuple[str, str], ...]:
    """llama-quantize's Q4_K_M mix: Q6_K for attn_v/ffn_down in the "more bits" layers and the output.

    ``use_more_bits`` (src/llama-quant.cpp): the first and last eighth of the layers, and
    every third layer in between.
    """
    more = [i for i in range(n_layer)
            if i < n_layer // 8 or i >= 7 * n_layer // 8 or (i - n_layer // 8) % 3 == 2]
    layers = "|".join(str(i) for i in more)
    return (
        (rf"^blk\.({layers})\.(attn_v|ffn_down)(_exps)?\.weight$", "Q6_K"),
        (r"^output\.weight$", "Q6_K"),
    )


def _preset_specs() -> dict[str, ModelSpec]:
    llama8 = ModelSpec(
        arch="llama", name="Llama-3.1-8B-like Q4_K_M", n_layer=32, n_embd=4096, n_head=32, n_head_kv=8,
        n_ff=14336, n_vocab=128256, n_ctx_train=131072, rope_freq_base=500000.0, weight_type="Q4_K",
        type_rules=q4_k_m_rules(32), llama3_rope_freqs=True,
    )
    llama70 = llama8.with_changes(
        name="Llama-3.1-70B-like Q4_K_M", n_layer=80, n_embd=8192, n_head=64, n_ff=28672,
        type_rules=q4_k_m_rules(80),
    )
    qwen3moe = ModelSpec(
        arch="qwen3moe", name="Qwen3-30B-A3B-like Q4_K_M", n_layer=48, n_embd=2048, n_head=32, n_head_kv=4,
        head_dim=128, n_ff=6144, n_vocab=151936, n_ctx_train=40960, rope_freq_base=1000000.0,
        n_expert=128, n_expert_used=8, n_ff_exp=768, weight_type="Q4_K", type_rules=q4_k_m_rules(48),
    )
    gemma3 = ModelSpec(
        arch="gemma3", name="Gemma-3-27B-like Q4_K_M", n_layer=62, n_embd=5376, n_head=32, n_head_kv=16,
        head_dim=128, n_ff=21504, n_vocab=262208, n_ctx_train=131072, rope_freq_base=1000000.0,
        sliding_window=1024, swa_pattern=6, weight_type="Q4_K", embd_type="Q6_K", tied_embeddings=True,
        type_rules=q4_k_m_rules(62),
    )
    gpt_oss = ModelSpec(
        arch="gpt-oss", name="gpt-oss-120b-like MXFP4", n_layer=36, n_embd=2880, n_head=64, n_head_kv=8,
        head_dim=64, n_ff=2880, n_vocab=201088, n_ctx_train=131072, rope_freq_base=150000.0,
        n_expert=128, n_expert_used=4, n_ff_exp=2880, sliding_window=128, swa_pattern=2,
        weight_type="Q8_0", embd_type="Q8_0", output_type="Q8_0", type_rules=((r"_exps\.weight$", "MXFP4"),),
    )
    gpt_oss_20b = gpt_oss.with_changes(name="gpt-oss-20b-like MXFP4", n_layer=24, n_expert=32)
    deepseek_lite = ModelSpec(
        arch="deepseek2", name="DeepSeek-V2-Lite-like Q4_K_M", n_layer=27, n_embd=2048, n_head=16, n_head_kv=1,
        n_ff=10944, n_vocab=102400, n_ctx_train=163840, n_expert=64, n_expert_used=6, n_ff_exp=1408,
        n_expert_shared=2, n_layer_dense_lead=1, kv_lora_rank=512, q_lora_rank=0, rope_dim=64,
        head_dim_k_mla=192, head_dim_v_mla=128, weight_type="Q4_K", type_rules=q4_k_m_rules(27),
    )
    return {
        "llama-3.1-8b-q4_k_m": llama8,
        "llama-3.1-70b-q4_k_m": llama70,
        "qwen3-30b-a3b-q4_k_m": qwen3moe,
        "gemma-3-27b-q4_k_m": gemma3,
        "gpt-oss-120b-mxfp4": gpt_oss,
        "gpt-oss-20b-mxfp4": gpt_oss_20b,
        "deepseek-v2-lite-q4_k_m": deepseek_lite,
    }


#: Real-size models for ``make_header_only`` (name -> spec). Shapes follow the published configs.
PRESETS: dict[str, ModelSpec] = _preset_specs()


def make_header_only(path: str | os.PathLike, preset: str | ModelSpec, *, split_max_tensors: int = 0) -> BuiltModel:
    """A real-size model with a sparse data region: the header of ``preset``, the size of the real thing."""
    spec = PRESETS[preset] if isinstance(preset, str) else preset
    return make_sparse_model(path, spec, split_max_tensors=split_max_tensors)


# --- small models for tests --------------------------------------------------------------------

#: One small spec per architecture: each loads in llama.cpp in well under a second.
SMALL_SPECS: dict[str, ModelSpec] = {
    "llama": ModelSpec(arch="llama", name="tiny-llama", n_layer=3, n_embd=128, n_head=4, n_head_kv=2,
                       n_ff=256, n_vocab=384),
    "deci": ModelSpec(arch="deci", name="tiny-deci", n_layer=4, n_embd=128, n_head=4, n_head_kv=(2, 4, 0, 1),
                      n_ff=(256, 128, 256, 64), n_vocab=384),
    "gemma3": ModelSpec(arch="gemma3", name="tiny-gemma3", n_layer=6, n_embd=128, n_head=4, n_head_kv=2,
                        head_dim=64, n_ff=256, n_vocab=384, sliding_window=128, swa_pattern=3,
                        tied_embeddings=True),
    "qwen3moe": ModelSpec(arch="qwen3moe", name="tiny-qwen3moe", n_layer=2, n_embd=128, n_head=4, n_head_kv=2,
                          head_dim=32, n_ff=256, n_vocab=384, n_expert=8, n_expert_used=2, n_ff_exp=64),
    "gpt-oss": ModelSpec(arch="gpt-oss", name="tiny-gpt-oss", n_layer=4, n_embd=128, n_head=4, n_head_kv=2,
                         head_dim=32, n_ff=128, n_vocab=384, n_expert=4, n_expert_used=2, n_ff_exp=64,
                         sliding_window=64, swa_pattern=2),
    "deepseek2": ModelSpec(arch="deepseek2", name="tiny-deepseek2", n_layer=3, n_embd=128, n_head=4, n_head_kv=1,
                           n_ff=256, n_vocab=384, n_expert=4, n_expert_used=2, n_ff_exp=64, n_expert_shared=1,
                           n_layer_dense_lead=1, kv_lora_rank=64, q_lora_rank=0, rope_dim=32,
                           head_dim_k_mla=64, head_dim_v_mla=32),
    "mamba": ModelSpec(arch="mamba", name="tiny-mamba", n_layer=2, n_embd=64, n_head=0, n_head_kv=0, n_ff=0,
                       n_vocab=384, ssm_d_state=16),
}
