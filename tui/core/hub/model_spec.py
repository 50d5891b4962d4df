"""Opening a model by what a person typed: the one resolver the CLI and the app share.

A spec is a local ``.gguf`` file (any shard of a split model), or a model on the Hugging Face
Hub: ``OWNER/REPO:LABEL``, ``OWNER/REPO`` (llama.cpp's default quant) or ``OWNER/REPO/PATH.gguf``
(``tui.core.hub.model_ref`` parses them). ``open_model_spec`` reads only headers: a local file's
from disk, a Hub model's over HTTP ranges (cached on disk), so it answers "will it fit?" before
anything is downloaded. Every failure is a ``LocalAIError`` with one line, the same words for
``localai-tui fit BAD`` and the app's open box.

``ChosenModel`` is what comes back: the anatomy plus where the file lives (or will live), so a
Hub model can be downloaded later exactly as its header was read (commit and files pinned).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tui.core.errors import LocalAIError
from tui.core.fit.projector import ProjectorSize
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hub.client import HubClient
from tui.core.hub.repo_files import QuantGroup, RepoQuants
from tui.core.hub.repo_listing import HubFile

#: How a local path starts, even when it does not exist (so "no such file" is the answer).
_LOCAL_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")
_GGUF_SUFFIX = ".gguf"
_URL_PREFIXES = ("hf.co/", "huggingface.co/", "http")
_SPEC_HINT = "give the path of a .gguf file, or OWNER/REPO:LABEL for a model on the Hugging Face Hub"


@dataclass(frozen=True)
class ChosenModel:
    """A GGUF model with its anatomy already read from the header, and where its file is.

    ``local_path`` is set once the file is on disk (chat needs it); a Hub model has ``repo_id``,
    ``filename`` (the first shard for split models), ``commit`` and ``files`` (every shard's
    ``HubFile``: path, size, sha256), so a download fetches exactly the bytes that were sized.
    """

    spec: str  # what names it: a path, OWNER/REPO:LABEL or OWNER/REPO/FILE.gguf
    anatomy: ModelAnatomy
    local_path: Path | None = None
    repo_id: str | None = None
    filename: str | None = None
    label: str | None = None  # quant label, e.g. Q4_K_M
    commit: str | None = None  # the Hub commit the header was read at (downloads pin to it)
    files: tuple[HubFile, ...] = ()  # the Hub files of every shard, in order: what a download fetches
    projector: ProjectorSize | None = None  # a vision model's mmproj, counted in the fit (tui/core/fit/projector.py)
    projector_file: HubFile | None = None  # its Hub file, downloaded with the model

    @property
    def title(self) -> str:
        """A short name for headers: ``owner/repo Q4_K_M`` or the file name."""
        if self.repo_id:
            return f"{self.repo_id} {self.label or self.filename or ''}".strip()
        if self.local_path is not None:
            return self.local_path.name
        return self.spec

    @property
    def settings_key(self) -> str:
        """Which remembered settings are this model's (``tui.core.fit.model_settings.model_key``):
        the file's name and size, the same for a Hub pick, its download and a local copy."""
        from tui.core.fit.model_settings import model_key

        name = self.filename or (self.local_path.name if self.local_path is not None else self.spec)
        return model_key(name, self.anatomy.file_size or self.anatomy.tensor_bytes)

    @property
    def is_local(self) -> bool:
        return self.local_path is not None and self.local_path.exists()

    def downloaded_to(self, path: Path) -> ChosenModel:
        return replace(self, local_path=path)

    def server_model_arg(self) -> tuple[str, str]:
        """How ``llama-server`` is told to load it: ``(path, "path")`` once on disk, else ``(OWNER/REPO[:LABEL],
        "hf")`` for ``-hf`` (``tui.core.fit.llama_args.llama_server_command``'s ``source``)."""
        if self.local_path is not None:
            return str(self.local_path), "path"
        if self.repo_id:
            return (f"{self.repo_id}:{self.label}" if self.label else self.repo_id), "hf"
        return self.spec, "path"


def open_model_spec(spec: str, *, client: HubClient | None = None) -> ChosenModel:
    """The model ``spec`` names, its header read; a ``LocalAIError`` with one clear line if it cannot be.

    A Hub model already in the Hugging Face cache comes back with ``local_path`` set; when the Hub
    cannot be asked, a downloaded copy answers on its own.
    """
    text = spec.strip()
    if not text:
        raise LocalAIError("no model given", hint=_SPEC_HINT)
    local = local_model_path(text)
    if local is not None:
        return ChosenModel(spec=text, anatomy=load_local_anatomy(local), local_path=local.resolve(),
                           projector=local_projector(local))
    return _open_hub_model(text, client)


def load_model_anatomy(spec: str, *, client: HubClient | None = None) -> ModelAnatomy:
    """Just the anatomy of what ``spec`` names (``inspect``, ``fit``, ``compare``)."""
    return open_model_spec(spec, client=client).anatomy


def local_model_path(spec: str) -> Path | None:
    """``spec`` as a local path when it names one (it exists, ends in .gguf, or starts like a path).

    A missing ``OWNER/REPO/PATH.gguf`` is a file on the Hub, not a local path.
    """
    from tui.core.hub.model_ref import parse_hub_ref

    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(_LOCAL_PREFIXES):
        return path
    if spec.lower().endswith(_GGUF_SUFFIX):
        ref = parse_hub_ref(spec, allow_bare_repo=False)
        return None if ref is not None and ref.path is not None else path
    return None


def load_local_anatomy(path: Path) -> ModelAnatomy:
    """Read a local GGUF file's header (and its sibling shards' headers for a split model)."""
    from tui.core.engine.model_file import directory_error
    from tui.core.gguf.anatomy import load_anatomy

    if not path.exists():
        raise LocalAIError(f"no such file: {path}")
    if path.is_dir():
        raise directory_error(path)
    return load_anatomy(path)


def model_from_group(quants: RepoQuants, group: QuantGroup, *, client: HubClient | None = None) -> ChosenModel:
    """A quant row of a listed repo (Browse, the Advisor), its header(s) read over HTTP ranges (cached on disk)."""
    from tui.core.hub.projector import projector_for_model
    from tui.core.hub.remote_header import read_group_anatomy

    listing = quants.listing
    anatomy, _ = read_group_anatomy(listing.repo_id, listing.commit, group.files, client=client)
    spec = f"{listing.repo_id}:{group.label}" if group.label else f"{listing.repo_id}/{group.first_path}"
    projector, projector_file = projector_for_model(quants, group, client=client)
    return ChosenModel(spec=spec, anatomy=anatomy, repo_id=listing.repo_id, filename=group.first_path,
                       label=group.label, commit=listing.commit, files=tuple(group.files),
                       local_path=downloaded_copy(listing.repo_id, group.first_path),
                       projector=projector, projector_file=projector_file)


def local_projector(model_path: Path) -> ProjectorSize | None:
    """The projector beside a local model file, if one is there and readable."""
    from tui.core.fit.projector import projector_next_to, read_local_projector

    found = projector_next_to(model_path) if model_path.is_file() else None
    if found is None:
        return None
    try:
        return read_local_projector(found)
    except LocalAIError:
        return None


def downloaded_copy(repo_id: str, first_path: str) -> Path | None:
    """The first shard of a Hub file already complete in the Hugging Face cache (any commit), else None."""
    from tui.core.hub.library import find_cached_model

    cached = find_cached_model(repo_id, path=first_path)
    return cached.path if cached is not None and cached.complete else None


def _open_hub_model(spec: str, client: HubClient | None) -> ChosenModel:
    from tui.core.hub.errors import HubNotFoundError
    from tui.core.hub.library import find_cached_model
    from tui.core.hub.model_ref import parse_hub_ref
    from tui.core.hub.remote_header import read_hub_model_anatomy

    ref = parse_hub_ref(spec)
    if ref is None:
        raise LocalAIError(f"no such file: {spec}", hint=_SPEC_HINT)
    try:
        found = read_hub_model_anatomy(ref, client=client)
    except HubNotFoundError as exc:
        if ref.path and not spec.lower().startswith(_URL_PREFIXES):
            raise LocalAIError(f"no such file: {spec} (and not on the Hub: {exc.message})", hint=exc.hint) from None
        raise
    resolved = found.resolved
    if resolved is None:  # the Hub is unreachable and a downloaded copy stood in
        cached = find_cached_model(ref.repo_id, ref.label, ref.path)
        return ChosenModel(spec=spec, anatomy=found.anatomy, local_path=cached.path if cached else None,
                           repo_id=ref.repo_id, label=ref.label, filename=cached.path.name if cached else None)
    from tui.core.hub.projector import projector_for_model

    group = resolved.group
    projector, projector_file = projector_for_model(resolved.quants, group, client=client)
    return ChosenModel(spec=resolved.spec, anatomy=found.anatomy, repo_id=resolved.repo_id,
                       filename=group.first_path, label=group.label, commit=resolved.commit,
                       files=tuple(group.files), local_path=downloaded_copy(resolved.repo_id, group.first_path),
                       projector=projector, projector_file=projector_file)
