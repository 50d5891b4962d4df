"""The tokens/s meter and the unit formatting every screen shares."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Label, Sparkline

from tui.units import format_context, format_count, format_duration, format_rate, format_size
from tui.widgets.rate_meter import RateMeter


class MeterHost(App):
    def compose(self) -> ComposeResult:
        yield RateMeter(history=4)


async def test_meter_shows_the_latest_figure_and_keeps_a_bounded_history():
    async with MeterHost().run_test(size=(40, 2)) as pilot:
        meter = pilot.app.query_one(RateMeter)
        assert str(meter.query_one(Label).render()) == "-"
        for rate in (10.0, 20.0, 30.0, 40.0, 50.0, 50.0):
            meter.record(rate)
        await pilot.pause()
        assert str(meter.query_one(Label).render()) == "50.0 t/s"
        assert meter.samples == [30.0, 40.0, 50.0, 50.0]
        assert list(meter.query_one(Sparkline).data) == [30.0, 40.0, 50.0, 50.0]
        meter.record(60.0, 90.0)  # the figure is the reply's rate, the sparkline the recent one
        await pilot.pause()
        assert str(meter.query_one(Label).render()) == "60.0 t/s" and meter.samples[-1] == 90.0
        meter.reset()
        await pilot.pause()
        assert meter.samples == [] and str(meter.query_one(Label).render()) == "-"


def test_units():
    assert format_rate(1234.4) == "1234 t/s"
    assert format_rate(45.64) == "45.6 t/s"
    assert format_rate(0.824) == "0.82 t/s"
    assert format_size(4.37 * 1024**3) == "4.37 GiB"
    assert format_size(812 * 1024**2) == "812 MiB"
    assert format_size(1_185_376) == "1.1 MiB"
    assert format_context(8192) == "8k" and format_context(1000) == "1000" and format_context(1 << 20) == "1M"
    assert format_count(1_234_567) == "1.2M" and format_count(999) == "999"
    assert format_duration(5) == "5.0 s" and format_duration(185) == "3 min 05 s"
    assert format_duration(0.0123) == "12 ms" and format_duration(None) == "-"
    assert format_duration(3720) == "1 h 02 min"
