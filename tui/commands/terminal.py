"""The CLI's terminal boundary: everything the commands print passes ``printable`` on its way out.

A command prints text from outside (GGUF metadata, Hub fields, file names, model output,
error messages quoting them) in many places; wrapping ``sys.stdout`` and ``sys.stderr`` for the
duration of a command makes the rule hold for all of them at once, including the ones written
next year. Only newline and tab pass. The one thing the CLI itself draws with control bytes, a
progress line redrawn in place, goes through ``redraw_line``, which writes the carriage return
and "erase line" on the underlying stream and the text through the sanitiser.

The TUI is not affected: Textual writes to ``sys.__stderr__``, never through these wrappers.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from tui.core.safe_text import printable

_ERASE_LINE = "\r\x1b[2K"


class SafeStream:
    """A text stream that shows control characters (except newline and tab) instead of sending them."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(printable(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def write_control(self, sequence: str) -> None:
        """Write the app's own control sequence unchanged (only ``redraw_line`` does)."""
        self.raw.write(sequence)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding ...
        return getattr(self.raw, name)


def redraw_line(stream: Any, text: str) -> None:
    """Replace the terminal's current line with ``text`` (a progress line); ``text`` is sanitised."""
    erase = getattr(stream, "write_control", None)
    if erase is not None:
        erase(_ERASE_LINE)
    else:
        stream.write(_ERASE_LINE)
    stream.write(printable(text, keep=""))
    stream.flush()


def clear_line(stream: Any) -> None:
    """Erase the progress line drawn by ``redraw_line``."""
    redraw_line(stream, "")


@contextlib.contextmanager
def safe_terminal() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` sanitised for the block (restored after, even on errors)."""
    saved = sys.stdout, sys.stderr
    for stream in saved:
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    sys.stdout = SafeStream(saved[0]) if not isinstance(saved[0], SafeStream) else saved[0]
    sys.stderr = SafeStream(saved[1]) if not isinstance(saved[1], SafeStream) else saved[1]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
