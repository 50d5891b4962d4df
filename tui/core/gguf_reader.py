"""Read a GGUF header (key/values and tensor infos) from any source of byte ranges.

Only the header is read, never the weights: "will it fit" for a 100 GB model costs
a few MB. The same reader serves local files and HTTP range requests (``ByteSource``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tui.core.errors import LocalAIError
from tui.core.ggml_types import ggml_type


class GGUFError(LocalAIError):
    """The bytes are not a GGUF file we can read (bad magic, truncated, absurd sizes, unknown types)."""


class ByteSource(Protocol):
    """Anything that serves byte ranges: a local file, an HTTP URL with Range requests."""

    name: str

    @property
    def size(self) -> int | None:
        """Total bytes, if known."""

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; fewer only at the end of the source."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the header describes it. ``shape`` is in ggml order (ne0 first)."""

    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # bytes from the start of the shard's data section
    shard: int = 0  # index of the shard file that holds it

    @property
    def n_elements(self) -> int:
        n = 1
        for dim in self.shape:
            n *= dim
        return n

    @property
    def n_bytes(self) -> int:
        """Bytes in the file (ggml_nbytes for a contiguous tensor)."""
        t = ggml_type(self.ggml_type)
        return self.n_elements // t.block_size * t.type_size

    @property
    def type_name(self) -> str:
        return ggml_type(self.ggml_type).name
