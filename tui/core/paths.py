"""Where the app keeps its files, from platformdirs (XDG on Linux, so tests can redirect them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from platformdirs import PlatformDirs

APP_NAME = "localai-tui"


def _dirs() -> PlatformDirs:
    from platformdirs import PlatformDirs

    return PlatformDirs(APP_NAME, appauthor=False)


def config_dir() -> Path:
    """Profiles and settings (``~/.config/localai-tui``)."""
    return Path(_dirs().user_config_dir)


def cache_dir() -> Path:
    """Remote GGUF headers and Hub listings (``~/.cache/localai-tui``)."""
    return Path(_dirs().user_cache_dir)


def data_dir() -> Path:
    """What the app keeps and measured: saved conversations and exports, speed calibration, bench runs
    (``~/.local/share/localai-tui``)."""
    return Path(_dirs().user_data_dir)


def log_dir() -> Path:
    """llama.cpp's log and the app's own (``~/.local/state/localai-tui/log``)."""
    return Path(_dirs().user_log_dir)


def default_log_file() -> Path:
    return log_dir() / "localai-tui.log"
