"""When to move streamed text onto the screen: often enough to look live, rarely enough to stay cheap.

Each flush into a Markdown reply re-parses the reply's last block and lays the screen out again,
and the cost grows with the reply. On a small box every millisecond the UI thread spends is taken
from llama.cpp's threads, so the tokens/s a person sees drops. The pacer measures what the UI
thread really spent (its CPU time, ``time.thread_time``, between one flush and the next: parsing,
layout, drawing, keys) and spaces flushes so that this stays under ``cpu_share`` of one core,
between ``min_interval_s`` (a flush every ~2 frames) and ``max_interval_s`` (still live to a reader).
A new stream starts at the pace the previous one's first flushes needed: a short reply (a few
hundred tokens from a small model last a fraction of a second) ends before the pacer could learn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Shortest time between flushes (seconds): about two frames at 60 Hz.
MIN_INTERVAL_S = 0.033
#: Longest (seconds): text still arrives four times a second however long the reply grows.
MAX_INTERVAL_S = 0.25
#: The share of one core the UI thread may spend on streaming (0.05 = 5%): each flush lays the screen
#: out, and on a small box that CPU is taken from generation (stories260K on 2 cores, bench_tui.py:
#: 0.1 showed about 0.87 of the engine's rate, 0.05 about 0.9).
CPU_SHARE = 0.05


class StreamPacer:
    """Call ``due(now)`` on every timer tick; after a flush, ``flushed(now)``. Times in seconds."""

    def __init__(self, min_interval_s: float = MIN_INTERVAL_S, max_interval_s: float = MAX_INTERVAL_S,
                 cpu_share: float = CPU_SHARE, cpu_clock: Callable[[], float] = time.thread_time) -> None:
        if not 0 < cpu_share <= 1 or not 0 < min_interval_s <= max_interval_s:
            raise ValueError("StreamPacer needs 0 < cpu_share <= 1 and 0 < min_interval_s <= max_interval_s")
        self.min_interval_s = min_interval_s
        self.max_interval_s = max_interval_s
        self.cpu_share = cpu_share
        self._cpu_clock = cpu_clock
        self._early_cost_s = 0.0
        self.start(0.0)

    def start(self, now: float) -> None:
        """A new stream: the first text may go out at once; the flushes after it are spaced by what the
        previous stream's first flush cycle cost (a short reply is over before the pacer could learn)."""
        self._cost_s = self._early_cost_s
        self.interval_s = self._interval_for(self._cost_s)
        self._next = now
        self._cpu_mark: float | None = None  # set by the first flush: opening the reply is not a flush's cost
        self._learning = True  # the next charged cycle is this stream's first: remembered for the next one

    def _interval_for(self, cost_s: float) -> float:
        return min(self.max_interval_s, max(self.min_interval_s, cost_s / self.cpu_share))

    def due(self, now: float) -> bool:
        return now >= self._next

    def flushed(self, now: float) -> None:
        """A flush went out at ``now``: charge the UI CPU spent since the last one, set the next time."""
        cpu = self._cpu_clock()
        if self._cpu_mark is None:
            self._cpu_mark = cpu
            self._next = now + self.interval_s
            return
        spent, self._cpu_mark = max(0.0, cpu - self._cpu_mark), cpu
        if self._learning:
            self._learning = False
            self._early_cost_s = spent
        # A smoothed cost per flush cycle (parse + layout + draw): one slow frame does not stall the stream.
        self._cost_s = spent if not self._cost_s else 0.5 * self._cost_s + 0.5 * spent
        self.interval_s = self._interval_for(self._cost_s)
        self._next = now + self.interval_s
