"""Crafted GGUF headers: bounded memory and time, one clear error, whatever the file claims.

Each file stays under the 128 MiB header limit yet used to cost 0.7-1.3 GB resident (millions of
keys or tensors, tens of thousands of kept arrays, nested arrays). Peak memory is measured in a
child process (``ru_maxrss``), never by wall clock.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.hostile_data import PEAK_SNIPPET, control_bytes, peak_kib, raw_gguf, string_kv, u32_kv
from tui.core.gguf.reader import MAX_KEPT_ARRAY_ITEMS, ArraySummary, BytesSource, GGUFError, read_header

PEAK_LIMIT_KIB = 400 * 1024
U8, ARRAY = 0, 9


def _array_kv(key: str, etype: int, count: int, payload: bytes) -> tuple[str, int, bytes]:
    return key, ARRAY, struct.pack("<IQ", etype, count) + payload


def many_u8_arrays(path: Path, n: int = 30_000, length: int = 4096) -> Path:
    """30,000 keys, each a 4,096-element uint8 array (about 123 MB)."""
    with path.open("wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 0, n + 1))
        key, t, v = string_kv("general.architecture", "llama")
        fh.write(struct.pack("<Q", len(key)) + key.encode() + struct.pack("<I", t) + v)
        payload = bytes(length)
        for i in range(n):
            k = f"x.array{i}".encode()
            fh.write(struct.pack("<Q", len(k)) + k + struct.pack("<IIQ", ARRAY, U8, length) + payload)
    return path


def nested_arrays(path: Path, outer: int = 100_000, inner: int = 1000) -> Path:
    """One key: an array of 100,000 arrays of 1,000 uint8 (100 MB of nesting)."""
    inner_bytes = struct.pack("<IQ", U8, inner) + bytes(inner)
    with path.open("wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1))
        k = b"x.nested"
        fh.write(struct.pack("<Q", len(k)) + k + struct.pack("<IIQ", ARRAY, ARRAY, outer))
        for _ in range(outer):
            fh.write(inner_bytes)
    return path


def claims(path: Path, n_tensors: int, n_kv: int, size: int = 120 * 1024 * 1024) -> Path:
    """A header claiming millions of keys or tensors, over a sparse file big enough to back the claim."""
    with path.open("wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv))
        fh.truncate(size)
    return path


def peak_of_inspect(path: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    done = subprocess.run([sys.executable, "-c", PEAK_SNIPPET, "inspect", str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return peak_kib(done.stderr), done


@pytest.mark.parametrize("build", [many_u8_arrays, nested_arrays,
                                   lambda p: claims(p, 0, 6_000_000), lambda p: claims(p, 3_000_000, 0)],
                         ids=["30k-kept-arrays", "nested-arrays", "6M-keys", "3M-tensors"])
def test_crafted_headers_stay_under_the_memory_budget(tmp_path, build):
    path = build(tmp_path / "crafted.gguf")
    peak, done = peak_of_inspect(path)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert control_bytes(done.stderr) == []
    assert peak < PEAK_LIMIT_KIB, f"{peak} KiB"
    print(f"{path.name}: peak {peak / 1024:.0f} MiB, exit {done.returncode}: {done.stderr.splitlines()[0]}")


def test_kept_arrays_are_bounded_in_total():
    n_arrays = MAX_KEPT_ARRAY_ITEMS // 1000 + 10
    kvs = [_array_kv(f"x.a{i}", 4, 1000, bytes(4000)) for i in range(n_arrays)]
    header = read_header(BytesSource(raw_gguf(kvs)))
    kept = [v for v in header.metadata.values() if isinstance(v, list)]
    summarized = [v for v in header.metadata.values() if isinstance(v, ArraySummary)]
    assert sum(len(v) for v in kept) <= MAX_KEPT_ARRAY_ITEMS
    assert summarized and all(s.length == 1000 for s in summarized)  # still counted, just not kept


@pytest.mark.parametrize("n_tensors,n_kv,what", [(0, 6_000_000, "key/values"), (3_000_000, 0, "tensors")])
def test_absurd_counts_are_refused_before_any_work(n_tensors, n_kv, what):
    data = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)

    class Sparse:
        name = "sparse.gguf"
        size = 120 * 1024 * 1024

        def read(self, offset: int, length: int) -> bytes:
            head = data[offset:offset + length]
            return head + bytes(min(length, self.size - offset) - len(head))

    with pytest.raises(GGUFError, match=what):
        read_header(Sparse())


def test_a_string_budget_refuses_a_100_mb_value():
    big = "x" * (70 * 1024 * 1024)
    with pytest.raises(GGUFError, match="MiB"):
        read_header(BytesSource(raw_gguf([string_kv("tokenizer.chat_template", big), u32_kv("x.y", 1)])))
