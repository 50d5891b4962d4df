"""The one guard for names that come from the Hub before they become parts of a path on disk.

A listing is data from a server: a file path such as ``../../.bashrc``, a blob id or an LFS
sha256 of ``../x``, a repo id or a revision with ``..`` would otherwise steer where the cache
writes (``<HF_HUB_CACHE>/models--owner--repo/blobs/<etag>``, ``snapshots/<commit>/<path>``,
``refs/<revision>``, the header cache). Every such name passes one of these checks first; each
failure is one ``UnsafeHubName`` (a ``LocalAIError``) naming what was refused, with its
control characters shown, never sent. ``inside`` is the last line of defence: the final path,
resolved, must lie under the directory it was built from.
"""

from __future__ import annotations

import re
from pathlib import Path

from tui.core.errors import LocalAIError
from tui.core.safe_text import one_line

#: ``OWNER/REPO`` as the Hub spells repo ids (huggingface_hub's REPO_ID_REGEX, one slash required).
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
#: A git commit id: sha1 (40 hex) or sha256 (64 hex).
_COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
#: The name of a blob in the cache: an LFS sha256 (64 hex) or a git blob id (40 hex).
_ETAG = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_PATH_CHARS = 1000  # the Hub's own limit on a file path is lower; nothing longer is a real file
MAX_REVISION_CHARS = 256


class UnsafeHubName(LocalAIError):
    """A name from the Hub that cannot safely become part of a path (traversal, absolute, controls)."""


def _refuse(what: str, value: str) -> UnsafeHubName:
    shown = one_line(value if len(value) <= 120 else value[:117] + "...")
    return UnsafeHubName(f"the Hub gave an unsafe {what} '{shown}'; nothing was written",
                         hint="the repo or the server (HF_ENDPOINT) is not trustworthy")


def check_repo_id(repo_id: str) -> str:
    """``OWNER/REPO`` or ``UnsafeHubName`` (``..``, ``--`` that would merge names in the cache, controls)."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise _refuse("repo id", str(repo_id))
    return repo_id


def check_repo_path(path: str) -> str:
    """A file path inside a repo: relative, ``/``-separated, no empty, ``.`` or ``..`` part, no controls."""
    if (not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS or "\\" in path
            or _CONTROL.search(path) or path.startswith("/")
            or any(part in ("", ".", "..") for part in path.split("/"))
            or re.match(r"^[A-Za-z]:", path)):
        raise _refuse("file path", str(path))
    return path


def check_commit(commit: str) -> str:
    """A commit id (40 or 64 lower-case hex)."""
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise _refuse("commit id", str(commit))
    return commit


def check_etag(etag: str) -> str:
    """A blob's name in the cache: an LFS sha256 or a git blob id (hex)."""
    if not isinstance(etag, str) or not _ETAG.match(etag):
        raise _refuse("file checksum", str(etag))
    return etag


def check_revision(revision: str) -> str:
    """A branch or tag name as stored under ``refs/`` (``main``, ``v1.0``, ``refs/pr/1``)."""
    if (not isinstance(revision, str) or not revision or len(revision) > MAX_REVISION_CHARS
            or "\\" in revision or _CONTROL.search(revision) or revision.startswith("/")
            or any(part in ("", ".", "..") for part in revision.split("/"))):
        raise _refuse("revision", str(revision))
    return revision


def is_safe_repo_path(path: str) -> bool:
    try:
        check_repo_path(path)
    except UnsafeHubName:
        return False
    return True


def inside(root: Path, path: Path) -> Path:
    """``path`` if, with symlinks and ``..`` resolved, it lies under ``root``; else ``UnsafeHubName``.

    The parts were already checked; this catches what checking names cannot, e.g. a directory
    of the cache replaced by a symlink that points elsewhere.
    """
    base = root.resolve()
    target = path.parent.resolve() / path.name
    if target != base and base not in target.parents:
        raise _refuse("location", str(path))
    return path
