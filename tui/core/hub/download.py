"""Download model files into the standard Hugging Face cache, resumable across runs, cancellable.

Files land exactly where ``hf_hub_download`` puts them
(``<HF_HUB_CACHE>/models--owner--repo/blobs/<sha256>`` with a relative symlink from
``snapshots/<commit>/<path>``, and ``refs/<branch>``), so ``hf_hub_download``,
``scan_cache_dir``, ``hf cache`` and llama.cpp's own tools all see them.

huggingface_hub 2.x deletes a partial file when a download stops, so a 20 GB download cut at
19 GB starts again from zero. Here the bytes received are kept in
``blobs/<sha256>.incomplete`` (the name ``scan_cache_dir`` reports as an incomplete download)
and the next attempt, in this run or a later one, asks only for the rest with a ``Range``
request. A dropped connection is resumed the same way a few times before giving up. At the
end the size and the LFS sha256 are checked, then the file is moved into place: the final
path never holds a partial file. Cancelling (a ``threading.Event``) stops at the next chunk
and keeps the partial file for later.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tui.core.errors import LocalAIError
from tui.core.hub.client import HubClient, cache_hub_dir, is_offline
from tui.core.hub.errors import (
    DownloadCancelled,
    DownloadIntegrityError,
    HubOfflineError,
    HubServerError,
    HubTimeoutError,
    HubUnreachableError,
)

CHUNK_BYTES = 1024 * 1024  # bytes hashed per step when checking a kept partial file
PROGRESS_INTERVAL_S = 0.1  # at most this often a progress callback
RATE_WINDOW_S = 3.0  # the transfer rate is averaged over this many seconds
MAX_RETRIES = 5  # consecutive failures without progress before giving up
LOCK_TIMEOUT_S = 2.0  # waiting this long for another process's download of the same file is enough
INCOMPLETE_SUFFIX = ".incomplete"


@dataclass(frozen=True)
class DownloadFile:
    """A file to fetch: its path in the repo, size in bytes and LFS sha256 (None: size check only)."""

    path: str
    size: int
    sha256: str | None = None
    blob_id: str | None = None

    @property
    def etag(self) -> str:
        """The blob's name in the cache: the sha256 for LFS files, the git blob id otherwise (as huggingface_hub)."""
        etag = self.sha256 or self.blob_id
        if not etag:
            raise LocalAIError(f"the Hub gave no checksum for {self.path}; cannot place it in the cache")
        return etag


@dataclass(frozen=True)
class DownloadProgress:
    """Where a download stands. Sizes in bytes, rate in bytes per second, ETA in seconds."""

    phase: str  # "checking" (hashing a kept partial file), "downloading", "done"
    file_path: str
    file_index: int  # 0-based
    file_count: int
    file_done: int
    file_total: int
    done: int  # all files
    total: int
    rate_bps: float
    eta_s: float | None
    resumed_bytes: int  # bytes of this file kept from an earlier attempt

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class DownloadResult:
    """The files in the cache, in order (the first shard first); bytes actually transferred."""

    repo_id: str
    commit: str
    paths: tuple[Path, ...]
    bytes_transferred: int
    bytes_total: int

    @property
    def path(self) -> Path:
        """The path to give llama.cpp: the first shard loads the rest."""
        return self.paths[0]


def repo_storage_dir(repo_id: str) -> Path:
    """``<HF_HUB_CACHE>/models--owner--repo``."""
    owner, name = repo_id.split("/", 1)
    return Path(cache_hub_dir()) / f"models--{owner}--{name}"


def snapshot_path(repo_id: str, commit: str, path: str) -> Path:
    return repo_storage_dir(repo_id) / "snapshots" / commit / Path(*path.split("/"))


def partial_path(repo_id: str, file: DownloadFile) -> Path:
    """Where the kept bytes of an unfinished download of ``file`` live."""
    return repo_storage_dir(repo_id) / "blobs" / (file.etag + INCOMPLETE_SUFFIX)


def kept_partial_bytes(repo_id: str, files: list[DownloadFile]) -> int:
    """Bytes already on disk from earlier, unfinished attempts (what a resume will skip)."""
    total = 0
    for file in files:
        try:
            total += partial_path(repo_id, file).stat().st_size
        except OSError:
            pass
    return total


def cached_file_path(repo_id: str, commit: str, file: DownloadFile) -> Path | None:
    """The file's path in the cache if it is there, complete; else None."""
    pointer = snapshot_path(repo_id, commit, file.path)
    try:
        return pointer if pointer.stat().st_size == file.size else None
    except OSError:
        return None


def download_files(repo_id: str, commit: str, files: list[DownloadFile], *, revision: str | None = None,
                   progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                   client: HubClient | None = None, max_retries: int = MAX_RETRIES) -> DownloadResult:
    """Fetch ``files`` of ``repo_id`` at ``commit`` into the HF cache; files already there are skipped.

    ``revision`` (a branch such as "main") is recorded in ``refs/`` so huggingface_hub finds the
    commit by name offline. Raises ``DownloadCancelled`` when ``cancel`` is set.
    """
    if not files:
        raise LocalAIError(f"nothing to download from {repo_id}")
    client = client or HubClient()
    cancel = cancel or threading.Event()
    tracker = _Tracker(files, progress)
    missing = [f for f in files if cached_file_path(repo_id, commit, f) is None]
    if missing and is_offline():
        raise HubOfflineError(f"offline mode is on (HF_HUB_OFFLINE=1) and {missing[0].path} is not downloaded",
                              hint="unset HF_HUB_OFFLINE to download it")
    _check_disk_space(repo_id, missing)
    paths = []
    for index, file in enumerate(files):
        tracker.start_file(index)
        cached = cached_file_path(repo_id, commit, file)
        if cached is None:
            cached = _download_one(client, repo_id, commit, file, tracker, cancel, max_retries)
        tracker.finish_file()
        paths.append(cached)
    if revision and revision != commit:
        _write_ref(repo_id, revision, commit)
    tracker.report("done", force=True)
    return DownloadResult(repo_id, commit, tuple(paths), tracker.transferred, tracker.total)


def _download_one(client: HubClient, repo_id: str, commit: str, file: DownloadFile, tracker: _Tracker,
                  cancel: threading.Event, max_retries: int) -> Path:
    """One file into ``blobs/<etag>`` (under huggingface_hub's lock for that blob), then linked from the snapshot."""
    from filelock import Timeout
    from huggingface_hub.utils import WeakFileLock

    storage = repo_storage_dir(repo_id)
    blob = storage / "blobs" / file.etag
    pointer = snapshot_path(repo_id, commit, file.path)
    blob.parent.mkdir(parents=True, exist_ok=True)
    lock_path = storage.parent / ".locks" / storage.name / f"{file.etag}.lock"  # the path hf_hub_download locks
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(WeakFileLock(lock_path, timeout=LOCK_TIMEOUT_S))
        except Timeout:
            raise LocalAIError(f"{file.path} is being downloaded by another process",
                               hint="wait for it to finish, or stop it first") from None
        if blob.exists() and blob.stat().st_size == file.size:
            tracker.add_existing(file.size)
        else:
            partial = blob.with_name(file.etag + INCOMPLETE_SUFFIX)
            _fetch_into(client, repo_id, commit, file, partial, tracker, cancel, max_retries)
            os.replace(partial, blob)
        _link(blob, pointer)
    return pointer


class _PartialFile:
    """The ``.incomplete`` file being filled: its size on disk and the sha256 of those bytes, kept in step."""

    def __init__(self, path: Path, file: DownloadFile) -> None:
        self.path, self.file = path, file
        self.size = path.stat().st_size if path.exists() else 0
        if self.size > file.size:  # not this file's bytes
            path.unlink()
            self.size = 0
        self.hasher = hashlib.sha256() if file.sha256 else None
        self._fh: BinaryIO | None = None  # open between open() and close()

    def hash_kept(self, tracker: _Tracker, cancel: threading.Event) -> None:
        """Hash the bytes kept from an earlier attempt, so the final check covers the whole file."""
        if self.hasher is None or not self.size:
            return
        with open(self.path, "rb") as fh:
            while chunk := fh.read(8 * CHUNK_BYTES):
                if cancel.is_set():
                    raise _cancelled(self.file, self.size)
                self.hasher.update(chunk)
                tracker.report("checking")

    def open(self, restart: bool) -> None:
        if restart:
            self.size = 0
            self.hasher = hashlib.sha256() if self.file.sha256 else None
        self._fh = open(self.path, "wb" if restart else "ab")

    def append(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.file.size:
            raise DownloadIntegrityError(f"the Hub sent more than the {self.file.size} bytes listed for "
                                         f"{self.file.path}", hint="run the download again")
        if self._fh is None:
            raise RuntimeError("append() before open()")  # a bug in the caller, not a download failure
        self._fh.write(chunk)
        if self.hasher is not None:
            self.hasher.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def verify(self) -> None:
        """Size and sha256 as the Hub lists them; a mismatch deletes the file (its bytes are wrong)."""
        on_disk = self.path.stat().st_size
        if on_disk != self.file.size:
            self.path.unlink(missing_ok=True)
            raise DownloadIntegrityError(f"{self.file.path}: received {on_disk} bytes, the Hub lists {self.file.size}",
                                         hint="run the download again")
        if self.hasher is not None and self.hasher.hexdigest() != self.file.sha256:
            self.path.unlink(missing_ok=True)
            raise DownloadIntegrityError(f"{self.file.path}: the sha256 of the downloaded bytes does not match "
                                         "the Hub's", hint="the partial file was deleted; run the download again")


def _fetch_into(client: HubClient, repo_id: str, commit: str, file: DownloadFile, path: Path,
                tracker: _Tracker, cancel: threading.Event, max_retries: int) -> None:
    """Fill the partial file up to ``file.size`` bytes (resuming what it holds), then check size and sha256."""
    partial = _PartialFile(path, file)
    if partial.size:
        tracker.resume_from(partial.size)
        partial.hash_kept(tracker, cancel)
    url = client.file_url(repo_id, file.path, commit)
    failures = 0
    while partial.size < file.size:
        if cancel.is_set():
            raise _cancelled(file, partial.size)
        before = partial.size
        try:
            _receive(client, url, repo_id, partial, tracker, cancel)
        except (HubUnreachableError, HubTimeoutError, HubServerError):
            failures = 0 if partial.size > before else failures + 1
            if failures > max_retries:
                raise
            if cancel.wait(min(0.2 * 2 ** failures, 5.0)):
                raise _cancelled(file, partial.size) from None
    partial.verify()


def _receive(client: HubClient, url: str, repo_id: str, partial: _PartialFile, tracker: _Tracker,
             cancel: threading.Event) -> None:
    """One GET from the partial file's end on, appended as it arrives. Stops early on cancel."""
    file = partial.file
    byte_range = (partial.size, None) if partial.size else None
    with client.stream(url, byte_range=byte_range, repo_id=repo_id, path=file.path) as response:
        if response.status_code == 416:
            return
        restart = bool(partial.size) and response.status_code == 200  # the server ignored Range: start over
        if restart:
            tracker.restart_file()
        partial.open(restart)
        tracker.begin_transfer()
        try:
            for chunk in response.iter_bytes():  # as the network delivers: a dropped connection loses nothing
                if cancel.is_set():
                    raise _cancelled(file, partial.size)
                partial.append(chunk)
                tracker.add(len(chunk))
        finally:
            partial.close()


def _cancelled(file: DownloadFile, have: int) -> DownloadCancelled:
    return DownloadCancelled(f"download of {file.path} cancelled with {_human(have)} kept",
                             hint="run the same download again to resume")


def _link(blob: Path, pointer: Path) -> None:
    """``snapshots/<commit>/<path>`` -> ``blobs/<etag>`` as a relative symlink (moved there if links fail)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:  # no symlinks (Windows without developer mode): the cache keeps a copy, as huggingface_hub does
        shutil.copyfile(blob, pointer)


def _write_ref(repo_id: str, revision: str, commit: str) -> None:
    ref = repo_storage_dir(repo_id) / "refs" / Path(*revision.split("/"))
    try:
        ref.parent.mkdir(parents=True, exist_ok=True)
        if not ref.exists() or ref.read_text() != commit:
            ref.write_text(commit)
    except OSError:
        pass


def _check_disk_space(repo_id: str, files: list[DownloadFile]) -> None:
    need = sum(f.size for f in files) - kept_partial_bytes(repo_id, files)
    target = repo_storage_dir(repo_id)
    probe = target
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if need > free:
        raise LocalAIError(f"not enough disk space: the download needs {_human(need)}, {_human(free)} free at {probe}",
                           hint="free some space, or set HF_HUB_CACHE to a bigger disk")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class _Tracker:
    """Counts bytes and turns them into throttled ``DownloadProgress`` reports with rate and ETA."""

    def __init__(self, files: list[DownloadFile], callback: ProgressCallback | None) -> None:
        self.files = files
        self.callback = callback
        self.total = sum(f.size for f in files)
        self.done_before = 0  # bytes of the files before the current one
        self.index = 0
        self.file_done = 0
        self.resumed = 0
        self.transferred = 0  # bytes received over the network in this call
        self._samples: deque[tuple[float, int]] = deque()
        self._last_report = 0.0

    def start_file(self, index: int) -> None:
        self.index, self.file_done, self.resumed = index, 0, 0
        self.report("downloading", force=True)

    def resume_from(self, have: int) -> None:
        self.file_done = self.resumed = have

    def restart_file(self) -> None:
        self.file_done = self.resumed = 0

    def add_existing(self, n: int) -> None:
        self.file_done = n

    def add(self, n: int) -> None:
        self.file_done += n
        self.transferred += n
        self.report("downloading")

    def finish_file(self) -> None:
        self.file_done = self.files[self.index].size
        self.report("downloading", force=True)
        self.done_before += self.files[self.index].size
        self.file_done = 0

    def begin_transfer(self) -> None:
        """Bytes start to flow now: the rate counts from here, not from before the kept bytes were
        checked (after a resume that took seconds and read as a crawl: 304 KiB/s, ETA 12 min)."""
        self._samples.clear()
        self._samples.append((time.monotonic(), self.transferred))

    def rate(self, now: float) -> float:
        self._samples.append((now, self.transferred))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW_S:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        return (self.transferred - b0) / (now - t0) if now > t0 else 0.0

    def report(self, phase: str, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last_report < PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        done = min(self.total, self.done_before + self.file_done)
        rate = self.rate(now)
        eta = (self.total - done) / rate if rate > 0 else None
        file = self.files[min(self.index, len(self.files) - 1)]
        self.callback(DownloadProgress(phase, file.path, self.index, len(self.files), self.file_done, file.size,
                                       done, self.total, rate, eta, self.resumed))

