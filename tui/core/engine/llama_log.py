"""llama.cpp's log goes to a file (and to in-app listeners), never to the terminal.

llama.cpp and ggml write their log through one process-wide callback (``llama_log_set``
also sets ggml's). Left alone they print to stderr, where a Textual app draws its
screen; llama-cpp-python's ``verbose=False`` "fixes" that by pointing the process's
stderr at /dev/null during loads, which freezes a TUI. Here the callback writes every
line to a log file (``tui.core.paths.log_dir()/llama.log`` or ``--log-file``), keeps
the recent lines for an in-app viewer, and lets the loader capture the lines of one
load to turn llama.cpp's reasons into clear errors.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tui.core.paths import log_dir
from tui.core.sizes import MiB

#: ggml's ``enum ggml_log_level`` (ggml/include/ggml.h).
LEVEL_NONE, LEVEL_DEBUG, LEVEL_INFO, LEVEL_WARN, LEVEL_ERROR, LEVEL_CONT = range(6)
LEVEL_NAMES = {LEVEL_NONE: "none", LEVEL_DEBUG: "debug", LEVEL_INFO: "info", LEVEL_WARN: "warn", LEVEL_ERROR: "error"}

#: The default log file is moved aside to ``llama.log.1`` when it grows past this (bytes).
ROTATE_BYTES = 16 * MiB

#: Lines kept in memory for an in-app log viewer.
RECENT_LINES = 4000


def default_llama_log_file() -> Path:
    return log_dir() / "llama.log"


@dataclass(frozen=True)
class LogLine:
    """One complete line of llama.cpp's log; ``level`` is a ``LEVEL_*`` value (CONT resolved)."""

    level: int
    text: str

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, str(self.level))


class LlamaLog:
    """The process-wide sink for llama.cpp's log (one per process: llama.cpp has one callback)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._file: TextIO | None = None
        self._path: Path | None = None
        self._debug = False
        self._last_level = LEVEL_INFO
        self._partial = ""
        self._recent: deque[LogLine] = deque(maxlen=RECENT_LINES)
        self._captures: list[list[LogLine]] = []
        self._listeners: list[Callable[[LogLine], None]] = []
        self._c_callback: object | None = None  # the ctypes trampoline; must outlive every llama.cpp call

    # -- setup -------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def debug(self) -> bool:
        return self._debug

    def install(self, path: Path | str | None = None, *, debug: bool = False) -> Path:
        """Route llama.cpp's log to ``path`` (default ``log_dir()/llama.log``), appending.

        ``debug`` keeps llama.cpp's debug lines in the file (tensor placement, buffer
        overrides); listeners and captures always see every line. Safe to call again
        to switch file or level.
        """
        import llama_cpp

        target = Path(path) if path is not None else default_llama_log_file()
        target = target.expanduser()
        with self._lock:
            if self._path != target or self._file is None:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if path is None:
                        _rotate_if_large(target)
                    new_file = target.open("a", encoding="utf-8", errors="replace")
                except OSError as exc:
                    from tui.core.engine.errors import EngineError

                    raise EngineError(f"cannot write llama.cpp's log to {target}: {exc.strerror or exc}") from None
                if self._file is not None:
                    self._file.close()
                self._file = new_file
                self._path = target
                self._file.write(f"--- localai-tui: llama.cpp log, pid {os.getpid()}, "
                                 f"{time.strftime('%Y-%m-%d %H:%M:%S')} ---\n")
                self._file.flush()
            self._debug = debug
            if self._c_callback is None:
                self._c_callback = llama_cpp.llama_log_callback(self._on_log)
            # Always (re)install: importing llama_cpp sets its own stderr-printing callback.
            llama_cpp.llama_log_set(self._c_callback, None)
        return target

    def reassert(self) -> None:
        """Point llama.cpp's log callback back at this sink."""
        import llama_cpp

        with self._lock:
            if self._c_callback is not None:
                llama_cpp.llama_log_set(self._c_callback, None)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # -- consumers ---------------------------------------------------------------------

    def recent(self, n: int | None = None) -> list[LogLine]:
        with self._lock:
            lines = list(self._recent)
        return lines if n is None else lines[-n:]

    def add_listener(self, listener: Callable[[LogLine], None]) -> None:
        """Call ``listener`` with each complete line (from llama.cpp's thread: keep it quick)."""
        with self._lock:
            self._listeners.append(listener)

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[LogLine]]:
        """Collect every complete line logged inside the block (all levels)."""
        lines: list[LogLine] = []
        with self._lock:
            self._captures.append(lines)
        try:
            yield lines
        finally:
            with self._lock:
                self._flush_partial()
                self._captures.remove(lines)

    # -- the callback ------------------------------------------------------------------

    def _on_log(self, level: int, text: bytes | None, _user_data: object) -> None:
        # Runs inside llama.cpp (any thread): it must never raise.
        try:
            self.write(level, text.decode("utf-8", errors="replace") if text else "")
        except KeyboardInterrupt:  # Ctrl-C arrived while inside the callback: deliver it after
            _thread.interrupt_main()
        except BaseException:  # a logging failure must not reach the terminal
            pass

    def write(self, level: int, text: str) -> None:
        """Handle one fragment as llama.cpp hands it over (may be part of a line)."""
        with self._lock:
            if level == LEVEL_CONT:
                level = self._last_level
            else:
                if self._partial:
                    self._flush_partial()
                self._last_level = level
            if self._file is not None and (self._debug or level != LEVEL_DEBUG):
                self._file.write(text)
                if text.endswith("\n") or level >= LEVEL_WARN:
                    self._file.flush()
            self._partial += text
            while "\n" in self._partial:
                line, self._partial = self._partial.split("\n", 1)
                self._emit(LogLine(level, line))

    def _flush_partial(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit(LogLine(self._last_level, line))

    def _emit(self, line: LogLine) -> None:
        self._recent.append(line)
        for capture in self._captures:
            capture.append(line)
        for listener in list(self._listeners):
            try:
                listener(line)
            except Exception:
                pass


def _rotate_if_large(path: Path) -> None:
    try:
        if path.stat().st_size > ROTATE_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass


_LOG = LlamaLog()


def llama_log() -> LlamaLog:
    """The process's llama.cpp log sink."""
    return _LOG


def install_llama_log(path: Path | str | None = None, *, debug: bool = False) -> Path:
    """Route llama.cpp's log away from the terminal; returns the log file's path."""
    return _LOG.install(path, debug=debug)


def ensure_llama_log() -> LlamaLog:
    """Route llama.cpp's log here before it can speak: the default file unless one was chosen.

    The callback is set again every time (cheap), in case other code swapped it since.
    """
    if _LOG.path is None:
        _LOG.install()
    else:
        _LOG.reassert()
    return _LOG
