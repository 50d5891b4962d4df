"""Real GGUF headers for the fake Hub, written by ``gguf.GGUFWriter``; the weights stay virtual.

A header built here is what llama.cpp's converter and quantizer write for a model of that shape:
the model's key/values, the tokenizer key/values copied byte for byte from a real vocabulary file
(``../shared/vocab``: several MB, as in real models), and tensor infos with llama.cpp-like quant
mixes. Split models are split the way ``GGUFWriter``/``gguf-split`` do it (all key/values in the
first shard, ``split.*`` in every shard). The data region after the header is never stored: the
fake server answers zeros for it, so a "4 GB" shard costs only its header.
"""

from __future__ import annotations

import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

ALIGNMENT = 32  # GGUF_DEFAULT_ALIGNMENT

# GGUF value types (gguf.GGUFValueType) and their fixed sizes in bytes.
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TokenizerKV:
    """The ``tokenizer.*`` key/values of a real model, as the raw bytes they take in a GGUF header."""

    raw: bytes
    count: int  # number of key/values in ``raw``
    n_vocab: int
    source: str


def _skip_value(data: bytes, pos: int, vtype: int) -> int:
    if vtype == _STRING:
        (n,) = struct.unpack_from("<Q", data, pos)
        return pos + 8 + n
    if vtype == _ARRAY:
        etype, n = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if etype == _STRING:
            for _ in range(n):
                (length,) = struct.unpack_from("<Q", data, pos)
                pos += 8 + length
            return pos
        if etype == _ARRAY:
            for _ in range(n):
                pos = _skip_value(data, pos, _ARRAY)
            return pos
        return pos + n * _SCALAR_SIZES[etype]
    return pos + _SCALAR_SIZES[vtype]


def tokenizer_from_vocab_file(path: Path) -> TokenizerKV:
    """Slice the tokenizer key/values out of a vocab-only GGUF (llama.cpp's test vocab files)."""
    data = path.read_bytes()
    magic, _version, _n_tensors, n_kv = struct.unpack_from("<IIQQ", data, 0)
    if magic != 0x46554747:
        raise ValueError(f"{path} is not a GGUF file")
    pos = 24
    pieces: list[bytes] = []
    n_vocab = 0
    for _ in range(n_kv):
        start = pos
        (key_len,) = struct.unpack_from("<Q", data, pos)
        key = data[pos + 8 : pos + 8 + key_len].decode()
        pos += 8 + key_len
        (vtype,) = struct.unpack_from("<I", data, pos)
        pos = _skip_value(data, pos + 4, vtype)
        if key.startswith("tokenizer."):
            pieces.append(data[start:pos])
            if key == "tokenizer.ggml.tokens":
                (n_vocab,) = struct.unpack_from("<Q", data, start + 8 + key_len + 4 + 4)
    return TokenizerKV(b"".join(pieces), len(pieces), n_vocab, path.name)


def synthetic_tokenizer(n_vocab: int, model: str = "llama") -> TokenizerKV:
    """A made-up vocabulary of ``n_vocab`` tokens (for shapes with no real vocab file at hand)."""
    import gguf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.gguf"
        writer = gguf.GGUFWriter(path, "llama")
        writer.kv_data[0].clear()  # keep only the tokenizer keys
        writer.add_tokenizer_model(model)
        writer.add_token_list([f"<t{i}>" for i in range(n_vocab)])
        writer.add_token_types([1] * n_vocab)
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.close()
        data = path.read_bytes()
    (count,) = struct.unpack_from("<Q", data, 16)
    return TokenizerKV(data[24:], count, n_vocab, f"synthetic-{n_vocab}")


@dataclass(frozen=True)
class ModelShape:
    """A decoder's dimensions, as in its GGUF key/values (``{arch}.block_count`` and friends)."""

    arch: str
    name: str
    size_label: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    context_length: int
    head_dim: int = 0  # 0: n_embd // n_head
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    qkv_bias: bool = False  # Qwen2: biases on q/k/v
    qk_norm: bool = False  # Qwen3: RMS norm on q and k
    tied_embeddings: bool = False
    rope_freq_base: float = 1_000_000.0
    sliding_window: int = 0

    @property
    def n_embd_head(self) -> int:
        return self.head_dim or self.n_embd // self.n_head


@dataclass(frozen=True)
class QuantRecipe:
    """How a quantizer types the weights: a base type, with llama.cpp's "more bits" exceptions."""

    ftype: int  # general.file_type (llama_ftype)
    base: str  # 2-D weights
    more_bits: str | None = None  # attn_v / ffn_down on llama.cpp's use_more_bits layers
    output: str | None = None  # output.weight
    embd: str | None = None  # token_embd.weight


RECIPES: dict[str, QuantRecipe] = {
    "F32": QuantRecipe(0, "F32"),
    "F16": QuantRecipe(1, "F16"),
    "BF16": QuantRecipe(32, "BF16"),
    "Q8_0": QuantRecipe(7, "Q8_0"),
    "Q6_K": QuantRecipe(18, "Q6_K"),
    "Q6_K_L": QuantRecipe(18, "Q6_K", output="Q8_0", embd="Q8_0"),
    "Q5_K_M": QuantRecipe(17, "Q5_K", more_bits="Q6_K", output="Q6_K"),
    "Q4_K_M": QuantRecipe(15, "Q4_K", more_bits="Q6_K", output="Q6_K"),
    "Q4_K_L": QuantRecipe(15, "Q4_K", more_bits="Q6_K", output="Q8_0", embd="Q8_0"),
    "Q4_K_S": QuantRecipe(14, "Q4_K", output="Q6_K"),
    "Q4_0": QuantRecipe(2, "Q4_0", output="Q6_K"),
    "IQ4_XS": QuantRecipe(30, "IQ4_XS", output="Q6_K"),
    "Q3_K_M": QuantRecipe(12, "Q3_K", more_bits="Q5_K", output="Q6_K"),
    "Q2_K": QuantRecipe(10, "Q2_K", more_bits="Q4_K", output="Q6_K"),
    "IQ2_XXS": QuantRecipe(19, "IQ2_XXS", more_bits="Q2_K", output="Q5_K"),
    "IQ1_S": QuantRecipe(24, "IQ1_S", more_bits="IQ2_XXS", output="Q5_K"),
    "UD-Q4_K_XL": QuantRecipe(15, "Q4_K", more_bits="Q6_K", output="Q6_K", embd="Q6_K"),
    "UD-IQ1_S": QuantRecipe(24, "IQ1_S", more_bits="IQ3_XXS", output="Q6_K", embd="Q4_K"),
    "UD-Q8_K_XL": QuantRecipe(7, "Q8_0", output="BF16", embd="BF16"),
}


def _use_more_bits(i_layer: int, n_layer: int) -> bool:
    """llama.cpp's ``use_more_bits`` (src/llama-quant.cpp): first and last eighth, then every third layer."""
    return i_layer < n_layer // 8 or i_layer >= 7 * n_layer // 8 or (i_layer - n_layer // 8) % 3 == 2


def model_tensors(shape: ModelShape, recipe: QuantRecipe, n_vocab: int) -> list[tuple[str, tuple[int, ...], str]]:
    """The tensors of a llama-family decoder: ``(name, ggml shape (ne0 first), ggml type name)``."""
    hd = shape.n_embd_head
    q_dim, kv_dim = shape.n_head * hd, shape.n_head_kv * hd
    out: list[tuple[str, tuple[int, ...], str]] = [("token_embd.weight", (shape.n_embd, n_vocab), recipe.embd or recipe.base)]
    for i in range(shape.n_layer):
        more = recipe.more_bits if recipe.more_bits and _use_more_bits(i, shape.n_layer) else recipe.base
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", (shape.n_embd,), "F32"),
            (p + "attn_q.weight", (shape.n_embd, q_dim), recipe.base),
            (p + "attn_k.weight", (shape.n_embd, kv_dim), recipe.base),
            (p + "attn_v.weight", (shape.n_embd, kv_dim), more),
            (p + "attn_output.weight", (q_dim, shape.n_embd), recipe.base),
        ]
        if shape.qkv_bias:
            out += [(p + "attn_q.bias", (q_dim,), "F32"), (p + "attn_k.bias", (kv_dim,), "F32"),
                    (p + "attn_v.bias", (kv_dim,), "F32")]
        if shape.qk_norm:
            out += [(p + "attn_q_norm.weight", (hd,), "F32"), (p + "attn_k_norm.weight", (hd,), "F32")]
        out.append((p + "ffn_norm.weight", (shape.n_embd,), "F32"))
        if shape.n_expert:
            out += [
                (p + "ffn_gate_inp.weight", (shape.n_embd, shape.n_expert), "F32"),
                (p + "ffn_gate_exps.weight", (shape.n_embd, shape.n_ff_exp, shape.n_expert), recipe.base),
                (p + "ffn_up_exps.weight", (shape.n_embd, shape.n_ff_exp, shape.n_expert), recipe.base),
                (p + "ffn_down_exps.weight", (shape.n_ff_exp, shape.n_embd, shape.n_expert), more),
            ]
        else:
            out += [
                (p + "ffn_gate.weight", (shape.n_embd, shape.n_ff), recipe.base),
                (p + "ffn_up.weight", (shape.n_embd, shape.n_ff), recipe.base),
                (p + "ffn_down.weight", (shape.n_ff, shape.n_embd), more),
            ]
    out.append(("output_norm.weight", (shape.n_embd,), "F32"))
    if not shape.tied_embeddings:
        out.append(("output.weight", (shape.n_embd, n_vocab), recipe.output or recipe.base))
    return out


def _model_kv(shape: ModelShape, recipe: QuantRecipe) -> list[tuple[str, object, int]]:
    a = shape.arch
    kv: list[tuple[str, object, int]] = [
        ("general.type", "model", _STRING),
        ("general.name", shape.name, _STRING),
        ("general.size_label", shape.size_label, _STRING),
        (f"{a}.block_count", shape.n_layer, 4),
        (f"{a}.context_length", shape.context_length, 4),
        (f"{a}.embedding_length", shape.n_embd, 4),
        (f"{a}.feed_forward_length", shape.n_ff, 4),
        (f"{a}.attention.head_count", shape.n_head, 4),
        (f"{a}.attention.head_count_kv", shape.n_head_kv, 4),
        (f"{a}.rope.freq_base", shape.rope_freq_base, 6),
        (f"{a}.attention.layer_norm_rms_epsilon", 1e-6, 6),
    ]
    if shape.head_dim:
        kv += [(f"{a}.attention.key_length", shape.head_dim, 4), (f"{a}.attention.value_length", shape.head_dim, 4)]
    if shape.n_expert:
        kv += [(f"{a}.expert_count", shape.n_expert, 4), (f"{a}.expert_used_count", shape.n_expert_used, 4),
               (f"{a}.expert_feed_forward_length", shape.n_ff_exp, 4)]
    if shape.sliding_window:
        kv.append((f"{a}.attention.sliding_window", shape.sliding_window, 4))
    kv += [("general.quantization_version", 2, 4), ("general.file_type", recipe.ftype, 4)]
    return kv


@dataclass(frozen=True)
class GgufImage:
    """One GGUF file as served: real header bytes, then ``size - len(header)`` bytes of zeros."""

    header: bytes
    size: int
    n_params: int = 0

    @property
    def data_bytes(self) -> int:
        return self.size - len(self.header)


def _pad(n: int, align: int = ALIGNMENT) -> int:
    return (n + align - 1) // align * align


def tensor_nbytes(type_name: str, shape: tuple[int, ...]) -> int:
    import gguf

    qtype = gguf.GGMLQuantizationType[type_name]
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n = 1
    for d in shape:
        n *= d
    if shape[0] % block:
        raise ValueError(f"row of {shape[0]} elements is not a whole number of {type_name} blocks")
    return n // block * type_size


def write_gguf_headers(arch: str, kv: list[tuple[str, object, int]], tensors: list[tuple[str, tuple[int, ...], str]],
                       tokenizer: TokenizerKV | None = None, split_max_size: int = 0) -> list[GgufImage]:
    """Write the header(s) with GGUFWriter (split like gguf-split when ``split_max_size`` bytes is set).

    The tokenizer's raw key/values are spliced into the first shard's key/value section, where
    the converter puts them; the key/value count in the preamble is raised to match.
    """
    import gguf

    with tempfile.TemporaryDirectory() as tmp:
        writer = gguf.GGUFWriter(Path(tmp) / "model.gguf", arch, split_max_size=split_max_size)
        for key, value, vtype in kv:
            writer.add_key_value(key, value, gguf.GGUFValueType(vtype))
        n_params = 0
        for name, ggml_shape, type_name in tensors:
            n_params += _prod(ggml_shape)
            writer.add_tensor_info(name, tuple(reversed(ggml_shape)), _np_float32(), tensor_nbytes(type_name, ggml_shape),
                                   raw_dtype=gguf.GGMLQuantizationType[type_name])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        kv_ends = [f.tell() for f in writer.fout]
        writer.write_ti_data_to_file()
        paths = writer.format_shard_names(writer.path)
        shard_tensors = writer.tensors
        writer.close()
        images = []
        for index, (path, kv_end) in enumerate(zip(paths, kv_ends, strict=True)):
            data = path.read_bytes()
            preamble, kv_bytes, ti_bytes = bytearray(data[:24]), data[24:kv_end], data[kv_end:]
            if index == 0 and tokenizer is not None:
                n_kv = struct.unpack_from("<Q", preamble, 16)[0] + tokenizer.count
                struct.pack_into("<Q", preamble, 16, n_kv)
                kv_bytes += tokenizer.raw
            header = bytes(preamble) + kv_bytes + ti_bytes
            header += b"\0" * (_pad(len(header)) - len(header))
            data_size = sum(_pad(ti.nbytes) for ti in shard_tensors[index].values())
            images.append(GgufImage(header, len(header) + data_size, n_params))
    return images


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _np_float32():
    import numpy as np

    return np.float32


def build_model_gguf(shape: ModelShape, label: str, tokenizer: TokenizerKV, split_max_size: int = 0,
                     extra_kv: list[tuple[str, object, int]] | None = None,
                     recipe: QuantRecipe | None = None) -> list[GgufImage]:
    """A quantized model's GGUF file(s): header per ``recipe`` (default ``RECIPES[label]``), weights virtual."""
    recipe = recipe or RECIPES[label]
    tensors = model_tensors(shape, recipe, tokenizer.n_vocab)
    return write_gguf_headers(shape.arch, _model_kv(shape, recipe) + list(extra_kv or []), tensors, tokenizer,
                              split_max_size=split_max_size)


@dataclass(frozen=True)
class VisionShape:
    """A CLIP-style vision encoder as llama.cpp's mmproj files hold it."""

    projector_type: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    image_size: int = 448
    patch_size: int = 14
    projection_dim: int = 3584


def build_mmproj_gguf(vision: VisionShape, type_name: str) -> GgufImage:
    """An ``mmproj-*.gguf`` side file: the vision tower and projector (arch ``clip``)."""
    ftype = {"F32": 0, "F16": 1, "BF16": 32}[type_name]
    kv: list[tuple[str, object, int]] = [
        ("general.type", "mmproj", _STRING),
        ("general.file_type", ftype, 4),
        ("clip.has_vision_encoder", True, 7),
        ("clip.projector_type", vision.projector_type, _STRING),
        ("clip.vision.block_count", vision.n_layer, 4),
        ("clip.vision.embedding_length", vision.n_embd, 4),
        ("clip.vision.feed_forward_length", vision.n_ff, 4),
        ("clip.vision.attention.head_count", vision.n_head, 4),
        ("clip.vision.image_size", vision.image_size, 4),
        ("clip.vision.patch_size", vision.patch_size, 4),
        ("clip.vision.projection_dim", vision.projection_dim, 4),
    ]
    e, f = vision.n_embd, vision.n_ff
    tensors: list[tuple[str, tuple[int, ...], str]] = [
        ("v.patch_embd.weight", (vision.patch_size, vision.patch_size, 3, e), type_name if type_name != "BF16" else "F16"),
    ]
    for i in range(vision.n_layer):
        p = f"v.blk.{i}."
        tensors += [
            (p + "ln1.weight", (e,), "F32"),
            (p + "attn_q.weight", (e, e), type_name), (p + "attn_k.weight", (e, e), type_name),
            (p + "attn_v.weight", (e, e), type_name), (p + "attn_out.weight", (e, e), type_name),
            (p + "ln2.weight", (e,), "F32"),
            (p + "ffn_up.weight", (e, f), type_name), (p + "ffn_gate.weight", (e, f), type_name),
            (p + "ffn_down.weight", (f, e), type_name),
        ]
    tensors += [("mm.0.weight", (e * 4, e * 4), type_name), ("mm.2.weight", (e * 4, vision.projection_dim), type_name)]
    return write_gguf_headers("clip", kv, tensors)[0]
