"""The stacked memory bar: cell arithmetic, and what it draws for fitting and overflowing pools."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from tui.core.sizes import GiB
from tui.widgets.memory_bar import MemoryBar, MemoryPart, MemoryUsage, bar_cells

PARTS = (
    MemoryPart("weights", 12 * GiB),
    MemoryPart("KV cache", 2 * GiB),
    MemoryPart("compute", GiB // 2),
    MemoryPart("overhead", GiB // 4),
)


def test_cells_are_proportional_to_capacity():
    cells = bar_cells(PARTS, 24 * GiB, 48)
    assert cells[0] == 24  # 12 of 24 GiB on 48 cells
    assert cells[1] == 4
    assert sum(cells) <= 48


def test_a_small_part_still_gets_a_cell():
    cells = bar_cells((MemoryPart("weights", 100 * GiB), MemoryPart("KV", 1)), 200 * GiB, 20)
    assert cells == [10, 1]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=200 * GiB), min_size=1, max_size=5),
    capacity=st.integers(min_value=0, max_value=200 * GiB),
    width=st.integers(min_value=1, max_value=200),
)
def test_cells_never_exceed_the_width(sizes, capacity, width):
    parts = tuple(MemoryPart(f"p{i}", s) for i, s in enumerate(sizes))
    cells = bar_cells(parts, capacity, width)
    assert len(cells) == len(parts)
    assert all(c >= 0 for c in cells)
    assert sum(cells) <= width
    if sum(sizes) >= capacity and sum(sizes) > 0:
        assert sum(cells) >= width - len(parts)  # the bar is (nearly) full when memory is


class BarHost(App):
    def __init__(self, usage: MemoryUsage) -> None:
        super().__init__()
        self.usage = usage

    def compose(self) -> ComposeResult:
        yield MemoryBar(self.usage)


async def test_bar_draws_title_figures_and_free_space():
    usage = MemoryUsage("GPU0 RTX 4090", PARTS, 24 * GiB, "fits")
    async with BarHost(usage).run_test(size=(60, 4)) as pilot:
        head, bar = str(pilot.app.query_one(MemoryBar).render()).split("\n")
        assert head.startswith("GPU0 RTX 4090")
        assert head.endswith("14.8 / 24.0 GiB fits")
        assert "█" not in head  # 60 cells: no room for the parts' sizes
        assert len(head) == len(bar) == 60
        assert bar.startswith("█" * 30)
        assert bar.endswith("·")


async def test_overflow_marks_where_capacity_ends():
    usage = MemoryUsage("GPU0 8 GiB", PARTS, 8 * GiB, "no-fit")
    async with BarHost(usage).run_test(size=(40, 4)) as pilot:
        widget = pilot.app.query_one(MemoryBar)
        _, bar = str(widget.render()).split("\n")
        assert "·" not in bar
        mark = round(8 / 14.75 * 40)
        assert bar[mark] == "▕"
        widget.usage = MemoryUsage("GPU0 32 GiB", PARTS, 32 * GiB, "fits")
        _, bar = str(widget.render()).split("\n")
        assert "▕" not in bar and bar.endswith("·")


async def test_a_wide_bar_lists_each_part_and_a_long_title_gives_way():
    usage = MemoryUsage("GPU0 RTX 4090", PARTS, 24 * GiB, "does not fit")
    async with BarHost(usage).run_test(size=(80, 4)) as pilot:
        widget = pilot.app.query_one(MemoryBar)
        head, _ = str(widget.render()).split("\n")
        assert head.startswith("GPU0 RTX 4090  █ 12.0  ▓ 2.0  ▒ 0.5  ░ 0.2")
        assert head.endswith("14.8 / 24.0 GiB does not fit") and len(head) == 80
        widget.usage = MemoryUsage("GPU0 NVIDIA RTX PRO 6000 Blackwell Workstation Edition", PARTS, 96 * GiB, "fits")
        head, _ = str(widget.render()).split("\n")
        assert head.startswith("GPU0 NVIDIA") and "…" in head and "█ 12.0" in head
        assert head.endswith("14.8 / 96.0 GiB fits") and len(head) == 80


def test_figures_get_the_decimals_the_verdict_needs():
    """Finding 8: 21.3 / 22.3 GiB would read as 1.0 GiB free; with 0.98 free the verdict is tight."""
    from tui.units import format_gib_pair

    gib = 1024**3
    assert format_gib_pair(int(21.32 * gib), int(22.3 * gib), gib) == ("21.32", "22.30")
    assert format_gib_pair(int(5 * gib), int(12 * gib), gib) == ("5.0", "12.0")
    used, capacity = format_gib_pair(int(21.32 * gib), int(22.3 * gib), gib)
    assert float(capacity) - float(used) < 1.0  # what is shown agrees with "tight"
