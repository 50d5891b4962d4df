"""Read a GGUF header straight off the Hub with HTTP range requests, and keep it on disk.

"Will it fit?" needs only the header (key/values and tensor infos: 1-10 MB), never the
weights (GBs). ``RemoteFileSource`` is a ``ByteSource`` over ``/resolve/{commit}/{path}``:
the header reader asks for growing chunks and each becomes one ``Range`` request (a CDN
redirect is followed once and then used directly; the token never goes off the Hub's origin).

The bytes read are kept, as one contiguous prefix per file, under
``cache_dir()/gguf-headers/<owner>--<repo>/<commit>/<path>``: a commit's files never change,
so a header read once is free forever after, offline included.

For a split model the first shard is read first (it holds the key/values); the others carry
only their tensor infos and are read with a small first chunk.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.errors import LocalAIError
from tui.core.gguf.reader import GGUFError, GGUFHeader, read_header
from tui.core.hub.client import HubClient, is_offline
from tui.core.hub.errors import HubError, HubOfflineError
from tui.core.paths import cache_dir
from tui.core.sizes import MiB

if TYPE_CHECKING:
    from tui.core.gguf.anatomy import ModelAnatomy
    from tui.core.hub.model_ref import HubModelRef, ResolvedModel
    from tui.core.hub.repo_listing import HubFile

#: The smallest range worth a request (bytes): tiny reads are rounded up to this.
MIN_FETCH = 64 * 1024
#: First chunk for shards after the first, which hold tensor infos only (a few KB).
LATER_SHARD_FIRST_CHUNK = 64 * 1024
#: Reads this far (bytes) past the cached prefix are not worth caching: fetched on their own.
MAX_PREFIX_GAP = MiB


def header_cache_path(repo_id: str, commit: str, path: str) -> Path:
    """Where the cached prefix of ``repo_id``'s ``path`` at ``commit`` lives."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise LocalAIError(f"'{path}' is not a file path inside a repo")
    if not commit.isalnum():
        raise LocalAIError(f"'{commit}' is not a commit id")
    owner, name = repo_id.split("/", 1)
    return cache_dir() / "gguf-headers" / f"{owner}--{name}" / commit / Path(*parts)


class NotCached(Exception):
    """A cache-only read needed bytes that are not on disk (internal: never reaches the user)."""


class RemoteFileSource:
    """A file on the Hub as a ``ByteSource``: cached prefix first, then HTTP ranges.

    ``bytes_fetched`` and ``requests`` count the network traffic this source caused.
    ``cache_only`` sources raise ``NotCached`` instead of asking the network.
    """

    def __init__(self, repo_id: str, path: str, commit: str, size: int | None = None, *,
                 client: HubClient | None = None, use_cache: bool = True, cache_only: bool = False) -> None:
        self.repo_id, self.path, self.commit = repo_id, path, commit
        self.name = f"{repo_id}/{path}"
        self._size = size
        self._client = client or HubClient()
        self._cache_path = header_cache_path(repo_id, commit, path) if use_cache else None
        self._prefix = bytearray(self._load_cached())
        self._cache_only = cache_only
        self._direct_url: str | None = None  # the CDN URL after the first redirect
        self.bytes_fetched = 0
        self.requests = 0

    @property
    def size(self) -> int | None:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at the end of the file)."""
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        if self._size is not None:
            length = max(0, min(length, self._size - offset))
        end = offset + length
        if length == 0 or end <= len(self._prefix):
            return bytes(self._prefix[offset:end])
        if offset > len(self._prefix) + MAX_PREFIX_GAP:
            return self._fetch(offset, length)
        start = len(self._prefix)
        want = max(end - start, MIN_FETCH)
        if self._size is not None:
            want = min(want, self._size - start)
        data = self._fetch(start, want)
        self._prefix += data
        self._save_cached()
        return bytes(self._prefix[offset:end])

    # --- network ----------------------------------------------------------------------------------

    def _fetch(self, start: int, length: int) -> bytes:
        if self._cache_only:
            raise NotCached(self.name)
        if is_offline():
            raise HubOfflineError(f"offline mode is on (HF_HUB_OFFLINE=1) and the header of {self.name} is not cached",
                                  hint="unset HF_HUB_OFFLINE to read it from the Hub")
        url = self._direct_url or self._client.file_url(self.repo_id, self.path, self.commit)
        try:
            return self._fetch_from(url, start, length)
        except HubError:
            if self._direct_url is None:
                raise
            self._direct_url = None  # a signed CDN URL may have expired: resolve again
            return self._fetch_from(self._client.file_url(self.repo_id, self.path, self.commit), start, length)

    def _fetch_from(self, url: str, start: int, length: int) -> bytes:
        self.requests += 1
        chunks: list[bytes] = []
        got = 0
        with self._client.stream(url, byte_range=(start, start + length - 1), repo_id=self.repo_id,
                                 path=self.path) as response:
            if response.status_code == 416:
                return b""
            if str(response.url) != url and self._direct_url is None:
                self._direct_url = str(response.url)
            total = _total_from_content_range(response.headers.get("Content-Range"))
            if total is not None and self._size is None:
                self._size = total
            skip = start if response.status_code == 200 else 0  # the server ignored Range: skip to ``start``
            for chunk in response.iter_bytes(chunk_size=256 * 1024):
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                chunks.append(chunk)
                got += len(chunk)
                self.bytes_fetched += len(chunk)
                if got >= length:
                    break  # a 200 would send the whole file: stop here
        return b"".join(chunks)[:length]

    # --- disk cache -------------------------------------------------------------------------------

    def _load_cached(self) -> bytes:
        if self._cache_path is None:
            return b""
        try:
            data = self._cache_path.read_bytes()
        except OSError:
            return b""
        return data if self._size is None or len(data) <= self._size else b""

    def _save_cached(self) -> None:
        """Replace the cached prefix atomically (two readers never leave a torn file)."""
        if self._cache_path is None:
            return
        try:
            self._cache_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._cache_path.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._prefix)
            os.replace(tmp, self._cache_path)
        except OSError:
            pass


def _total_from_content_range(value: str | None) -> int | None:
    """The total size in ``Content-Range: bytes 0-99/1234``."""
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


@dataclass(frozen=True)
class RemoteShard:
    """A file to read a header from: its path in the repo and, if known, its size in bytes."""

    path: str
    size: int | None = None


def read_remote_headers(repo_id: str, commit: str, shards: list[RemoteShard], *,
                        client: HubClient | None = None, cache_only: bool = False) -> tuple[list[GGUFHeader], int]:
    """Every shard's header, in shard order and checked to belong together; plus the bytes fetched.

    ``shards`` must be in shard order (first shard first). ``cache_only``: raise ``NotCached``
    rather than use the network.
    """
    from tui.core.gguf.split import check_split_headers

    if not shards:
        raise GGUFError(f"no GGUF file to read in {repo_id}")
    client = client or HubClient()
    headers: list[GGUFHeader] = []
    fetched = 0
    for index, shard in enumerate(shards):
        source = RemoteFileSource(repo_id, shard.path, commit, shard.size, client=client, cache_only=cache_only)
        options = {} if index == 0 else {"first_chunk": LATER_SHARD_FIRST_CHUNK}
        try:
            headers.append(read_header(source, shard=index, **options))
        finally:
            fetched += source.bytes_fetched
    return check_split_headers(headers), fetched


def read_group_anatomy(repo_id: str, commit: str, files: tuple[HubFile, ...] | list[HubFile], *,
                       client: HubClient | None = None, cache_only: bool = False) -> tuple[ModelAnatomy, int]:
    """The anatomy of a quant row (``files``: ``HubFile``s in shard order) from headers only; plus bytes fetched."""
    from tui.core.gguf.anatomy import anatomy_from_headers

    shards = [RemoteShard(f.path, f.size) for f in files]
    headers, fetched = read_remote_headers(repo_id, commit, shards, client=client, cache_only=cache_only)
    return anatomy_from_headers(headers), fetched


@dataclass(frozen=True)
class HubAnatomy:
    """A Hub model's anatomy, the row it came from, and the bytes fetched over the network to get it."""

    anatomy: ModelAnatomy
    resolved: ResolvedModel | None  # None when a downloaded copy stood in for an unreachable Hub
    bytes_fetched: int


def read_hub_model_anatomy(ref: HubModelRef, *, client: HubClient | None = None) -> HubAnatomy:
    """The anatomy of the model ``ref`` (a ``HubModelRef``) names, from its header(s) only.

    When the Hub cannot be asked and the repo's listing was never cached, a downloaded copy in
    the Hugging Face cache still answers.
    """
    from tui.core.hub.errors import TRANSIENT_ERRORS
    from tui.core.hub.model_ref import resolve_hub_model

    client = client or HubClient()
    try:
        resolved = resolve_hub_model(ref, client)
    except TRANSIENT_ERRORS:
        from tui.core.gguf.anatomy import load_anatomy
        from tui.core.hub.library import find_cached_model

        local = find_cached_model(ref.repo_id, ref.label, ref.path)
        if local is None:
            raise
        return HubAnatomy(load_anatomy(local.path), None, 0)
    anatomy, fetched = read_group_anatomy(resolved.repo_id, resolved.commit, resolved.group.files, client=client)
    return HubAnatomy(anatomy, resolved, fetched)
