"""TOML in and out, in one place: the packaged rule tables (``tui/data/*.toml``) and the user's files.

The packaged tables are part of the program (llama.cpp's rules, the GPU catalog, quant labels):
a malformed one is a bug, so ``read_packaged_toml`` lets the parser's error through. The user's
files (``profiles.toml``, ``hardware.toml``, ``library.toml``) are read with ``read_toml``, which
turns a missing file into ``{}`` and a broken one into a ``LocalAIError`` that names it, and are
written with ``write_toml_atomically`` so that a crash never leaves half a file.

Python 3.10 has no ``tomllib``; ``tomli`` is the same parser under its own name (a dependency there).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from tui.core.errors import LocalAIError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

#: What the parser raises on malformed text.
TOMLDecodeError = tomllib.TOMLDecodeError

#: The folder in the ``tui`` package that holds the rule tables.
PACKAGED_DATA = "data"


def parse_toml(text: str) -> dict[str, Any]:
    """TOML text as nested dicts; malformed text raises ``TOMLDecodeError``."""
    return tomllib.loads(text)


def packaged_text(name: str) -> str:
    """The text of ``tui/data/<name>`` (inside the installed package, or the source tree)."""
    return resources.files("tui").joinpath(PACKAGED_DATA, name).read_text(encoding="utf-8")


def read_packaged_toml(name: str) -> dict[str, Any]:
    """``tui/data/<name>`` parsed (a malformed packaged table raises ``TOMLDecodeError``: it is a bug)."""
    return parse_toml(packaged_text(name))


def read_toml(path: Path) -> dict[str, Any]:
    """A user's TOML file ({} when it does not exist); unreadable or malformed -> ``LocalAIError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalAIError(f"cannot read {path}: {exc}") from None
    try:
        return parse_toml(text)
    except TOMLDecodeError as exc:
        raise LocalAIError(f"{path} is not valid TOML: {exc}",
                           hint="fix it or move it aside; localai-tui leaves it as it is") from None


def write_toml_atomically(path: Path, data: dict[str, Any], header: str = "") -> Path:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, never half of one.

    The previous file, if any, is kept as ``<name>.bak``.
    """
    import tomli_w

    text = header + tomli_w.dumps(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise LocalAIError(f"cannot write {path}: {exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp makes it 0600
        if path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise LocalAIError(f"cannot write {path}: {exc}") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
