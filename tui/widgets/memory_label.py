"""``RAM 812 MiB · GPU0 1.2 GiB``: this process's memory, sampled once a second in a worker while ``active``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.widgets import Label

from tui.units import format_size


def memory_text(use: Any) -> str:
    parts = [f"RAM {format_size(use.rss_bytes)}"]
    parts += [f"GPU{g.index} {format_size(g.process_bytes or g.used_bytes)}" for g in use.gpus]
    return " · ".join(parts)


class MemoryLabel(Label):
    """Give it ``sample`` (blocking: reads /proc and NVML); it samples only while ``active`` is true."""

    def __init__(self, sample: Callable[[], Any], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._sample = sample
        self.active = False

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick, name="memory-sample")

    def _tick(self) -> None:
        if self.active:
            self._read()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _read(self) -> None:
        text = memory_text(self._sample())
        self.app.call_from_thread(self.update, text)
