"""llama.cpp's log (and the app's own), followed live like ``tail -f``.

llama.cpp writes to stderr, where Textual draws; the engine routes it to a file in the log
directory instead, and this screen shows that file. Reading happens on a timer, a few KB at a time.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, Log

from tui.core.paths import log_dir
from tui.screens.base import AppScreen
from tui.screens.focus import focus_now

#: Bytes shown from the end of a log file when it is first opened (older lines are rarely wanted).
TAIL_BYTES = 256 * 1024


def log_files(directory: Path) -> list[Path]:
    """The ``*.log`` files in ``directory``, most recently written first."""
    try:
        files = [p for p in directory.glob("*.log") if p.is_file()]
    except OSError:
        return []
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


class LogFollower:
    """Reads what was appended to a file since the last call (handles truncation and absence)."""

    def __init__(self, path: Path, tail_bytes: int = TAIL_BYTES) -> None:
        self.path = path
        self._offset: int | None = None
        self._tail_bytes = tail_bytes

    def read_new(self) -> str:
        try:
            size = self.path.stat().st_size
        except OSError:
            return ""
        if self._offset is None:
            self._offset = max(0, size - self._tail_bytes)
        if size < self._offset:  # truncated or replaced: start again
            self._offset = 0
        if size == self._offset:
            return ""
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read(size - self._offset)
        self._offset = size
        return data.decode("utf-8", errors="replace")


class LogScreen(AppScreen):
    """Follows the newest log file; ``n`` cycles through the others."""

    WHERE = "Log"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="log-back"),
        Binding("n", "next_file", "Next log", id="log-next"),
        Binding("g", "top", "Top", id="log-top", show=False),
        Binding("G,end", "bottom", "Bottom", id="log-bottom", show=False),
        Binding("c", "clear", "Clear view", id="log-clear"),
    ]

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__()
        self._directory = directory or log_dir()
        self._files: list[Path] = []
        self._index = 0
        self._follower: LogFollower | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("", id="log-path")
        yield Log(id="log-view", max_lines=5000, auto_scroll=True)

    def on_mount(self) -> None:
        self._files = log_files(self._directory)
        self._open(0)
        self.set_interval(0.5, self._poll)
        focus_now(self.query_one(Log))

    def _open(self, index: int) -> None:
        view = self.query_one(Log)
        view.clear()
        label = self.query_one("#log-path", Label)
        if not self._files:
            self._follower = None
            label.update(f"No log yet in {self._directory} (llama.cpp writes here once a model loads)")
            return
        self._index = index % len(self._files)
        path = self._files[self._index]
        self._follower = LogFollower(path)
        label.update(f"{path}  ({self._index + 1}/{len(self._files)})")
        self._poll()

    def _poll(self) -> None:
        if self._follower is None:
            found = log_files(self._directory)
            if found:
                self._files = found
                self._open(0)
            return
        text = self._follower.read_new()
        if text:
            self.query_one(Log).write(text)

    def action_next_file(self) -> None:
        self._files = log_files(self._directory) or self._files
        self._open(self._index + 1)

    def action_top(self) -> None:
        self.query_one(Log).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(Log).scroll_end(animate=False)

    def action_clear(self) -> None:
        self.query_one(Log).clear()

    def action_close(self) -> None:
        self.dismiss()
