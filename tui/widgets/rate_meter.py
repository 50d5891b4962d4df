"""The tokens-per-second meter: the live figure and a sparkline of the recent history.

The chat screen feeds it a few times a second (``record``); the meter keeps the last
``history`` samples and never asks anything itself.
"""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label, Sparkline

from tui.units import format_rate


class RateMeter(Horizontal):
    """``123 t/s ▁▂▄▆█▇▆``: one line, figure on the left, history on the right."""

    DEFAULT_CSS = """
    RateMeter {
        height: 1;
        width: 1fr;
    }
    RateMeter > .rate-meter--figure {
        width: 12;
        text-style: bold;
        color: $accent;
    }
    RateMeter > Sparkline {
        width: 1fr;
        min-width: 8;
    }
    """

    rate: reactive[float | None] = reactive(None, init=False, always_update=True)

    def __init__(self, history: int = 48, *, name=None, id=None, classes=None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._samples: deque[float] = deque(maxlen=history)

    def compose(self) -> ComposeResult:
        yield Label(format_rate(None), classes="rate-meter--figure")
        yield Sparkline([], summary_function=max)

    @property
    def samples(self) -> list[float]:
        return list(self._samples)

    def record(self, tokens_per_s: float, recent_tokens_per_s: float | None = None) -> None:
        """Show a new figure (tokens/s) and push a sample onto the sparkline.

        ``recent_tokens_per_s`` (the rate since the last sample) goes on the sparkline when given,
        so it shows how the speed moves while the figure stays the steadier whole-reply rate.
        """
        sample = tokens_per_s if recent_tokens_per_s is None else recent_tokens_per_s
        self._samples.append(max(0.0, sample))
        self.rate = tokens_per_s

    def reset(self) -> None:
        self._samples.clear()
        self.rate = None
        self._refresh_parts()

    def watch_rate(self) -> None:
        self._refresh_parts()

    def _refresh_parts(self) -> None:
        if not self.is_mounted:
            return
        self.query_one(".rate-meter--figure", Label).update(format_rate(self.rate))
        self.query_one(Sparkline).data = list(self._samples)
