"""Events the screens post when something has happened, named in the past tense.

Workers compute in threads and their results arrive as ``Worker.StateChanged``; the screen
that owns the worker turns a result into one of these, never one message per token. No screen or
the app handles them today; the tests observe them to know when a reply finished or an
estimate changed.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ModelLoaded(Message):
    """The chat engine holds the model; ``info`` is the engine's ``EngineInfo`` (context, threads, load time)."""

    def __init__(self, info: Any) -> None:
        super().__init__()
        self.info = info


class ReplyFinished(Message):
    """A reply ended: done, stopped (``finish_reason`` "cancelled") or failed (``error``)."""

    def __init__(self, text: str, stats: Any | None, error: BaseException | None = None) -> None:
        super().__init__()
        self.text = text
        self.stats = stats
        self.error = error


class FitChanged(Message):
    """The Fit screen has a new estimate (a slider moved, an option changed, the profile changed)."""

    def __init__(self, estimate: Any, settings: Any) -> None:
        super().__init__()
        self.estimate = estimate
        self.settings = settings
