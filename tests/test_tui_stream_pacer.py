"""The stream pacer: flushes spaced so the UI thread's CPU stays under its share of a core."""

from __future__ import annotations

import pytest

from tui.widgets.stream_pacer import StreamPacer


class FakeCpu:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def test_cheap_flushes_go_out_at_the_shortest_interval_and_costly_ones_are_spaced():
    cpu = FakeCpu()
    pacer = StreamPacer(min_interval_s=0.03, max_interval_s=0.25, cpu_share=0.1, cpu_clock=cpu)
    pacer.start(10.0)
    assert pacer.due(10.0)  # the first text goes out at once
    cpu.seconds += 0.2  # opening the reply (mounting its turn) is not charged to the stream
    pacer.flushed(10.0)
    assert pacer.interval_s == pytest.approx(0.03)
    cpu.seconds += 0.001  # 1 ms of parse + layout: 10 ms at 10%, below the floor
    pacer.flushed(10.0)
    assert pacer.interval_s == pytest.approx(0.03)
    assert not pacer.due(10.02) and pacer.due(10.03)
    for _ in range(8):  # the reply grew: each flush now costs 8 ms of UI CPU
        cpu.seconds += 0.008
        pacer.flushed(10.1)
    assert pacer.interval_s == pytest.approx(0.08, rel=0.05)
    cpu.seconds += 0.5  # one pathological frame: capped, the text still arrives 4 times a second
    pacer.flushed(11.0)
    assert pacer.interval_s == 0.25
    pacer.start(20.0)  # a new reply starts quick again
    assert pacer.due(20.0) and pacer.interval_s == 0.03


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        StreamPacer(cpu_share=0)
    with pytest.raises(ValueError):
        StreamPacer(min_interval_s=0.5, max_interval_s=0.1)


def test_a_new_stream_starts_at_the_pace_the_previous_streams_first_flushes_needed():
    cpu = FakeCpu()
    pacer = StreamPacer(min_interval_s=0.03, max_interval_s=0.25, cpu_share=0.1, cpu_clock=cpu)
    pacer.start(0.0)
    assert pacer.interval_s == pytest.approx(0.03)  # nothing learned yet
    pacer.flushed(0.0)  # the opening flush: not charged
    cpu.seconds += 0.006  # the first charged cycle: 6 ms of UI CPU, 60 ms at 10%
    pacer.flushed(0.03)
    for _ in range(5):  # the reply grows and its flushes cost more; that is not what a new reply costs
        cpu.seconds += 0.02
        pacer.flushed(0.1)
    assert pacer.interval_s == pytest.approx(0.2, rel=0.05)
    pacer.start(5.0)
    assert pacer.due(5.0)  # the first text still goes out at once
    assert pacer.interval_s == pytest.approx(0.06)
    pacer.flushed(5.0)
    assert not pacer.due(5.05) and pacer.due(5.06)
