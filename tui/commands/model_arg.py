"""The MODEL argument of ``inspect``, ``fit``, ``chat`` and ``bench``: from what a person typed to an anatomy.

MODEL is a local ``.gguf`` file (any shard of a split model), or a model on the Hugging Face
Hub: ``owner/repo:Q4_K_M``, ``owner/repo`` or ``owner/repo/path.gguf``; a Hub spec is parsed by
``tui.core.hub.model_ref`` and only its header is read (``tui.core.hub.remote_header``).
"""

from __future__ import annotations

from pathlib import Path

from tui.core.errors import LocalAIError
from tui.core.gguf.anatomy import ModelAnatomy

#: How a local path starts or ends, even when it does not exist (so "no such file" is the answer).
_LOCAL_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")
_GGUF_SUFFIX = ".gguf"


def load_model_anatomy(spec: str) -> ModelAnatomy:
    """The anatomy of the model ``spec`` names; a ``LocalAIError`` with one clear line if it cannot be read."""
    spec = spec.strip()
    if not spec:
        raise LocalAIError("no model given", hint="pass a .gguf file")
    local = local_model_path(spec)
    if local is not None:
        return load_local_anatomy(local)
    return _load_remote_anatomy(spec)


def local_model_path(spec: str) -> Path | None:
    """``spec`` as a local path when it names one (it exists, ends in .gguf, or starts like a path).

    A missing ``OWNER/REPO/PATH.gguf`` is a file on the Hub, not a local path.
    """
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(_LOCAL_PREFIXES):
        return path
    if spec.lower().endswith(_GGUF_SUFFIX):
        return None if _names_hub_file(spec) else path
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


# --- remote model specs on the Hugging Face Hub (tui.core.hub) ----------------------------------------
# ``OWNER/REPO:LABEL``, ``OWNER/REPO``, ``OWNER/REPO/PATH.gguf`` and hf.co URLs; only the GGUF header is
# read, with HTTP range requests cached on disk (tui.core.hub.remote_header). A spec that exists on
# disk is always the local file.


def _names_hub_file(spec: str) -> bool:
    """``OWNER/REPO/PATH.gguf`` (or an hf.co file URL) that is not a file here: a file on the Hub."""
    from tui.core.hub.model_ref import parse_hub_ref

    ref = parse_hub_ref(spec, allow_bare_repo=False)
    return ref is not None and ref.path is not None


def _load_remote_anatomy(spec: str) -> ModelAnatomy:
    from tui.core.hub.errors import HubNotFoundError
    from tui.core.hub.model_ref import parse_hub_ref
    from tui.core.hub.remote_header import read_hub_model_anatomy

    ref = parse_hub_ref(spec)
    if ref is None:
        raise LocalAIError(f"no such file: {spec}",
                           hint="give the path of a .gguf file, or OWNER/REPO:LABEL for a model on the Hugging Face Hub")
    try:
        return read_hub_model_anatomy(ref).anatomy
    except HubNotFoundError as exc:
        if ref.path and not spec.lower().startswith(("hf.co/", "huggingface.co/", "http")):
            raise LocalAIError(f"no such file: {spec} (and not on the Hub: {exc.message})", hint=exc.hint) from None
        raise
