"""MODEL, as typed on the command line, to the local GGUF file the engine loads.

A local path (any shard of a split model: llama.cpp finds the others itself), or a Hub spec
such as ``owner/repo:Q4_K_M`` already in the Hugging Face cache. Downloading is the caller's
job (it needs progress and cancel): see tui.commands.download.fetch_model.
"""

from __future__ import annotations

from pathlib import Path

from tui.core.engine.errors import ModelFileNotFoundError
from tui.core.safe_text import one_line


def resolve_model_file(spec: str) -> Path:
    """The GGUF file ``spec`` names; ``ModelFileNotFoundError`` with one clear line otherwise."""
    text = spec.strip()
    if not text:
        raise ModelFileNotFoundError("no model given", hint="pass a .gguf file")
    path = Path(text).expanduser()
    if path.is_file():
        return first_shard(path)
    from tui.core.hub.model_spec import local_model_path

    if path.exists() or local_model_path(text) is not None:
        check_local_file(path)  # a folder, a device, or a path that is not there: say which
    return _resolve_remote(text)


def check_local_file(path: Path) -> None:
    """A local model path that can be read as a file; else one error saying what it is instead."""
    if path.is_dir():
        raise directory_error(path)
    if path.exists() and not path.is_file():
        raise ModelFileNotFoundError(f"{one_line(path)} is not a regular file (a device, pipe or socket)",
                                     hint="give the path of a .gguf file")
    if not path.exists():
        raise ModelFileNotFoundError(f"no such file: {one_line(path)}", hint=_did_you_mean(path))


def _did_you_mean(path: Path) -> str:
    """The closest .gguf names in the folder the path points into (a typo, a different case)."""
    import difflib

    folder = path.parent if str(path.parent) else Path(".")
    try:
        names = [p.name for p in folder.iterdir() if p.name.lower().endswith(".gguf")] if folder.is_dir() else []
    except OSError:
        names = []
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    if close:
        return f"did you mean {', '.join(one_line(folder / name) for name in close)}?"
    if not folder.is_dir():
        return f"there is no folder {one_line(folder)}"
    return "give the path of a .gguf file, or OWNER/REPO:LABEL for a model on the Hub"


def directory_error(path: Path) -> ModelFileNotFoundError:
    """A folder given where a GGUF file belongs; the hint names the GGUF files it holds."""
    ggufs = sorted(p.name for p in path.glob("*.gguf"))
    hint = f"it holds {', '.join(ggufs[:5])}{' ...' if len(ggufs) > 5 else ''}" if ggufs else "give a .gguf file"
    return ModelFileNotFoundError(f"{path} is a directory, not a GGUF file", hint=hint)


def first_shard(path: Path) -> Path:
    """llama.cpp opens a split model from its first shard (``-00001-of-N``) and finds the rest itself."""
    from tui.core.gguf.split import shard_paths

    first = shard_paths(path)[0]
    if first != path and not first.is_file():
        raise ModelFileNotFoundError(f"{path.name} is part of a split model whose first shard is missing: {first}")
    return first


def _resolve_remote(spec: str) -> Path:
    """A Hub spec (``OWNER/REPO:LABEL``) already in the Hugging Face cache: its first shard.

    Nothing is downloaded here (that needs progress and cancel: tui.core.hub.model_download);
    a spec not yet downloaded says how to get it.
    """
    from tui.core.hub.library import find_cached_model
    from tui.core.hub.model_ref import parse_hub_ref

    ref = parse_hub_ref(spec)
    if ref is None:
        raise ModelFileNotFoundError(f"model file not found: {spec}", hint="give the path of a .gguf file")
    cached = find_cached_model(ref.repo_id, ref.label, ref.path)
    if cached is None or not cached.complete:
        raise ModelFileNotFoundError(f"{spec} is not downloaded yet", hint=f"run: localai-tui download {spec}")
    return first_shard(Path(cached.path))
