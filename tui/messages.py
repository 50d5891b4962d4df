"""Messages between the app's parts: what workers hand back, and events the screens post.

Workers compute in threads and hand their answer back with ``deliver``: one typed ``Outcome``
message per job (``HubSearched``, ``ModelOpened`` ...), handled with ``@on(ThatMessage)``. The
message's class says which job answered, so no handler matches on ``worker.group`` strings, and
an answer from a job that a newer one replaced (``exclusive`` workers) is dropped, never shown.

Events (named in the past tense) tell anyone else listening (the app, tests, the benchmark)
that something has happened, never one message per token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import NoActiveWorker, get_current_worker

from tui.core.hub.model_spec import ChosenModel

T = TypeVar("T")


class Outcome(Message, Generic[T]):
    """A worker's answer (``result``) or the exception it raised (``error``); subclass one per job.

    ``result`` raises the worker's exception when there is one: check ``error`` first where a
    failure is shown differently.
    """

    def __init__(self, result: T | None = None, error: Exception | None = None) -> None:
        super().__init__()
        self._result = result
        self.error = error

    @property
    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self._result  # type: ignore[return-value]  # None only when T allows it


def deliver(target: MessagePump, outcome: type[Outcome[T]], compute: Callable[[], T]) -> None:
    """Run ``compute`` (in the calling worker's thread) and post its answer to ``target`` as ``outcome``.

    Exceptions become ``outcome(error=...)``: the screen shows them as one line, never a traceback.
    When the worker was cancelled meanwhile (a newer request of an ``exclusive`` worker replaced
    it), nothing is posted: the newest request's answer is the one shown.
    """
    try:
        message = outcome(compute())
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the screen, which words it
        message = outcome(error=exc)
    try:
        cancelled = get_current_worker().is_cancelled
    except NoActiveWorker:
        cancelled = False
    if not cancelled:
        target.post_message(message)


class ModelOpened(Outcome[ChosenModel]):
    """A model spec was read into a ``ChosenModel`` (``tui.core.hub.model_spec``), or could not be (``error``)."""


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
