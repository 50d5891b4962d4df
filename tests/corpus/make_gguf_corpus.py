"""Craft GGUF bytes by hand (valid or deliberately broken) and write the malformed-file corpus.

``gguf.GGUFWriter`` refuses to write broken files, so the corpus and the fuzz seeds are built
here, byte by byte, following the GGUF v3 layout (gguf.h / ggml/src/gguf.cpp):

    magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
    n_kv x (string key | u32 type | value)          string = u64 length + UTF-8 bytes
    n_tensors x (string name | u32 n_dims | n_dims x i64 | u32 ggml type | u64 offset)
    padding to the alignment | tensor data (each tensor padded to the alignment)

Run ``python -m tests.corpus.make_gguf_corpus`` to rewrite tests/corpus/gguf/ (the test
checks the committed files match ``CASES``). Each case names the ``GGUFError`` message
fragment the reader must give.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

CORPUS_DIR = Path(__file__).resolve().parent / "gguf"

# GGUF value types (gguf.h enum gguf_type)
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_FORMATS = {UINT8: "B", INT8: "b", UINT16: "H", INT16: "h", UINT32: "I", INT32: "i", FLOAT32: "f",
            BOOL: "?", UINT64: "Q", INT64: "q", FLOAT64: "d"}  # fmt: skip
F32, F16, Q4_0 = 0, 1, 2  # ggml types
TYPE_SIZES = {F32: (1, 4), F16: (1, 2), Q4_0: (32, 18)}  # block size, bytes per block


def gguf_string(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def gguf_value(vtype: int, value: Any) -> bytes:
    """The bytes of a value (without its type tag); arrays are ``(element_type, [values])``."""
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(gguf_value(etype, v) for v in items)
    return struct.pack("<" + _FORMATS[vtype], value)


def gguf_kv(key: str, vtype: int, value: Any) -> bytes:
    return gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]  # ggml order
    ggml_type: int = F32
    offset: int | None = None  # None: placed after the previous one, as writers do

    @property
    def n_bytes(self) -> int:
        block, size = TYPE_SIZES[self.ggml_type]
        n = 1
        for d in self.shape:
            n *= d
        return n // block * size


def tensor_info(t: Tensor, offset: int) -> bytes:
    return (
        gguf_string(t.name)
        + struct.pack("<I", len(t.shape))
        + b"".join(struct.pack("<q", d) for d in t.shape)
        + struct.pack("<IQ", t.ggml_type, offset)
    )


def pad(n: int, alignment: int = 32) -> int:
    return (n + alignment - 1) // alignment * alignment


def build_gguf(
    kvs: list[bytes] | None = None,
    tensors: list[Tensor] | None = None,
    *,
    version: int = 3,
    alignment: int = 32,
    with_data: bool = True,
    n_kv: int | None = None,
    n_tensors: int | None = None,
) -> bytes:
    """A GGUF file: ``kvs`` are ``gguf_kv(...)`` byte strings; tensor data is zeros."""
    kvs = kvs if kvs is not None else [gguf_kv("general.architecture", STRING, "llama")]
    tensors = tensors or []
    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                       len(kvs) if n_kv is None else n_kv)  # fmt: skip
    for kv in kvs:
        out += kv
    offset = 0
    for t in tensors:
        out += tensor_info(t, offset if t.offset is None else t.offset)
        offset += pad(t.n_bytes, alignment)
    if with_data and tensors:
        out += bytes(pad(len(out), alignment) - len(out))
        for t in tensors:
            out += bytes(pad(t.n_bytes, alignment))
    return bytes(out)


def small_model() -> bytes:
    """A valid little model header: every value type, a nested array, three tensors (one Q4_0)."""
    kvs = [
        gguf_kv("general.architecture", STRING, "llama"),
        gguf_kv("general.name", STRING, "fuzz seed"),
        gguf_kv("llama.block_count", UINT32, 2),
        gguf_kv("llama.embedding_length", UINT32, 64),
        gguf_kv("llama.attention.head_count", UINT32, 4),
        gguf_kv("llama.attention.head_count_kv", ARRAY, (INT32, [4, 2])),
        gguf_kv("test.u8", UINT8, 200),
        gguf_kv("test.i8", INT8, -100),
        gguf_kv("test.u16", UINT16, 60000),
        gguf_kv("test.i16", INT16, -30000),
        gguf_kv("test.i64", INT64, -(2**40)),
        gguf_kv("test.u64", UINT64, 2**40),
        gguf_kv("test.f32", FLOAT32, 0.5),
        gguf_kv("test.f64", FLOAT64, 0.25),
        gguf_kv("test.bool", BOOL, True),
        gguf_kv("test.strings", ARRAY, (STRING, ["a", "bc", ""])),
        gguf_kv("test.nested", ARRAY, (ARRAY, [(UINT8, [1, 2]), (UINT8, [3])])),
        gguf_kv("general.alignment", UINT32, 32),
    ]
    tensors = [
        Tensor("token_embd.weight", (64, 16), F16),
        Tensor("blk.0.attn_q.weight", (64, 64), Q4_0),
        Tensor("output_norm.weight", (64,), F32),
    ]
    return build_gguf(kvs, tensors)


def _arch() -> bytes:
    return gguf_kv("general.architecture", STRING, "llama")


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, old
    return data.replace(old, new)


def _cut_at(marker: bytes, extra: int) -> Callable[[], bytes]:
    def make() -> bytes:
        data = small_model()
        return data[: data.index(marker) + extra]

    return make


#: name -> (maker, fragment of the GGUFError message)
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "too short"),
    "bad_magic": (lambda: b"GGML" + small_model()[4:], "not a GGUF file"),
    "version_1": (lambda: build_gguf(version=1), "version 1"),
    "version_99": (lambda: build_gguf(version=99), "unsupported GGUF version 99"),
    "big_endian": (lambda: b"GGUF" + struct.pack(">I", 3) + small_model()[8:], "big-endian"),
    "truncated_counts": (lambda: small_model()[:12], "truncated"),
    "truncated_in_key": (lambda: build_gguf()[:24 + 8 + 5], "key 0 claims 20 bytes"),
    "truncated_in_string_value": (lambda: build_gguf()[:-2], "claims 5 bytes, more than the 3 bytes left"),
    "truncated_in_array": (_cut_at(b"test.strings", 20), "truncated"),
    "truncated_in_nested_array": (_cut_at(b"test.nested", 30), "claims 2 elements"),
    "truncated_in_tensor_info": (_cut_at(b"blk.0.attn_q.weight", 22), "truncated"),
    "truncated_tensor_data": (lambda: small_model()[:-100], "past the end of the file"),
    "huge_kv_count": (lambda: build_gguf(n_kv=2**62), "key/values"),
    "huge_tensor_count": (lambda: build_gguf(n_tensors=2**40), "tensors"),
    "huge_key_length": (lambda: build_gguf([struct.pack("<Q", 2**63) + b"k"]), "claims"),
    "huge_string_length": (
        lambda: build_gguf([_arch(), gguf_string("s") + struct.pack("<IQ", STRING, 2**64 - 1)]),
        "claims",
    ),
    "huge_array_length": (
        lambda: build_gguf([_arch(), gguf_string("a") + struct.pack("<IIQ", ARRAY, UINT64, 2**61)]),
        "claims",
    ),
    "huge_string_array": (
        lambda: build_gguf([_arch(), gguf_string("a") + struct.pack("<IIQ", ARRAY, STRING, 2**40)]),
        "claims",
    ),
    "unknown_value_type": (lambda: build_gguf([_arch(), gguf_string("x") + struct.pack("<I", 13) + b"\0" * 8]),
                           "unknown value type 13"),  # fmt: skip
    "unknown_array_type": (
        lambda: build_gguf([_arch(), gguf_string("x") + struct.pack("<IIQ", ARRAY, 99, 1) + b"\0" * 8]),
        "unknown value type 99",
    ),
    "nested_too_deep": (
        lambda: build_gguf([_arch(), gguf_string("deep") + struct.pack("<I", ARRAY)
                            + struct.pack("<IQ", ARRAY, 1) * 9 + struct.pack("<IQ", UINT8, 0)]),  # fmt: skip
        "nests arrays deeper",
    ),
    "empty_key": (lambda: build_gguf([gguf_kv("", UINT8, 1)]), "is empty"),
    "duplicate_key": (lambda: build_gguf([_arch(), _arch()]), "duplicate key"),
    "alignment_not_u32": (lambda: build_gguf([_arch(), gguf_kv("general.alignment", UINT64, 32)]), "must be uint32"),
    "alignment_not_power_of_2": (
        lambda: build_gguf([_arch(), gguf_kv("general.alignment", UINT32, 48)]),
        "not a power of 2",
    ),
    "alignment_zero": (lambda: build_gguf([_arch(), gguf_kv("general.alignment", UINT32, 0)]), "not a power of 2"),
    "unknown_ggml_type": (
        lambda: _replace(build_gguf(tensors=[Tensor("t", (32,), Q4_0)]), struct.pack("<IQ", Q4_0, 0),
                         struct.pack("<IQ", 4, 0)),  # fmt: skip
        "unknown ggml type 4",
    ),
    "five_dims": (lambda: build_gguf(tensors=[Tensor("t", (1, 1, 1, 1, 1))]), "5 dimensions"),
    "zero_dim": (lambda: build_gguf(tensors=[Tensor("t", (4, 0))]), "dimension <= 0"),
    "negative_dim": (lambda: build_gguf(tensors=[Tensor("t", (4, -2))], with_data=False), "dimension <= 0"),
    "row_not_multiple_of_block": (
        lambda: build_gguf(tensors=[Tensor("t", (32, 2), Q4_0)], with_data=False).replace(
            struct.pack("<q", 32), struct.pack("<q", 33), 1
        ),
        "not a multiple of the block size",
    ),
    "scalar_quantized": (lambda: build_gguf(tensors=[Tensor("t", (), Q4_0)]), "has 1 elements per row"),
    "element_count_overflow": (
        lambda: build_gguf(tensors=[Tensor("t", (2**62, 2**62))], with_data=False),
        "too many elements",
    ),
    "duplicate_tensor": (lambda: build_gguf(tensors=[Tensor("t", (8,)), Tensor("t", (8,))]), "duplicate tensor"),
    "tensor_name_too_long": (lambda: build_gguf(tensors=[Tensor("x" * 64, (8,))]), "longer than 63 bytes"),
    "misplaced_tensor": (
        lambda: build_gguf(tensors=[Tensor("a", (8,)), Tensor("b", (8,), offset=64)]),
        "llama.cpp expects 32",
    ),
    "overflowing_offset": (
        lambda: build_gguf(tensors=[Tensor("a", (8,), offset=2**64 - 32)]),
        "llama.cpp expects 0",
    ),
    "tensor_beyond_file": (
        lambda: build_gguf(tensors=[Tensor("a", (1024, 1024))], with_data=False),
        "past the end of the file",
    ),
}


def write_corpus(directory: Path = CORPUS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (make, _) in CASES.items():
        path = directory / f"{name}.gguf"
        path.write_bytes(make())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_corpus():
        print(f"{path.stat().st_size:8d}  {path}")
