"""Hostile and broken GGUF bytes: the reader answers with a GGUFError (or a header), never anything else.

Seeds are small valid headers; mutations truncate them at every byte, flip bytes, splice in
huge lengths and counts, and append random bytes after a valid preamble. Each read must end
quickly and allocate no more than the bytes justify. The crafted corpus in tests/corpus/gguf/
pins one file per failure the reader knows by name.
"""

from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.corpus.make_gguf_corpus import (
    ARRAY,
    BOOL,
    CASES,
    CORPUS_DIR,
    FLOAT64,
    INT8,
    INT64,
    STRING,
    UINT8,
    UINT16,
    UINT32,
    Tensor,
    build_gguf,
    gguf_kv,
    small_model,
)
from tui.core.gguf.reader import FileSource, GGUFError, GGUFHeader, read_header

SEED = small_model()
#: a second seed whose string array is long enough to be summarized (walked, not kept)
VOCAB_SEED = build_gguf(
    [
        gguf_kv("general.architecture", STRING, "llama"),
        gguf_kv("tokenizer.ggml.tokens", ARRAY, (STRING, [f"tok{i}" for i in range(40)])),
        gguf_kv("tokenizer.ggml.token_type", ARRAY, (UINT32, list(range(40)))),
    ],
    [Tensor("token_embd.weight", (8, 40))],
)
SEEDS = (SEED, VOCAB_SEED)
FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Reads a header may take per 64 bytes of input (the first chunk), plus a few: far above what a
#: well-formed read needs, far below what a reader stuck in a loop would do. Counted, not timed, so
#: a loaded machine cannot fail it (the read speed itself is in scripts/bench_reader.py).
MAX_READS_PER_64_BYTES = 4


class _Source:
    def __init__(self, data: bytes, size_known: bool) -> None:
        self.data, self.name, self.size_known = data, "fuzz.gguf", size_known
        self.reads = 0

    @property
    def size(self) -> int | None:
        return len(self.data) if self.size_known else None

    def read(self, offset: int, length: int) -> bytes:
        self.reads += 1
        return self.data[offset : offset + length]


def read_or_refuse(data: bytes, *, size_known: bool = True, max_array_items: int | None = 4) -> GGUFHeader | None:
    """Read ``data``; a GGUFError is a fine answer, any other exception fails the test."""
    source = _Source(data, size_known)
    try:
        return read_header(source, first_chunk=64, max_chunk=1024, max_array_items=max_array_items)
    except GGUFError:
        return None
    finally:
        assert source.reads <= MAX_READS_PER_64_BYTES * (len(data) // 64 + 4), f"{source.reads} reads"


def _tensor_data_end(header: GGUFHeader) -> int:
    last = header.tensors[-1]
    return header.data_offset + last.offset + last.n_bytes


@pytest.mark.parametrize("seed", SEEDS, ids=["every_type", "vocabulary"])
def test_every_truncation_is_refused_or_complete(seed):
    full = read_header(_Source(seed, True))
    for n in range(len(seed)):
        prefix = seed[:n]
        header = read_or_refuse(prefix, size_known=True)
        if header is not None:  # only the padding after the last tensor may be missing
            assert n >= _tensor_data_end(full)
            assert header.tensors == full.tensors
        header = read_or_refuse(prefix, size_known=False)
        if header is not None:  # without a size, the header itself must be complete
            assert n >= full.data_offset - full.alignment
            assert header.tensors == full.tensors and header.metadata.keys() == full.metadata.keys()


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1, max_size=8),
    size_known=st.booleans(),
)
def test_byte_flips(seed, flips, size_known):
    data = bytearray(seed)
    for position, xor in flips:
        data[position % len(data)] ^= xor
    read_or_refuse(bytes(data), size_known=size_known)


HUGE = st.sampled_from([2**31, 2**32 - 1, 2**32, 2**40, 2**62, 2**63 - 1, 2**63, 2**64 - 1]) | st.integers(
    min_value=0, max_value=2**64 - 1
)


@FUZZ
@given(seed=st.sampled_from(SEEDS), position=st.integers(min_value=0), value=HUGE, size_known=st.booleans())
def test_spliced_huge_lengths_and_counts(seed, position, value, size_known):
    position %= len(seed) - 8
    data = seed[:position] + struct.pack("<Q", value) + seed[position + 8 :]
    read_or_refuse(data, size_known=size_known, max_array_items=None)


@FUZZ
@given(tail=st.binary(max_size=600), version=st.sampled_from([2, 3]), size_known=st.booleans())
def test_random_bytes_after_a_valid_preamble(tail, version, size_known):
    read_or_refuse(b"GGUF" + struct.pack("<I", version) + tail, size_known=size_known)


_SCALARS = {
    UINT8: st.integers(0, 255),
    INT8: st.integers(-128, 127),
    UINT16: st.integers(0, 2**16 - 1),
    UINT32: st.integers(0, 2**32 - 1),
    INT64: st.integers(-(2**63), 2**63 - 1),
    FLOAT64: st.floats(allow_nan=False),
    BOOL: st.booleans(),
    STRING: st.text(max_size=20),
}
_VALUES = st.sampled_from(sorted(_SCALARS)).flatmap(lambda t: st.tuples(st.just(t), _SCALARS[t])) | st.sampled_from(
    sorted(_SCALARS)
).flatmap(lambda t: st.tuples(st.just(ARRAY), st.tuples(st.just(t), st.lists(_SCALARS[t], max_size=6))))


@settings(max_examples=100, deadline=None)
@given(kvs=st.dictionaries(st.text(min_size=1, max_size=12), _VALUES, max_size=8))
def test_random_valid_key_values_read_back_exactly(kvs):
    data = build_gguf([gguf_kv(k, t, v) for k, (t, v) in kvs.items()])
    metadata = read_header(_Source(data, True), max_array_items=None).metadata
    expected = {k: (list(v[1]) if t == ARRAY else v) for k, (t, v) in kvs.items()}
    assert metadata == expected


# -- the crafted corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file_is_refused_with_a_clear_message(name):
    path = CORPUS_DIR / f"{name}.gguf"
    make, fragment = CASES[name]
    assert path.read_bytes() == make(), "corpus out of date: python -m tests.corpus.make_gguf_corpus"
    with pytest.raises(GGUFError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        read_header(FileSource(path))
    read_or_refuse(path.read_bytes(), size_known=False)  # a stream may read further, still only GGUFError


def test_corpus_is_complete():
    assert sorted(p.stem for p in CORPUS_DIR.glob("*.gguf")) == sorted(CASES)


def test_absurd_claims_allocate_nothing_big():
    """Lengths and counts are checked against the remaining bytes before any allocation."""
    tracemalloc.start()
    try:
        for name in ("huge_kv_count", "huge_tensor_count", "huge_string_length", "huge_array_length",
                     "huge_string_array", "element_count_overflow"):  # fmt: skip
            read_or_refuse((CORPUS_DIR / f"{name}.gguf").read_bytes(), size_known=False)
            read_or_refuse((CORPUS_DIR / f"{name}.gguf").read_bytes(), size_known=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
