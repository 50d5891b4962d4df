"""Shared pieces for the Advisor's tests: the fake Hub with the Advisor's repos, fixed boxes, headers.

The extra repos (a dense 32B coder, an embedding model, Gemma 3 4B with sliding-window
attention and a projector, a non-commercial fine-tune) are served beside the default catalog
by ``advisor_hub``; ``catalog_anatomy`` reads a fixture's real header straight from memory, for
tests that need a model but not the Hub.
"""

from __future__ import annotations

import functools

import pytest

from tests.fake_hub import FakeHub, point_hf_at
from tests.hub_fixtures.catalog import advisor_repos
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

MOE = ("unsloth/Qwen3-30B-A3B-GGUF", "Qwen3-30B-A3B-Q4_K_M.gguf")
DENSE = ("bartowski/Qwen2.5-Coder-32B-Instruct-GGUF", "Qwen2.5-Coder-32B-Instruct-Q4_K_M.gguf")
LLAMA_8B = ("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", "Meta-Llama-3.1-8B-Instruct-Q8_0.gguf")
GEMMA_4B = ("unsloth/gemma-3-4b-it-GGUF", "gemma-3-4b-it-Q4_K_M.gguf")

#: A box with a modest card and fast RAM, sized in round numbers (nothing detected).
GPU_BOX = HardwareProfile("RTX 3060 12GB + 64 GiB DDR5", gpus=(GpuSpec("RTX 3060 12GB", 12 * GiB, 360.0),),
                          ram_bytes=64 * GiB, ram_bandwidth_gbps=89.6, source="catalog")
#: A CPU-only box.
CPU_BOX = HardwareProfile("CPU-only 32 GiB DDR4", ram_bytes=32 * GiB, ram_bandwidth_gbps=51.2, source="catalog",
                          efficiency=0.6)


class _ZeroPadded:
    """A fixture file as a ``ByteSource``: its real header bytes, then zeros up to its size."""

    def __init__(self, name: str, prefix: bytes, size: int) -> None:
        self.name, self._prefix, self._size = name, prefix, size

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        end = min(self._size, offset + length)
        head = self._prefix[offset:end]
        return head + b"\0" * max(0, end - max(offset, len(self._prefix)))


def repo_by_id(repo_id: str):
    return next(r for r in advisor_repos() if r.repo_id == repo_id)


@functools.cache
def catalog_anatomy(repo_id: str, path: str):
    """The anatomy of one fixture file, from its real header (no Hub, no disk)."""
    from tui.core.gguf.anatomy import anatomy_from_headers
    from tui.core.gguf.reader import read_header

    file = repo_by_id(repo_id).file(path)
    return anatomy_from_headers([read_header(_ZeroPadded(f"{repo_id}/{path}", file.prefix, file.size))])


@pytest.fixture
def advisor_hub(tmp_path, monkeypatch):
    """A running fake Hub with the default catalog and the Advisor's repos; huggingface_hub points at it."""
    hub = FakeHub({r.repo_id: r for r in advisor_repos()}).start()
    point_hf_at(hub.url, tmp_path / "hf_home", monkeypatch)
    yield hub
    from huggingface_hub.utils import close_session

    close_session()
    hub.stop()
