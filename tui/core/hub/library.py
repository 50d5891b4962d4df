"""Models already on this machine: the Hugging Face cache and the user's own folders. Works offline.

Two places are looked at:

* the Hugging Face cache (``HF_HUB_CACHE``), through ``huggingface_hub.scan_cache_dir``: every
  GGUF file of every cached model repo, downloaded by this app, ``hf download``, llama.cpp's
  ``-hf`` or anything else using the standard cache;
* folders the user adds (``library.toml`` in the app's config dir), searched recursively.

Files are grouped like the Hub's (shards of one model together, side files apart) by the same
filename rules; each model's anatomy is read from its header on demand (``model_anatomy``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from tui.core.errors import LocalAIError
from tui.core.gguf.filenames import GgufFileName, parse_gguf_filename
from tui.core.paths import config_dir
from tui.core.toml_io import read_toml

if TYPE_CHECKING:
    from tui.core.gguf.anatomy import ModelAnatomy

LIBRARY_FILE = "library.toml"
SIDE_KINDS = ("mmproj", "mtp", "imatrix")
MAX_SCAN_DEPTH = 8  # folder levels searched below a library folder


@dataclass(frozen=True)
class LocalModel:
    """A model on disk: its shards (``path`` is the first, what llama.cpp loads), sizes in bytes."""

    path: Path
    files: tuple[Path, ...]
    size_bytes: int
    label: str | None
    source: str  # "hf-cache" or "folder"
    repo_id: str | None = None  # for the HF cache
    commit: str | None = None
    kind: str = "model"  # or "mmproj", "mtp", "imatrix"
    shard_count_expected: int | None = None

    @property
    def complete(self) -> bool:
        return self.shard_count_expected is None or self.shard_count_expected == len(self.files)

    @property
    def display_name(self) -> str:
        """``OWNER/REPO:LABEL`` for cached Hub files (the spec that finds them again), else the file name."""
        if self.repo_id and self.label:
            return f"{self.repo_id}:{self.label}"
        if self.repo_id:
            return f"{self.repo_id}/{self.path.name}"
        return self.path.name


@dataclass(frozen=True)
class Library:
    models: tuple[LocalModel, ...]
    side_files: tuple[LocalModel, ...]
    incomplete_bytes: int = 0  # kept partial downloads in the HF cache (resumable)
    problems: tuple[str, ...] = field(default_factory=tuple)  # folders that could not be read, and the like


# --- the folder list -------------------------------------------------------------------------------

def library_config_path() -> Path:
    return config_dir() / LIBRARY_FILE


def library_folders() -> list[Path]:
    """The user's model folders, as saved (``[library] folders = [...]`` in library.toml)."""
    data = read_toml(library_config_path())
    folders = data.get("library", {}).get("folders", []) if isinstance(data.get("library"), dict) else []
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise LocalAIError(f"{library_config_path()}: [library] folders must be a list of paths")
    return [Path(f) for f in folders]



# --- scanning --------------------------------------------------------------------------------------

#: A GGUF file found on disk: its parsed name, path, size (bytes), source ("hf-cache" | "folder"),
#: and for the Hugging Face cache its repo id and commit.
_Entry: TypeAlias = "tuple[GgufFileName, Path, int, str, str | None, str | None]"


def scan_library(folders: list[Path] | None = None, *, include_hf_cache: bool = True) -> Library:
    """Every GGUF model in the HF cache and in ``folders`` (default: the saved ones). No network."""
    folders = library_folders() if folders is None else folders
    entries: list[_Entry] = []
    problems: list[str] = []
    incomplete = 0
    if include_hf_cache:
        cached, incomplete, cache_problems = _hf_cache_entries()
        entries += cached
        problems += cache_problems
    seen = {e[1].resolve() for e in entries}
    for folder in folders:
        for parsed, path, size in _folder_entries(Path(folder), problems):
            if path.resolve() not in seen:
                seen.add(path.resolve())
                entries.append((parsed, path, size, "folder", None, None))
    models, sides = _group(entries)
    return Library(tuple(models), tuple(sides), incomplete, tuple(problems))


def _hf_cache_entries() -> tuple[list[_Entry], int, list[str]]:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    from tui.core.hub.client import cache_hub_dir

    try:
        info = scan_cache_dir(cache_hub_dir())
    except CacheNotFound:
        return [], 0, []
    except OSError as exc:
        return [], 0, [f"cannot read the Hugging Face cache: {exc}"]
    entries: list[_Entry] = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        seen: set[str] = set()
        # the revision "main" points at first, then the newest: one copy of each file
        revisions = sorted(repo.revisions, key=lambda r: ("main" not in r.refs, -r.last_modified))
        for revision in revisions:
            for file in revision.files:
                rel = file.file_path.relative_to(revision.snapshot_path).as_posix()
                if rel in seen or not _is_gguf_like(rel):
                    continue
                seen.add(rel)
                entries.append((parse_gguf_filename(rel), file.file_path, file.size_on_disk, "hf-cache",
                                repo.repo_id, revision.commit_hash))
    incomplete = sum(f.size_on_disk for f in getattr(info, "incomplete_files", ()) or ())
    return entries, incomplete, [str(w) for w in info.warnings]


def _folder_entries(folder: Path, problems: list[str]) -> Iterator[tuple[GgufFileName, Path, int]]:
    if not folder.is_dir():
        problems.append(f"library folder not found: {folder}")
        return
    base_depth = len(folder.parts)
    for root, dirs, files in os.walk(folder, onerror=lambda e: problems.append(f"cannot read {e.filename}")):
        if len(Path(root).parts) - base_depth >= MAX_SCAN_DEPTH:
            dirs.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if not _is_gguf_like(name) or not path.is_file():
                continue
            rel = path.relative_to(folder).as_posix()
            yield parse_gguf_filename(rel), path, path.stat().st_size


def _is_gguf_like(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(".gguf") or ".gguf.part" in lower or ".gguf-split-" in lower


def _group(entries: list[_Entry]) -> tuple[list[LocalModel], list[LocalModel]]:
    buckets: dict[tuple[str, str | None, str | None, str, str, str], list[tuple[GgufFileName, Path, int]]] = {}
    for parsed, path, size, source, repo_id, commit in entries:
        root = path.parent if not parsed.folder else path.parents[len(parsed.folder.split("/"))]
        key = (source, repo_id, commit, str(root), parsed.kind, parsed.group_key)
        buckets.setdefault(key, []).append((parsed, path, size))
    models: list[LocalModel] = []
    sides: list[LocalModel] = []
    for (source, repo_id, commit, _root, kind, _group_key), members in buckets.items():
        members.sort(key=lambda m: (m[0].shard_index or 0, str(m[1])))
        first = members[0][0]
        model = LocalModel(members[0][1], tuple(m[1] for m in members), sum(m[2] for m in members), first.label,
                           source, repo_id, commit, kind, first.shard_count)
        (sides if kind in SIDE_KINDS else models).append(model)
    models.sort(key=lambda m: (m.display_name.lower(), str(m.path)))
    sides.sort(key=lambda m: str(m.path))
    return models, sides


def model_anatomy(model: LocalModel) -> ModelAnatomy:
    """The model's anatomy, read from its header(s) on disk."""
    from tui.core.gguf.anatomy import load_anatomy

    if not model.complete:
        raise LocalAIError(f"{model.display_name} is missing shards ({len(model.files)} of {model.shard_count_expected})")
    return load_anatomy(model.path)


def find_cached_model(repo_id: str, label: str | None = None, path: str | None = None) -> LocalModel | None:
    """A cached Hub model by ``OWNER/REPO:LABEL`` or ``OWNER/REPO/PATH``, without the network."""
    from tui.core.gguf.labels import lookup_label

    wanted = lookup_label(label) if label else None
    for model in scan_library([], include_hf_cache=True).models:
        if model.repo_id != repo_id:
            continue
        if path is not None:
            cache_rel = [f.as_posix().split(f"/snapshots/{model.commit}/", 1)[-1] for f in model.files]
            if path in cache_rel:
                return model
        elif label is not None and model.label:
            found = lookup_label(model.label)
            if model.label.lower() == label.lower() or (wanted and found and found.label == wanted.label):
                return model
    return None
