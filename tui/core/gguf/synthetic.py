"""Write a llama-architecture GGUF of a chosen size whose weights are a sparse hole (all zeros).

The speed probe (``localai-tui gpus --calibrate``) needs models of known size to time on this
machine: llama.cpp multiplies zeros at full cost, so a sparse file decodes exactly as fast as a
real model of the same shape, costs no disk, and is written in milliseconds. The header follows
what llama.cpp's loader requires for ``llama`` (src/models/llama.cpp's tensor list), with a
synthetic SentencePiece vocabulary (specials, the 256 byte tokens, then word pieces).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

#: general.file_type (llama_ftype) for the weight types the probe writes.
_FILE_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K": 15, "Q5_K": 17, "Q6_K": 18}


@dataclass(frozen=True)
class SyntheticShape:
    """A llama model's shape. ``weight_type`` is the ggml type of every matrix (norms stay F32)."""

    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int = 8
    n_head_kv: int = 8
    n_vocab: int = 512
    n_ctx_train: int = 4096
    weight_type: str = "Q4_K"

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def _tensors(shape: SyntheticShape) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, ggml-order shape, type) of every tensor llama.cpp's llama loader asks for."""
    w, e, kv = shape.weight_type, shape.n_embd, shape.n_head_kv * shape.head_dim
    out = [("token_embd.weight", (e, shape.n_vocab), w), ("output_norm.weight", (e,), "F32"),
           ("output.weight", (e, shape.n_vocab), w)]
    for i in range(shape.n_layer):
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", (e,), "F32"),
            (p + "attn_q.weight", (e, e), w), (p + "attn_k.weight", (e, kv), w), (p + "attn_v.weight", (e, kv), w),
            (p + "attn_output.weight", (e, e), w),
            (p + "ffn_norm.weight", (e,), "F32"),
            (p + "ffn_gate.weight", (e, shape.n_ff), w), (p + "ffn_down.weight", (shape.n_ff, e), w),
            (p + "ffn_up.weight", (e, shape.n_ff), w),
        ]
    return out


def _nbytes(dims: tuple[int, ...], type_name: str) -> int:
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[type_name]]
    n = 1
    for d in dims:
        n *= d
    return n // block * size


def _write_vocab(writer: GGUFWriter, n_vocab: int) -> None:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(n_vocab - len(tokens))]
    writer.add_string("tokenizer.ggml.model", "llama")
    writer.add_array("tokenizer.ggml.tokens", tokens)
    writer.add_array("tokenizer.ggml.scores", [0.0] * 259 + [-float(k) for k in range(n_vocab - 259)])
    writer.add_array("tokenizer.ggml.token_type", [2, 3, 3] + [6] * 256 + [1] * (n_vocab - 259))
    writer.add_uint32("tokenizer.ggml.unknown_token_id", 0)
    writer.add_uint32("tokenizer.ggml.bos_token_id", 1)
    writer.add_uint32("tokenizer.ggml.eos_token_id", 2)
    writer.add_bool("tokenizer.ggml.add_bos_token", True)


def write_sparse_llama(path: str | os.PathLike[str], shape: SyntheticShape) -> int:
    """Write ``shape`` to ``path`` (data region a sparse hole); return the tensor bytes."""
    if shape.n_vocab < 260 or shape.n_embd % shape.n_head or shape.n_layer < 1:
        raise ValueError("a synthetic llama needs >= 260 tokens, n_embd divisible by n_head, >= 1 layer")
    path = Path(path)
    writer = GGUFWriter(path, "llama")
    a = "llama"
    writer.add_name(f"speed-probe-{shape.n_layer}x{shape.n_embd}")
    writer.add_uint32(f"{a}.context_length", shape.n_ctx_train)
    writer.add_uint32(f"{a}.embedding_length", shape.n_embd)
    writer.add_uint32(f"{a}.block_count", shape.n_layer)
    writer.add_uint32(f"{a}.feed_forward_length", shape.n_ff)
    writer.add_uint32(f"{a}.attention.head_count", shape.n_head)
    writer.add_uint32(f"{a}.attention.head_count_kv", shape.n_head_kv)
    writer.add_float32(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)
    writer.add_float32(f"{a}.rope.freq_base", 10000.0)
    writer.add_uint32(f"{a}.rope.dimension_count", shape.head_dim)
    writer.add_uint32(f"{a}.vocab_size", shape.n_vocab)
    writer.add_file_type(_FILE_TYPES.get(shape.weight_type, 1))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _write_vocab(writer, shape.n_vocab)
    total = 0
    data = 0
    for name, dims, type_name in _tensors(shape):
        size = _nbytes(dims, type_name)
        total += size
        data += GGUFWriter.ggml_pad(size, writer.data_alignment)
        writer.add_tensor_info(name, tuple(reversed(dims)), np.dtype(np.float32), size,
                               raw_dtype=GGMLQuantizationType[type_name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    assert writer.fout is not None
    fout = writer.fout[0]
    writer.write_padding(fout, fout.tell())
    fout.flush()
    start = fout.tell()
    writer.close()
    os.truncate(path, start + data)
    return total
