"""A repo's files and facts at one commit: one ``model_info(files_metadata=True)`` request.

The Hub answers with the commit sha, every file's size and LFS sha256 (``blobs=true``), the
gate, license, and its ``gguf`` summary (architecture, total parameters, context length).
Pinning everything that follows (header reads, downloads) to that commit sha means a repo
updated mid-way cannot mix files from two versions.

Listings are remembered on disk: offline, or when the Hub fails, the last one is used and
``stale_because`` says why.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.hub.client import HubClient
from tui.core.hub.errors import TRANSIENT_ERRORS, HubError
from tui.core.hub.listing_cache import load_listing, save_listing
from tui.core.hub.search import license_of

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class HubFile:
    """One file of a repo. ``sha256`` is the LFS oid (None for small files kept in git)."""

    path: str
    size: int  # bytes
    sha256: str | None = None
    blob_id: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RepoListing:
    """What the Hub says about a repo at ``commit``."""

    repo_id: str
    commit: str
    files: tuple[HubFile, ...]
    gated: str | bool = False
    private: bool = False
    license: str | None = None
    architecture: str | None = None  # from the Hub's gguf summary
    n_params: int | None = None  # ditto: total parameters
    context_length: int | None = None  # tokens
    last_modified: str | None = None
    fetched_at: float = field(default=0.0, compare=False)
    stale_because: HubError | None = field(default=None, compare=False)

    def file(self, path: str) -> HubFile | None:
        return next((f for f in self.files if f.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("stale_because")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepoListing:
        files = tuple(HubFile(**f) for f in data.get("files", ()))
        fields_: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__ if k not in ("files", "stale_because")}
        fields_["gated"] = fields_.get("gated") or False
        fields_["private"] = bool(fields_.get("private"))
        fields_["fetched_at"] = float(fields_.get("fetched_at") or 0.0)
        return cls(files=files, **fields_)


def check_repo_id(repo_id: str) -> str:
    """``OWNER/REPO`` as the Hub spells repo ids; anything else is one clear error."""
    repo_id = repo_id.strip().strip("/")
    if not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise LocalAIError(f"'{repo_id}' is not a Hub repo id", hint="write it as OWNER/REPO, e.g. unsloth/Qwen3-8B-GGUF")
    return repo_id


def fetch_repo_listing(repo_id: str, revision: str = "main", client: HubClient | None = None) -> RepoListing:
    """The repo's files at ``revision`` (a branch, tag or commit), from the Hub or, failing that, the cache."""
    repo_id = check_repo_id(repo_id)
    client = client or HubClient()
    key = f"{client.endpoint}|{repo_id}|{revision}"
    try:
        info = client.model_info(repo_id, revision=revision)
    except TRANSIENT_ERRORS as exc:
        cached = load_listing("repos", key)
        if cached is None:
            raise
        listing = RepoListing.from_dict(cached.data)
        return _replace_stale(listing, exc)
    listing = listing_from_model_info(info)
    save_listing("repos", key, listing.to_dict())
    if revision != listing.commit:  # a branch name: also remember it under the commit, for pinned lookups
        save_listing("repos", f"{client.endpoint}|{repo_id}|{listing.commit}", listing.to_dict())
    return listing


def listing_from_model_info(info: Any) -> RepoListing:
    """A ``RepoListing`` from huggingface_hub's ``ModelInfo`` (fetched with ``files_metadata=True``)."""
    if not info.sha:
        raise HubError(f"the Hub did not say which commit {info.id} is at", hint="check HF_ENDPOINT")
    files = tuple(
        HubFile(s.rfilename, int(s.lfs.size if s.lfs else (s.size or 0)), s.lfs.sha256 if s.lfs else None, s.blob_id)
        for s in (info.siblings or ())
    )
    gguf = info.gguf if isinstance(info.gguf, dict) else {}
    total = gguf.get("total")
    context = gguf.get("context_length")
    return RepoListing(
        repo_id=info.id,
        commit=info.sha,
        files=files,
        gated=info.gated if info.gated in ("auto", "manual") else False,
        private=bool(info.private),
        license=license_of(info),
        architecture=gguf.get("architecture") if isinstance(gguf.get("architecture"), str) else None,
        n_params=total if isinstance(total, int) and not isinstance(total, bool) else None,
        context_length=context if isinstance(context, int) and not isinstance(context, bool) else None,
        last_modified=info.last_modified.isoformat() if info.last_modified else None,
        fetched_at=time.time(),
    )


def _replace_stale(listing: RepoListing, reason: HubError) -> RepoListing:
    from dataclasses import replace

    return replace(listing, stale_because=reason)
