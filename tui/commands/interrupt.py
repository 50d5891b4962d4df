"""Ctrl+C in the CLI: a cancel event the workers check, not an exception that lands anywhere.

Python delivers SIGINT as ``KeyboardInterrupt`` wherever the main thread happens to be: inside
a ctypes callback from llama.cpp (ctypes prints it and carries on), before a ``try``, in the
middle of writing a partial file. Long work (downloads, model loads, generation, benchmarks)
therefore runs in a worker thread under ``cancellable()``; the main thread only waits, and the
signal handler sets the event that work already checks (the download loop, llama.cpp's abort
and progress callbacks, the token loop). The work stops cleanly, its own message says what was
kept, and the command exits with 130.

A second Ctrl+C ends the process at once (exit 130, one line, no traceback). Outside a
cancellable block the first Ctrl+C is the usual ``KeyboardInterrupt`` that ``run_command``
reports as "interrupted".
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from tui.core.errors import LocalAIError

T = TypeVar("T")

#: After Ctrl+C, how long the work may take to stop and report before the command ends without it.
GRACE_S = 0.8
#: How often the waiting main thread wakes (the signal handler runs between these waits).
POLL_S = 0.05


class Interrupted(LocalAIError):
    """The person pressed Ctrl+C: the command stops (exit code 130, as shells expect)."""

    exit_code = 130


class _State:
    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.scopes = 0
        self.presses = 0
        self.workers: list[threading.Thread] = []


_state = _State()


def _on_sigint(signum: int, frame: Any) -> None:
    _state.presses += 1
    if _state.presses > 1:
        _exit_now()
    if _state.scopes:
        _state.cancel.set()
        return
    raise KeyboardInterrupt


def _exit_now(code: int = 130) -> None:
    """End the process now: the message, flushed streams, no interpreter teardown under a running llama.cpp."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.write(2, b"localai-tui: interrupted\n")
    os._exit(code)


@contextlib.contextmanager
def sigint_handler() -> Iterator[None]:
    """Install the handler for a command (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.cancel.clear()
    _state.presses = 0
    _state.workers = []
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def cancellable() -> Iterator[threading.Event]:
    """Within the block, Ctrl+C sets the returned event instead of raising."""
    _state.scopes += 1
    try:
        yield _state.cancel
    finally:
        _state.scopes -= 1


def interrupted() -> bool:
    return _state.cancel.is_set()


def run_in_worker(work: Callable[[], T], name: str) -> T:
    """Run ``work`` in a daemon thread while this one waits (and Ctrl+C can set the cancel event).

    ``work``'s result or exception is handed back. After a cancel, ``work`` has ``GRACE_S`` to
    stop (it checks the event); if it is still inside llama.cpp then, ``Interrupted`` is raised
    and ``finish`` ends the process without waiting for it.
    """
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # handed to the waiting thread, which reports it
            outcome["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=target, name=name, daemon=True)
    _state.workers.append(thread)
    with cancellable() as cancel:
        thread.start()
        while not finished.wait(POLL_S):
            if cancel.is_set():
                if not finished.wait(GRACE_S):
                    raise Interrupted("interrupted")
                break
    error = outcome.get("error")
    if error is not None:
        if cancel.is_set() and not (isinstance(error, LocalAIError) and error.exit_code == 130):
            raise Interrupted("interrupted") from None  # "cancelled" in whatever words the work used
        raise error
    return outcome["result"]


def workers_running() -> bool:
    """A worker abandoned after Ctrl+C is still inside native code (do not free what it uses)."""
    return any(thread.is_alive() for thread in _state.workers)


def check_interrupted() -> None:
    """Raise ``Interrupted`` when Ctrl+C was pressed (after work that stopped early because of it)."""
    if _state.cancel.is_set():
        raise Interrupted("interrupted")


def finish(code: int) -> int:
    """The exit code; when a worker is still running native code, end the process here instead of
    tearing the interpreter down under it (that can crash inside llama.cpp's destructors)."""
    if workers_running():
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return code
