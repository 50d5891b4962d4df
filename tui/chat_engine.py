"""The chat's loaded engine and what it was loaded with: one owner for the load/close life cycle.

The load runs in a worker thread (``load``: blocking, closes the previous engine first, returns
a ``LoadedEngine``); only the UI thread adopts the result (``adopt``), so no thread assigns the
screen's state behind its back. ``cancel`` reaches llama.cpp's progress callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.session import ChosenModel


@dataclass(frozen=True)
class LoadedEngine:
    model: ChosenModel
    settings: Any  # LlamaSettings
    engine: Any    # tui.core.engine.runtime.Engine


class EngineHolder:
    """Holds at most one engine. ``loading`` while a load runs; ``fraction`` is its progress (0..1)."""

    def __init__(self, load_engine: Callable[..., Any]) -> None:
        self._load_engine = load_engine
        self.current: LoadedEngine | None = None
        self.cancel: threading.Event | None = None
        self.fraction = 0.0

    @property
    def engine(self) -> Any:
        return self.current.engine if self.current is not None else None

    @property
    def loading(self) -> bool:
        return self.cancel is not None

    def start(self) -> threading.Event:
        """A load is about to start (UI thread): the cancel event the worker and the key share."""
        self.cancel = threading.Event()
        self.fraction = 0.0
        return self.cancel

    def load(self, model: ChosenModel, settings: Any, cancel: threading.Event) -> LoadedEngine:
        """Blocking (worker thread): free the old engine, then load ``model`` with ``settings``."""
        old, self.current = self.current, None
        if old is not None:
            old.engine.close()

        def progress(fraction: float) -> None:
            self.fraction = fraction  # read by the UI's timer

        engine = self._load_engine(model.local_path, settings, on_progress=progress, cancel=cancel)
        return LoadedEngine(model, settings, engine)

    def adopt(self, loaded: LoadedEngine) -> None:
        """The load finished (UI thread)."""
        self.current = loaded
        self.cancel = None

    def failed(self) -> None:
        self.cancel = None

    def cancel_load(self) -> None:
        if self.cancel is not None:
            self.cancel.set()

    def close(self) -> None:
        if self.current is not None:
            self.current.engine.close()
            self.current = None
