"""Split GGUF models: one model stored as ``PREFIX-00001-of-00003.gguf`` ... ``PREFIX-00003-of-00003.gguf``.

llama.cpp (``gguf-split``, ``llama_split_path``) names shards that way and records
``split.no`` (0-based), ``split.count`` and ``split.tensors.count`` in every shard's
header; the first shard also holds the model's key/values. Given any one shard, we find
the others, read every header, and check they belong together the way
``llama_model_loader`` does, so a missing or stray shard is named before anything loads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tui.core.gguf.reader import ByteSource, FileSource, GGUFError, GGUFHeader, read_header

SPLIT_NO = "split.no"
SPLIT_COUNT = "split.count"
SPLIT_TENSORS_COUNT = "split.tensors.count"

_SPLIT_NAME = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


def split_file_name(prefix: str, split_no: int, split_count: int) -> str:
    """llama_split_path: the name of shard ``split_no`` (0-based) of ``split_count``."""
    return f"{prefix}-{split_no + 1:05d}-of-{split_count:05d}.gguf"


def parse_split_name(name: str) -> tuple[str, int, int] | None:
    """``(prefix, split_no (0-based), split_count)`` for a shard file name, None for other names."""
    match = _SPLIT_NAME.match(name)
    if not match:
        return None
    number, count = int(match["no"]), int(match["count"])
    if not 1 <= number <= count:
        return None
    return match["prefix"], number - 1, count


def shard_paths(path: str | os.PathLike[str]) -> list[Path]:
    """Every shard of the model that ``path`` belongs to, in order; ``[path]`` for a single-file model."""
    path = Path(path)
    parsed = parse_split_name(path.name)
    if parsed is None:
        return [path]
    prefix, _, count = parsed
    return [path.with_name(split_file_name(prefix, i, count)) for i in range(count)]


def read_model_headers(model: str | os.PathLike[str] | Sequence[ByteSource], **read_options: Any) -> list[GGUFHeader]:
    """The headers of every shard of a model, in shard order, checked for consistency.

    ``model`` is a local path (any shard of a split model) or the shards' byte sources
    (e.g. HTTP ranges), in any order. ``read_options`` go to ``read_header``. Tensors
    carry the index of the shard that holds them.
    """
    if isinstance(model, (str, os.PathLike)):
        sources: list[ByteSource] = []
        paths = shard_paths(model)
        for i, shard in enumerate(paths):
            if not shard.is_file():
                raise GGUFError(f"shard {i + 1} of {len(paths)} is missing: {shard}")
            sources.append(FileSource(shard))
    else:
        sources = list(model)
    if not sources:
        raise GGUFError("no GGUF files given")
    headers = [read_header(source, **read_options) for source in sources]
    return check_split_headers(headers)


def check_split_headers(headers: list[GGUFHeader]) -> list[GGUFHeader]:
    """Order shards by ``split.no``, check they form one whole model, tag tensors with their shard."""
    if len(headers) == 1:
        _check_single(headers[0])
        return headers
    numbered = sorted(headers, key=lambda h: _split_int(h, SPLIT_NO, -1))
    count = len(numbered)
    for i, header in enumerate(numbered):
        declared = _split_int(header, SPLIT_COUNT, 0)
        if declared != count:
            raise GGUFError(f"{header.name}: {SPLIT_COUNT} is {declared}, but the model has {count} shards")
        number = _split_int(header, SPLIT_NO, -1)
        if number != i:
            raise GGUFError(f"{header.name}: {SPLIT_NO} is {number}, expected {i} (shards missing or repeated)")
    tagged = [_with_shard(h, i) for i, h in enumerate(numbered)]
    _check_tensor_count(tagged)
    return tagged


def _check_single(header: GGUFHeader) -> None:
    count = _split_int(header, SPLIT_COUNT, 0)
    if count > 1:
        number = _split_int(header, SPLIT_NO, 0)
        raise GGUFError(
            f"{header.name} is shard {number + 1} of {count} of a split model, but the other shards were not found"
            " (shards must be named PREFIX-00001-of-0000N.gguf, side by side)"
        )


def _check_tensor_count(headers: list[GGUFHeader]) -> None:
    seen: dict[str, str] = {}
    for header in headers:
        for tensor in header.tensors:
            if tensor.name in seen:
                raise GGUFError(f"tensor '{tensor.name}' is in both {seen[tensor.name]} and {header.name}")
            seen[tensor.name] = header.name
    expected = _split_int(headers[0], SPLIT_TENSORS_COUNT, len(seen))
    if expected != len(seen):
        raise GGUFError(f"{headers[0].name}: {SPLIT_TENSORS_COUNT} is {expected}, but the shards hold {len(seen)}")


def _split_int(header: GGUFHeader, key: str, default: int) -> int:
    value = header.metadata.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GGUFError(f"{header.name}: {key} should be a whole number, found {value!r}")
    return value


def _with_shard(header: GGUFHeader, shard: int) -> GGUFHeader:
    if all(t.shard == shard for t in header.tensors):
        return header
    return replace(header, tensors=tuple(replace(t, shard=shard) for t in header.tensors))
