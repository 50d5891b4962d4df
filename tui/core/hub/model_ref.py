"""Hub model specs as people type them, and the files they mean.

Accepted (llama.cpp's ``-hf`` syntax and the Hub's own URLs):

* ``OWNER/REPO:LABEL``: one quant (``unsloth/Qwen3-8B-GGUF:UD-Q4_K_XL``; the label in any case);
* ``OWNER/REPO``: llama.cpp's default: Q4_K_M, else Q8_0, else the first model file;
* ``OWNER/REPO/PATH.gguf``: one file by its path in the repo (any shard of a split model);
* the same behind ``hf.co/``, ``huggingface.co/`` or ``https://huggingface.co/``, and file URLs
  ``https://huggingface.co/OWNER/REPO/blob/REV/PATH.gguf`` (``/resolve/`` too).

``resolve_hub_model`` turns a spec into the quant row to read or download, pinned to the
repo's current commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.core.errors import LocalAIError
from tui.core.hub.client import HubClient
from tui.core.hub.repo_files import QuantGroup, RepoQuants, SideFile, group_repo_files
from tui.core.hub.repo_listing import check_repo_id, fetch_repo_listing

#: llama.cpp's default quants for a spec without a label (common/download.cpp, find_best_model).
DEFAULT_LABELS = ("Q4_K_M", "Q8_0")

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/", re.IGNORECASE)
_FILE_URL = re.compile(rf"^(?P<repo>{_NAME}/{_NAME})/(?:blob|resolve)/(?P<rev>[^/]+)/(?P<path>.+?)(?:\?.*)?$")
_WITH_LABEL = re.compile(rf"^(?P<repo>{_NAME}/{_NAME})(?::(?P<label>[A-Za-z0-9._-]+))?$")
_WITH_PATH = re.compile(rf"^(?P<repo>{_NAME}/{_NAME})/(?P<path>[^:]+\.gguf)$", re.IGNORECASE)


@dataclass(frozen=True)
class HubModelRef:
    """A model on the Hub: a repo and either a label, a file path, or neither (the default quant)."""

    repo_id: str
    label: str | None = None
    path: str | None = None
    revision: str = "main"

    def __str__(self) -> str:
        if self.path:
            return f"{self.repo_id}/{self.path}"
        return f"{self.repo_id}:{self.label}" if self.label else self.repo_id


def parse_hub_ref(text: str, *, allow_bare_repo: bool = True) -> HubModelRef | None:
    """The Hub model ``text`` names, or None when it is not written like one (a local path, say)."""
    spec = text.strip()
    had_prefix = bool(_URL_PREFIX.match(spec))
    spec = _URL_PREFIX.sub("", spec)
    if not spec or spec.startswith(("/", ".", "~")) or "\\" in spec:
        return None
    match = _FILE_URL.match(spec)
    if match:
        return _checked(HubModelRef(match["repo"], path=match["path"], revision=match["rev"]))
    match = _WITH_PATH.match(spec)
    if match:
        return _checked(HubModelRef(match["repo"], path=match["path"]))
    match = _WITH_LABEL.match(spec)
    if match and (match["label"] or allow_bare_repo or had_prefix):
        return _checked(HubModelRef(match["repo"], label=match["label"]))
    return None


def _checked(ref: HubModelRef) -> HubModelRef | None:
    if ref.path is not None and any(part in ("", ".", "..") for part in ref.path.split("/")):
        return None
    try:
        check_repo_id(ref.repo_id)
    except LocalAIError:
        return None
    return ref


def require_hub_ref(text: str) -> HubModelRef:
    ref = parse_hub_ref(text)
    if ref is None:
        raise LocalAIError(f"'{text.strip()}' is not a Hub model",
                           hint="write OWNER/REPO:LABEL (e.g. unsloth/Qwen3-8B-GGUF:Q4_K_M) or OWNER/REPO/FILE.gguf")
    return ref


@dataclass(frozen=True)
class ResolvedModel:
    """The quant row a spec names, with the repo it was found in (pinned to ``commit``)."""

    ref: HubModelRef
    quants: RepoQuants
    group: QuantGroup

    @property
    def repo_id(self) -> str:
        return self.quants.repo_id

    @property
    def commit(self) -> str:
        return self.quants.listing.commit

    @property
    def spec(self) -> str:
        """The spec that names this row exactly (label when it has one, else the file)."""
        if self.group.label:
            return f"{self.repo_id}:{self.group.label}"
        return f"{self.repo_id}/{self.group.first_path}"


def resolve_hub_model(ref: HubModelRef, client: HubClient | None = None) -> ResolvedModel:
    """Fetch the repo's file list and pick the row ``ref`` names; one clear error when there is none."""
    listing = fetch_repo_listing(ref.repo_id, ref.revision, client)
    quants = group_repo_files(listing)
    return ResolvedModel(ref, quants, pick_group(quants, ref))


def pick_group(quants: RepoQuants, ref: HubModelRef) -> QuantGroup:
    """The row for ``ref`` in ``quants`` (file path, label, or llama.cpp's default)."""
    if not quants.groups:
        sides = f" (only side files: {', '.join(s.path for s in quants.side_files)})" if quants.side_files else ""
        raise LocalAIError(f"{quants.repo_id} has no GGUF model files{sides}",
                           hint="search GGUF repos with `localai-tui search`")
    if ref.path:
        group = quants.group_for_path(ref.path)
        if group is None:
            side = next((s for s in quants.side_files if s.path == ref.path), None)
            if side is not None:
                raise LocalAIError(f"{ref.path} is a {_side_kind_name(side)}, not a model",
                                   hint=f"it goes with: {', '.join(side.serves) or 'the models of the repo'}")
            raise LocalAIError(f"no file {ref.path} in {quants.repo_id}",
                               hint=f"list its files with `localai-tui files {quants.repo_id}`")
    elif ref.label:
        group = quants.find(ref.label)
    else:
        group = next((g for label in DEFAULT_LABELS if (g := quants.lookup(label)) is not None), None)
        if group is None:
            group = min(quants.groups, key=lambda g: g.first_path)
    if not group.complete:
        raise LocalAIError(f"{quants.repo_id}: {group.name} is split in {group.shard_count_expected} files but the repo "
                           f"has {group.shards}", hint="the upload looks incomplete; pick another label")
    return group


def best_mmproj(quants: RepoQuants, group: QuantGroup) -> SideFile | None:
    """The vision projector for ``group``: among those serving it, the closest in precision (F16 first)."""
    candidates = [s for s in quants.side_files_for(group) if s.kind == "mmproj"]
    if not candidates:
        return None
    preference = {"F16": 0, "BF16": 1, "F32": 2, "Q8_0": 3}
    return min(candidates, key=lambda s: (preference.get((s.label or "").upper(), 9), s.path))


def _side_kind_name(side: SideFile) -> str:
    return {"mmproj": "vision projector (mmproj)", "mtp": "multi-token-prediction head (mtp)",
            "imatrix": "importance matrix"}.get(side.kind, side.kind)
