"""Read a GGUF header (key/values and tensor infos) from any source of byte ranges.

Only the header is read, never the weights: "will it fit" for a 100 GB model costs
a few MB. The same reader serves local files and HTTP range requests (``ByteSource``):
it asks the source for growing chunks (256 KiB, doubling, capped at 4 MiB), so a
remote header costs about its own size plus one chunk, in a handful of requests.

Every length and count in the file is checked against the bytes that can back it
before anything is allocated or looped over, so a hostile or corrupt file costs at
most its own header bytes and ends in one ``GGUFError``. The rules follow ggml's
``gguf_init_from_file`` (ggml/src/gguf.cpp): what llama.cpp would refuse, we refuse.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

from tui.core.errors import LocalAIError
from tui.core.gguf.ggml_types import ggml_type
from tui.core.sizes import MiB

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32  # bytes, when general.alignment is absent

DEFAULT_FIRST_CHUNK = 256 * 1024  # bytes asked for by the first read
DEFAULT_MAX_CHUNK = 4 * MiB  # bytes: chunks double up to this size
DEFAULT_MAX_ARRAY_ITEMS = 4096  # longer metadata arrays become an ArraySummary
DEFAULT_MAX_HEADER_BYTES = 128 * MiB  # a header may not claim more (real ones: 1-20 MB)

MAX_TENSOR_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME_BYTES = 63  # GGML_MAX_NAME is 64 including the terminating NUL
MAX_ARRAY_DEPTH = 8  # arrays of arrays of ... (ggml allows none; gguf-py any)
_INT64_MAX = 2**63 - 1


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


class GGUFValueType(IntEnum):
    """The metadata value types of the GGUF format (gguf.h ``enum gguf_type``)."""

    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


#: struct format and size in bytes of each fixed-size value type.
_SCALAR_FORMATS: dict[int, tuple[str, int]] = {
    GGUFValueType.UINT8: ("B", 1),
    GGUFValueType.INT8: ("b", 1),
    GGUFValueType.UINT16: ("H", 2),
    GGUFValueType.INT16: ("h", 2),
    GGUFValueType.UINT32: ("I", 4),
    GGUFValueType.INT32: ("i", 4),
    GGUFValueType.FLOAT32: ("f", 4),
    GGUFValueType.BOOL: ("?", 1),
    GGUFValueType.UINT64: ("Q", 8),
    GGUFValueType.INT64: ("q", 8),
    GGUFValueType.FLOAT64: ("d", 8),
}
_MIN_STRING_BYTES = 8  # the u64 length
_MIN_ARRAY_BYTES = 12  # u32 element type + u64 count
_MIN_KV_BYTES = 8 + 4 + 1  # key length, value type, a 1-byte value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8  # name length, n_dims, type, offset
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class ArraySummary:
    """A metadata array too long to be worth keeping (150k vocabulary strings): its type and length."""

    type: GGUFValueType  # element type
    length: int

    def __len__(self) -> int:
        return self.length

    def __str__(self) -> str:
        return f"[{self.type.name.lower()} x {self.length}]"


@dataclass(frozen=True)
class GGUFHeader:
    """Everything before the tensor data of one GGUF file (one shard of a split model)."""

    name: str  # the source's name (path or URL)
    version: int
    metadata: dict[str, Any]  # key -> int, float, bool, str, list, or ArraySummary for long arrays
    tensors: tuple[TensorInfo, ...]
    alignment: int  # bytes; tensor data offsets are multiples of it
    data_offset: int  # bytes from the start of the file to the tensor data (padded to alignment)
    header_size: int  # bytes up to data_offset
    file_size: int | None  # the source's size in bytes, if known
    bytes_read: int  # bytes the source returned while reading this header
    read_calls: int  # calls to source.read

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def tensor_data_size(self) -> int:
        """Bytes of tensor data (unpadded sum of the tensors' sizes)."""
        return sum(t.n_bytes for t in self.tensors)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)


class FileSource:
    """A local file as a ``ByteSource``; each read opens, seeks and closes (reads are few)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(path)
        try:
            self._size = self.path.stat().st_size
        except OSError as exc:
            raise GGUFError(f"cannot open {self.name}: {exc.strerror or exc}") from None

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        try:
            with self.path.open("rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        except OSError as exc:
            raise GGUFError(f"cannot read {self.name}: {exc.strerror or exc}") from None


class BytesSource:
    """Bytes in memory as a ``ByteSource`` (tests, cached headers)."""

    def __init__(self, data: bytes, name: str = "<bytes>") -> None:
        self._data = bytes(data)
        self.name = name

    @property
    def size(self) -> int:
        return len(self._data)

    def read(self, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]


def read_header(
    source: ByteSource,
    *,
    first_chunk: int = DEFAULT_FIRST_CHUNK,
    max_chunk: int = DEFAULT_MAX_CHUNK,
    max_array_items: int | None = DEFAULT_MAX_ARRAY_ITEMS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    shard: int = 0,
) -> GGUFHeader:
    """Parse the header of the GGUF file behind ``source``; raise ``GGUFError`` if it is not one.

    ``max_array_items``: arrays longer than this are kept as ``ArraySummary`` (None keeps all).
    ``max_header_bytes``: the most header bytes we agree to read. ``shard`` tags the tensors.
    """
    if first_chunk <= 0 or max_chunk < first_chunk:
        raise ValueError("need 0 < first_chunk <= max_chunk")
    cursor = _Cursor(source, first_chunk, max_chunk, max_header_bytes)
    return _HeaderParser(cursor, max_array_items, shard).parse()


class _Cursor:
    """Forward-only reader over a ``ByteSource`` that fetches growing chunks and counts them."""

    def __init__(self, source: ByteSource, first_chunk: int, max_chunk: int, max_header_bytes: int) -> None:
        self.source = source
        self.name = str(getattr(source, "name", "<source>"))
        size = source.size
        if size is not None and (not isinstance(size, int) or size < 0):
            raise GGUFError(f"{self.name}: the source reports an invalid size {size!r}")
        self.size: int | None = size
        #: absolute offset we never read past: the file's end, or the header budget
        self.limit = max_header_bytes if size is None else min(size, max_header_bytes)
        self.buf = b""
        self.buf_start = 0  # absolute offset of buf[0]
        self.pos = 0  # index into buf
        self._next_chunk = first_chunk
        self._max_chunk = max_chunk
        self._short_read = False
        self.bytes_read = 0
        self.read_calls = 0

    @property
    def offset(self) -> int:
        return self.buf_start + self.pos

    def remaining(self) -> int:
        """Bytes that may still follow the current offset (file end or header budget)."""
        return max(0, self.limit - self.offset)

    def error(self, message: str) -> GGUFError:
        return GGUFError(f"{self.name}: {message}")

    def overclaim(self, claim: str) -> GGUFError:
        """A length or count in the file that the remaining bytes cannot back."""
        if self.size is not None and self.limit == self.size:
            return self.error(f"{claim}, more than the {self.remaining()} bytes left in the file")
        return self.error(f"{claim}, beyond the {self.limit}-byte header limit")

    def truncated(self, n: int) -> GGUFError:
        at = self.offset
        if self.size is not None and at + n > self.size:
            return self.error(f"truncated GGUF header: needs {n} bytes at offset {at} but the file has {self.size}")
        if at + n > self.limit:
            return self.error(f"GGUF header is larger than the {self.limit}-byte limit (needs {n} bytes at offset {at})")
        return self.error(f"truncated GGUF header: the source ended before offset {at + n}")

    def ensure(self, n: int) -> None:
        """Make ``n`` bytes available at ``pos``, fetching from the source if needed."""
        available = len(self.buf) - self.pos
        if available >= n:
            return
        end = self.buf_start + len(self.buf)
        missing = n - available
        if self.offset + n > self.limit or self._short_read:
            raise self.truncated(n)
        request = min(max(self._next_chunk, missing), self.limit - end)
        self._next_chunk = min(self._next_chunk * 2, self._max_chunk)
        try:
            data = self.source.read(end, request)
        except OSError as exc:
            raise self.error(f"reading {request} bytes at offset {end} failed: {exc}") from None
        self.read_calls += 1
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise self.error(f"the source returned {type(data).__name__}, not bytes")
        data = bytes(data[:request])
        self.bytes_read += len(data)
        self.buf = self.buf[self.pos :] + data
        self.buf_start += self.pos
        self.pos = 0
        if len(data) < request:
            self._short_read = True
        if len(self.buf) < n:
            raise self.truncated(n)

    def skip(self, n: int) -> None:
        """Move ``n`` bytes forward without fetching them when they are not buffered yet."""
        if len(self.buf) - self.pos >= n:
            self.pos += n
            return
        if self.offset + n > self.limit:
            raise self.truncated(n)
        self.buf_start = self.offset + n
        self.buf = b""
        self.pos = 0

    def take(self, n: int) -> bytes:
        self.ensure(n)
        start = self.pos
        self.pos += n
        return self.buf[start : self.pos]

    def u32(self) -> int:
        self.ensure(4)
        (value,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(value)

    def u64(self) -> int:
        self.ensure(8)
        (value,) = _U64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return int(value)

    def scalar(self, fmt: str, size: int) -> Any:
        self.ensure(size)
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def scalars(self, fmt: str, size: int, count: int) -> list[Any]:
        self.ensure(size * count)
        values = list(struct.unpack_from(f"<{count}{fmt}", self.buf, self.pos))
        self.pos += size * count
        return values

    def string_bytes(self, what: str) -> bytes:
        length = self.u64()
        if length > self.remaining():
            raise self.overclaim(f"{what} claims {length} bytes")
        return self.take(length)

    def strings(self, count: int, keep: bool, what: str) -> list[str] | None:
        """Walk ``count`` strings (an array), decoding them only when ``keep``; the hot loop of vocabularies."""
        out: list[str] | None = [] if keep else None
        unpack = _U64.unpack_from
        done = 0
        while done < count:
            buf, pos, end = self.buf, self.pos, len(self.buf)
            while done < count and pos + 8 <= end:
                (length,) = unpack(buf, pos)
                nxt = pos + 8 + length
                if nxt > end:
                    break
                if out is not None:
                    out.append(buf[pos + 8 : nxt].decode("utf-8", "replace"))
                pos = nxt
                done += 1
            self.pos = pos
            if done < count:
                # the next string straddles the buffer: fetch its length, check it, fetch it
                self.ensure(8)
                (length,) = unpack(self.buf, self.pos)
                if length > self.remaining() - 8:
                    raise self.overclaim(f"{what}: string {done} claims {length} bytes")
                self.ensure(8 + length)
        return out


class _HeaderParser:
    """One pass over a header: magic, version, counts, key/values, tensor infos, checks."""

    def __init__(self, cursor: _Cursor, max_array_items: int | None, shard: int) -> None:
        self.c = cursor
        self.max_array_items = max_array_items
        self.shard = shard

    def parse(self) -> GGUFHeader:
        c = self.c
        if c.size is not None and c.size < 4:
            raise c.error("not a GGUF file (too short)")
        magic = c.take(4)
        if magic != GGUF_MAGIC:
            raise c.error(f"not a GGUF file (starts with {magic!r}, expected b'GGUF')")
        version = self._version(c.u32())
        n_tensors = c.u64()
        n_kv = c.u64()
        if n_kv * _MIN_KV_BYTES + n_tensors * _MIN_TENSOR_INFO_BYTES > c.remaining():
            raise c.overclaim(f"header claims {n_kv} key/values and {n_tensors} tensors")
        metadata, alignment = self._key_values(n_kv)
        tensors = self._tensor_infos(n_tensors)
        data_offset = _pad(c.offset, alignment)
        self._check_tensor_offsets(tensors, alignment, data_offset)
        return GGUFHeader(
            name=c.name,
            version=version,
            metadata=metadata,
            tensors=tuple(tensors),
            alignment=alignment,
            data_offset=data_offset,
            header_size=data_offset,
            file_size=c.size,
            bytes_read=c.bytes_read,
            read_calls=c.read_calls,
        )

    def _version(self, version: int) -> int:
        if version in SUPPORTED_VERSIONS:
            return version
        if version == 1:
            raise self.c.error("GGUF version 1 is no longer supported by llama.cpp (re-convert the model)")
        if version & 0xFFFF == 0:
            raise self.c.error("big-endian GGUF files are not supported by llama.cpp on this machine")
        raise self.c.error(f"unsupported GGUF version {version} (supported: 2 and 3)")

    # -- key/values --------------------------------------------------------------------------

    def _key_values(self, n_kv: int) -> tuple[dict[str, Any], int]:
        c = self.c
        metadata: dict[str, Any] = {}
        alignment = DEFAULT_ALIGNMENT
        for i in range(n_kv):
            key = c.string_bytes(f"key {i}").decode("utf-8", "replace")
            if not key:
                raise c.error(f"key {i} is empty")
            if key in metadata:
                raise c.error(f"duplicate key '{key}'")
            vtype = self._value_type(c.u32(), key)
            value = self._value(vtype, key, depth=0)
            if key == "general.alignment":
                if vtype != GGUFValueType.UINT32:
                    raise c.error(f"general.alignment must be uint32, not {vtype.name.lower()}")
                if value == 0 or value & (value - 1):
                    raise c.error(f"general.alignment {value} is not a power of 2")
                alignment = value
            metadata[key] = value
        return metadata, alignment

    def _value_type(self, raw: int, key: str) -> GGUFValueType:
        try:
            return GGUFValueType(raw)
        except ValueError:
            raise self.c.error(f"key '{key}' has unknown value type {raw}") from None

    def _value(self, vtype: GGUFValueType, key: str, depth: int) -> Any:
        c = self.c
        if vtype == GGUFValueType.STRING:
            return c.string_bytes(f"value of '{key}'").decode("utf-8", "replace")
        if vtype == GGUFValueType.ARRAY:
            return self._array(key, depth)
        fmt, size = _SCALAR_FORMATS[vtype]
        return c.scalar(fmt, size)

    def _array(self, key: str, depth: int) -> Any:
        c = self.c
        if depth >= MAX_ARRAY_DEPTH:
            raise c.error(f"'{key}' nests arrays deeper than {MAX_ARRAY_DEPTH} levels")
        etype = self._value_type(c.u32(), key)
        count = c.u64()
        if etype == GGUFValueType.STRING:
            min_size = _MIN_STRING_BYTES
        elif etype == GGUFValueType.ARRAY:
            min_size = _MIN_ARRAY_BYTES
        else:
            min_size = _SCALAR_FORMATS[etype][1]
        if count * min_size > c.remaining():
            raise c.overclaim(f"'{key}' claims {count} elements")
        keep = self.max_array_items is None or count <= self.max_array_items
        if etype == GGUFValueType.STRING:
            values = c.strings(count, keep, f"'{key}'")
        elif etype == GGUFValueType.ARRAY:
            if keep:
                values = [self._array(key, depth + 1) for _ in range(count)]
            else:
                self._skip_arrays(key, count, depth)
                values = None
        else:
            fmt, size = _SCALAR_FORMATS[etype]
            if keep:
                values = c.scalars(fmt, size, count)
            else:
                c.skip(size * count)
                values = None
        return values if keep else ArraySummary(etype, count)

    def _skip_arrays(self, key: str, count: int, depth: int) -> None:
        saved, self.max_array_items = self.max_array_items, 0  # summarize everything inside
        try:
            for _ in range(count):
                self._array(key, depth + 1)
        finally:
            self.max_array_items = saved

    # -- tensor infos ------------------------------------------------------------------------

    def _tensor_infos(self, n_tensors: int) -> list[TensorInfo]:
        c = self.c
        tensors: list[TensorInfo] = []
        seen: set[str] = set()
        for i in range(n_tensors):
            raw_name = c.string_bytes(f"name of tensor {i}")
            name = raw_name.decode("utf-8", "replace")
            if len(raw_name) > MAX_TENSOR_NAME_BYTES:
                raise c.error(f"tensor name '{name[:80]}' is longer than {MAX_TENSOR_NAME_BYTES} bytes")
            if name in seen:
                raise c.error(f"duplicate tensor '{name}'")
            seen.add(name)
            n_dims = c.u32()
            if n_dims > MAX_TENSOR_DIMS:
                raise c.error(f"tensor '{name}' has {n_dims} dimensions (at most {MAX_TENSOR_DIMS})")
            shape = tuple(c.scalars("q", 8, n_dims))
            if any(d <= 0 for d in shape):
                raise c.error(f"tensor '{name}' has a dimension <= 0: {list(shape)}")
            raw_type = c.u32()
            try:
                gtype = ggml_type(raw_type)
            except KeyError:
                raise c.error(f"tensor '{name}' has unknown ggml type {raw_type}") from None
            n_elements = 1
            for d in shape:
                n_elements *= d
            if n_elements > _INT64_MAX:
                raise c.error(f"tensor '{name}' has too many elements: {list(shape)}")
            row = shape[0] if shape else 1  # ggml: missing dimensions are 1
            if row % gtype.block_size:
                raise c.error(
                    f"tensor '{name}' of type {gtype.name} has {row} elements per row,"
                    f" not a multiple of the block size {gtype.block_size}"
                )
            offset = c.u64()
            tensors.append(TensorInfo(name, shape, raw_type, offset, self.shard))
        return tensors

    def _check_tensor_offsets(self, tensors: list[TensorInfo], alignment: int, data_offset: int) -> None:
        """ggml requires each tensor right after the previous one, padded to ``alignment``."""
        c = self.c
        expected = 0
        for t in tensors:
            if t.offset != expected:
                raise c.error(f"tensor '{t.name}' starts at data offset {t.offset}, llama.cpp expects {expected}")
            end = data_offset + t.offset + t.n_bytes
            if c.size is not None and end > c.size:
                raise c.error(f"tensor '{t.name}' ends at byte {end}, past the end of the file ({c.size} bytes)")
            if end > _INT64_MAX:
                raise c.error(f"tensor '{t.name}' ends past the largest possible file offset")
            expected += _pad(t.n_bytes, alignment)


def _pad(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment
