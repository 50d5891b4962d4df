"""The GGUF header reader: same answers as the gguf package, header bytes only, clear errors."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from tests.corpus.make_gguf_corpus import (
    ARRAY,
    FLOAT32,
    STRING,
    UINT32,
    Tensor,
    build_gguf,
    gguf_kv,
    pad,
    small_model,
    tensor_info,
)
from tui.core.errors import LocalAIError
from tui.core.gguf.reader import (
    DEFAULT_FIRST_CHUNK,
    DEFAULT_MAX_CHUNK,
    ArraySummary,
    BytesSource,
    FileSource,
    GGUFError,
    GGUFValueType,
    read_header,
)


class CountingSource:
    """Wraps bytes; records every read (offset, length) like an HTTP range client would."""

    def __init__(self, data: bytes, *, size_known: bool = True, virtual_size: int | None = None) -> None:
        self.data = data
        self.name = "counting"
        self._size = virtual_size if virtual_size is not None else len(data)
        self.size_known = size_known
        self.reads: list[tuple[int, int]] = []

    @property
    def size(self) -> int | None:
        return self._size if self.size_known else None

    def read(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        end = min(offset + length, self._size)
        if offset >= end:
            return b""
        real = self.data[offset:end]
        return real + bytes(end - offset - len(real))  # beyond the real bytes: a sparse hole of zeros


class ShortReadSource(CountingSource):
    """Claims the full size but never returns more than ``limit`` bytes in total (a dropped connection)."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self.limit = limit

    def read(self, offset: int, length: int) -> bytes:
        return super().read(offset, max(0, min(length, self.limit - offset)))


# -- values and layout ----------------------------------------------------------------------------


def test_reads_every_value_type_and_tensor_layout():
    header = read_header(BytesSource(small_model(), "seed.gguf"))
    meta = header.metadata
    assert header.version == 3
    assert header.name == "seed.gguf"
    assert meta["general.name"] == "fuzz seed"
    assert meta["llama.attention.head_count_kv"] == [4, 2]
    assert (meta["test.u8"], meta["test.i8"], meta["test.u16"], meta["test.i16"]) == (200, -100, 60000, -30000)
    assert (meta["test.i64"], meta["test.u64"]) == (-(2**40), 2**40)
    assert (meta["test.f32"], meta["test.f64"], meta["test.bool"]) == (0.5, 0.25, True)
    assert meta["test.strings"] == ["a", "bc", ""]
    assert meta["test.nested"] == [[1, 2], [3]]
    assert [(t.name, t.shape, t.type_name, t.offset) for t in header.tensors] == [
        ("token_embd.weight", (64, 16), "F16", 0),
        ("blk.0.attn_q.weight", (64, 64), "Q4_0", 2048),
        ("output_norm.weight", (64,), "F32", 4352),
    ]
    assert header.alignment == 32
    assert header.data_offset == header.header_size == 832
    assert header.file_size == len(small_model())
    assert header.tensor_data_size == 2048 + 2304 + 256
    assert header.architecture == "llama"


def test_gguf_version_2_reads_like_version_3():
    v2 = read_header(BytesSource(build_gguf(version=2, tensors=[Tensor("a", (8,))])))
    v3 = read_header(BytesSource(build_gguf(version=3, tensors=[Tensor("a", (8,))])))
    assert v2.version == 2
    assert (v2.metadata, v2.tensors, v2.data_offset) == (v3.metadata, v3.tensors, v3.data_offset)


def test_custom_alignment_pads_the_data_offset():
    kvs = [gguf_kv("general.architecture", STRING, "llama"), gguf_kv("general.alignment", UINT32, 256)]
    data = build_gguf(kvs, [Tensor("a", (8,)), Tensor("b", (8,), offset=256)], alignment=256)
    header = read_header(BytesSource(data))
    assert header.alignment == 256
    assert header.data_offset % 256 == 0 and header.data_offset > 0
    assert [t.offset for t in header.tensors] == [0, 256]


def test_long_arrays_become_summaries_and_parsing_continues():
    full = read_header(BytesSource(small_model()))
    short = read_header(BytesSource(small_model()), max_array_items=2)
    assert short.metadata["test.strings"] == ArraySummary(GGUFValueType.STRING, 3)
    assert len(short.metadata["test.strings"]) == 3
    assert short.metadata["llama.attention.head_count_kv"] == [4, 2]
    assert short.tensors == full.tensors and short.data_offset == full.data_offset
    everything = read_header(BytesSource(small_model()), max_array_items=None)
    assert everything.metadata == full.metadata


def test_scalar_tensor_without_dimensions():
    (tensor,) = read_header(BytesSource(build_gguf(tensors=[Tensor("scale", ())]))).tensors
    assert (tensor.shape, tensor.n_elements, tensor.n_bytes) == ((), 1, 4)


def test_invalid_utf8_is_replaced_not_raised():
    data = build_gguf([gguf_kv("general.architecture", STRING, b"ll\xffma")])
    assert read_header(BytesSource(data)).metadata["general.architecture"] == "ll\ufffdma"


# -- agreement with the gguf package ----------------------------------------------------------------


def _gguf_py_view(path: Path) -> tuple[dict, list, int, int]:
    import gguf

    reader = gguf.GGUFReader(path)
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    tensors = [(t.name, tuple(int(d) for d in t.shape), int(t.tensor_type), t.data_offset, t.n_bytes) for t in reader.tensors]
    return fields, tensors, reader.data_offset, reader.alignment


def _assert_same_as_gguf_py(path: Path) -> None:
    header = read_header(FileSource(path), max_array_items=None)
    fields, tensors, data_offset, alignment = _gguf_py_view(path)
    assert header.metadata.keys() == fields.keys()
    for key, value in fields.items():
        ours = header.metadata[key]
        if isinstance(value, float):
            assert ours == value or (math.isnan(ours) and math.isnan(value)), key
        else:
            assert ours == value, key
    assert [(t.name, t.shape, t.ggml_type, header.data_offset + t.offset, t.n_bytes) for t in header.tensors] == tensors
    assert (header.data_offset, header.alignment) == (data_offset, alignment)


@pytest.mark.parametrize("fixture", ["stories_model", "vocab_qwen2", "vocab_llama_bpe"])
def test_same_as_gguf_package_on_shared_files(fixture, request):
    _assert_same_as_gguf_py(request.getfixturevalue(fixture))


def test_same_as_gguf_package_on_a_writer_file(tmp_path):
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFWriter

    path = tmp_path / "typed.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_custom_alignment(64)
    writer.add_name("every type")
    writer.add_uint8("t.u8", 7)
    writer.add_int8("t.i8", -7)
    writer.add_uint16("t.u16", 65535)
    writer.add_int16("t.i16", -32768)
    writer.add_uint32("t.u32", 2**32 - 1)
    writer.add_int32("t.i32", -(2**31))
    writer.add_uint64("t.u64", 2**64 - 1)
    writer.add_int64("t.i64", -(2**63))
    writer.add_float32("t.f32", 1.5)
    writer.add_float64("t.f64", -2.25)
    writer.add_bool("t.bool", False)
    writer.add_string("t.str", "héllo ✓")
    writer.add_array("t.ints", [1, -2, 3])
    writer.add_array("t.floats", [0.5, 1.25])
    writer.add_array("t.bools", [True, False, True])
    writer.add_array("t.strs", ["x", "yz"])
    writer.add_tensor("f32", np.ones((3, 64), dtype=np.float32))
    writer.add_tensor("f16", np.ones((2, 32), dtype=np.float16))
    q8 = np.zeros((4, 2 * 34), dtype=np.uint8)  # 4 rows of 64 Q8_0 weights
    writer.add_tensor("q8", q8, raw_dtype=GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    _assert_same_as_gguf_py(path)
    header = read_header(FileSource(path))
    assert header.alignment == 64
    assert [(t.name, t.shape, t.type_name) for t in header.tensors] == [
        ("f32", (64, 3), "F32"),
        ("f16", (32, 2), "F16"),
        ("q8", (64, 4), "Q8_0"),
    ]


def test_nested_arrays_written_by_gguf_writer(tmp_path):
    from gguf import GGUFWriter

    path = tmp_path / "nested.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_array("t.nested", [[1, 2, 3], [4], [5, 6]])
    writer.add_array("t.nested_strings", [["a"], ["b", "c"]])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    meta = read_header(FileSource(path)).metadata
    assert meta["t.nested"] == [[1, 2, 3], [4], [5, 6]]
    assert meta["t.nested_strings"] == [["a"], ["b", "c"]]


# -- economy: header bytes only, few reads ----------------------------------------------------------


def _model_behind_vocab(vocab: Path, n_tensors: int = 64) -> tuple[bytes, int]:
    """A real-size model: the vocabulary file's key/values, then tensor infos for 7 GiB of F16 weights."""
    header = bytearray(vocab.read_bytes())
    assert struct.unpack_from("<Q", header, 8)[0] == 0  # a vocab-only file: no tensors yet
    struct.pack_into("<Q", header, 8, n_tensors)
    offset = 0
    tensors = [Tensor(f"blk.{i}.ffn_up.weight", (4096, 14336), 1) for i in range(n_tensors)]
    for t in tensors:
        header += tensor_info(t, offset)
        offset += pad(t.n_bytes)
    total = pad(len(header)) + offset
    return bytes(header), total


@pytest.mark.parametrize("fixture", ["vocab_qwen2", "vocab_llama_bpe"])
def test_remote_style_read_costs_header_plus_one_chunk(fixture, request):
    header_bytes, total = _model_behind_vocab(request.getfixturevalue(fixture))
    source = CountingSource(header_bytes, virtual_size=total)
    header = read_header(source)
    assert header.file_size == total > 7 * 1024**3
    assert len(header.tensors) == 64
    assert header.data_offset == pad(len(header_bytes))
    assert header.bytes_read == sum(min(n, total - o) for o, n in source.reads)
    assert header.bytes_read <= header.header_size + DEFAULT_MAX_CHUNK
    assert header.read_calls == len(source.reads) <= 7
    assert source.reads[0] == (0, DEFAULT_FIRST_CHUNK)
    assert all(o >= 0 and o < header.header_size for o, _ in source.reads)


def test_skipped_arrays_are_not_downloaded():
    big = [0.0] * 1_000_000  # 4 MB of scores nobody needs
    kvs = [
        gguf_kv("general.architecture", STRING, "llama"),
        gguf_kv("tokenizer.ggml.scores", ARRAY, (FLOAT32, big)),
        gguf_kv("general.name", STRING, "after the scores"),
    ]
    source = CountingSource(build_gguf(kvs))
    header = read_header(source, first_chunk=4096, max_chunk=16384)
    assert header.metadata["tokenizer.ggml.scores"] == ArraySummary(GGUFValueType.FLOAT32, 1_000_000)
    assert header.metadata["general.name"] == "after the scores"
    assert header.bytes_read < 64 * 1024


def test_chunks_grow_and_stay_within_the_cap(vocab_qwen2):
    source = CountingSource(vocab_qwen2.read_bytes())
    header = read_header(source, first_chunk=1024, max_chunk=64 * 1024)
    lengths = [n for _, n in source.reads]
    assert lengths[:4] == [1024, 2048, 4096, 8192]
    assert max(lengths) == 64 * 1024
    # the token types (int32 x 151936) are skipped, not downloaded
    assert header.bytes_read <= len(vocab_qwen2.read_bytes()) - 151936 * 4 + 64 * 1024


def test_unknown_size_source_reads_the_same_header(stories_model):
    data = stories_model.read_bytes()
    sized = read_header(CountingSource(data))
    unsized = read_header(CountingSource(data, size_known=False))
    assert unsized.file_size is None
    assert (unsized.metadata, unsized.tensors, unsized.data_offset) == (sized.metadata, sized.tensors, sized.data_offset)


# -- failures -----------------------------------------------------------------------------------------


def test_short_reads_mid_header_are_truncation_errors():
    data = small_model()
    with pytest.raises(GGUFError, match="truncated"):
        read_header(ShortReadSource(data, limit=300))
    with pytest.raises(GGUFError, match="truncated"):
        read_header(CountingSource(data[:500], size_known=False))


def test_header_larger_than_the_budget_is_refused(vocab_qwen2):
    with pytest.raises(GGUFError, match="1048576-byte header limit"):
        read_header(FileSource(vocab_qwen2), max_header_bytes=1024 * 1024)


def test_file_source_errors_are_gguf_errors(tmp_path):
    with pytest.raises(GGUFError, match="cannot open"):
        FileSource(tmp_path / "missing.gguf")
    with pytest.raises(GGUFError, match="cannot read"):
        read_header(FileSource(tmp_path))
    assert issubclass(GGUFError, LocalAIError)


def test_a_source_returning_garbage_types_is_an_error():
    class Broken(BytesSource):
        def read(self, offset, length):
            return "text"

    with pytest.raises(GGUFError, match="not bytes"):
        read_header(Broken(small_model()))


def test_error_messages_name_the_source():
    with pytest.raises(GGUFError, match=r"^model-x\.gguf: not a GGUF file"):
        read_header(BytesSource(b"PK\x03\x04 a zip file", "model-x.gguf"))
