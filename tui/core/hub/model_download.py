"""The one way a model is downloaded: every shard of the quant a spec names, optionally its projector.

``localai-tui download``, ``chat``/``bench`` with a Hub spec and the app's ``d`` key all come
here (the app through ``download_chosen``, with the commit its header was read at). Resolution
pins the repo's commit first (``resolve_hub_model``), so the shards all come from one version.
When the Hub cannot be asked (offline, no network, 5xx) but the model is already in the Hugging
Face cache, the cached copy is the answer: no download needed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from tui.core.errors import LocalAIError
from tui.core.hub.client import HubClient
from tui.core.hub.download import DownloadFile, DownloadResult, ProgressCallback, download_files
from tui.core.hub.errors import TRANSIENT_ERRORS
from tui.core.hub.model_ref import HubModelRef, ResolvedModel, best_mmproj, parse_hub_ref, resolve_hub_model
from tui.core.hub.model_spec import ChosenModel
from tui.core.hub.repo_listing import HubFile


@dataclass(frozen=True)
class ModelDownload:
    """The model's files in the cache (``model.path`` is what llama.cpp loads) and the projector, if asked."""

    spec: str
    model: DownloadResult
    mmproj: DownloadResult | None = None
    from_cache_only: bool = False  # the Hub could not be asked; the cached copy was used


def download_files_of(files: tuple[HubFile, ...]) -> list[DownloadFile]:
    return [DownloadFile(f.path, f.size, f.sha256, f.blob_id) for f in files]


def download_model(ref: HubModelRef, *, commit: str | None = None, with_mmproj: bool = False,
                   progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                   client: HubClient | None = None) -> ModelDownload:
    """Fetch the quant ``ref`` names into the HF cache (resuming kept partial files).

    ``commit`` pins the repo's version (the one a header was read at); without it, the newest
    commit of ``ref.revision``. The branch (``ref.revision``) is recorded to point at what came.
    """
    client = client or HubClient()
    try:
        resolved = resolve_hub_model(replace(ref, revision=commit) if commit else ref, client)
    except TRANSIENT_ERRORS:
        cached = _cached_copy(ref)
        if cached is None:
            raise
        return cached
    return download_resolved(resolved, ref.revision, with_mmproj=with_mmproj, progress=progress, cancel=cancel,
                             client=client)


def download_resolved(resolved: ResolvedModel, revision: str = "main", *, with_mmproj: bool = False,
                      progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                      client: HubClient | None = None) -> ModelDownload:
    files = download_files_of(resolved.group.files)
    side = best_mmproj(resolved.quants, resolved.group) if with_mmproj else None
    if side is not None:
        files.append(DownloadFile(side.file.path, side.file.size, side.file.sha256, side.file.blob_id))
    result = download_files(resolved.repo_id, resolved.commit, files, revision=revision, progress=progress,
                            cancel=cancel, client=client)
    n_model = len(resolved.group.files)
    model = DownloadResult(result.repo_id, result.commit, result.paths[:n_model], result.bytes_transferred,
                           result.bytes_total)
    mmproj = None
    if side is not None:
        mmproj = DownloadResult(result.repo_id, result.commit, result.paths[n_model:], 0, side.file.size)
    return ModelDownload(resolved.spec, model, mmproj)


def download_chosen(model: ChosenModel, *, with_mmproj: bool = False, progress: ProgressCallback | None = None,
                    cancel: threading.Event | None = None, client: HubClient | None = None) -> ChosenModel:
    """Download a model the app opened (``tui.core.hub.model_spec``); it comes back with ``local_path`` set.

    The download is ``download_model`` pinned to ``model.commit``, so the bytes fetched are the
    ones whose header was sized (their sha256 is checked).
    """
    ref = parse_hub_ref(model.spec) if model.repo_id else None
    if ref is None:
        raise LocalAIError(f"{model.title} does not name Hub files to download",
                           hint="open it from Browse, or give OWNER/REPO:LABEL")
    result = download_model(ref, commit=model.commit, with_mmproj=with_mmproj, progress=progress, cancel=cancel,
                            client=client)
    return model.downloaded_to(result.model.path)


def _cached_copy(ref: HubModelRef) -> ModelDownload | None:
    from tui.core.hub.library import find_cached_model

    local = find_cached_model(ref.repo_id, ref.label, ref.path)
    if local is None:
        return None
    paths = tuple(Path(p) for p in local.files)
    result = DownloadResult(ref.repo_id, local.commit or "", paths, 0, local.size_bytes)
    return ModelDownload(local.display_name, result, None, from_cache_only=True)
