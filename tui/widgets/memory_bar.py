"""A stacked bar for one memory pool (a GPU's VRAM or the host's RAM): what uses it, against what it holds.

The widget only draws what it is given: the parts (weights, KV cache, compute, overhead, in bytes),
the capacity in bytes and a verdict word that picks the colour. It decides nothing about fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.core.fit.verdict import Verdict
from tui.units import format_gib, format_gib_pair
from tui.widgets.verdict_style import VERDICT_CLASSES

#: Fill characters per part, so the bar still reads without colour (256-colour terminals, screenshots).
PART_GLYPHS = ("█", "▓", "▒", "░", "▚")


@dataclass(frozen=True)
class MemoryPart:
    """One slice of the bar: a name (``weights``) and its size in bytes."""

    name: str
    n_bytes: int


@dataclass(frozen=True)
class MemoryUsage:
    """Everything the bar shows: ``title`` (``GPU0 RTX 4090``), parts in bytes, capacity in bytes, verdict."""

    title: str
    parts: tuple[MemoryPart, ...]
    capacity_bytes: int
    verdict: str = "fits"  # a ``Verdict`` or its word, shown after the figures in its colour (others: tight's)
    margin_bytes: int = 0  # what the verdict keeps free: the figures get the decimals to show it

    @property
    def total_bytes(self) -> int:
        return sum(p.n_bytes for p in self.parts)


def bar_cells(parts: tuple[MemoryPart, ...], capacity_bytes: int, width: int) -> list[int]:
    """Cells per part on a bar ``width`` cells wide that stands for ``max(capacity, total)`` bytes.

    Cumulative rounding keeps the sum exact and gives any non-empty part at least a cell when
    there is room, so a small KV cache does not vanish next to big weights.
    """
    total = sum(p.n_bytes for p in parts)
    scale = max(capacity_bytes, total, 1)
    cells: list[int] = []
    running = 0
    drawn = 0
    for part in parts:
        running += part.n_bytes
        end = round(running / scale * width)
        count = end - drawn
        if part.n_bytes > 0 and count == 0 and drawn < width:
            count = 1
        count = max(0, min(count, width - drawn))
        cells.append(count)
        drawn += count
    return cells


class MemoryBar(Widget):
    """Two lines: the title with ``used / capacity``, then the stacked bar with a capacity mark."""

    DEFAULT_CSS = """
    MemoryBar {
        height: 2;
        width: 1fr;
    }
    MemoryBar > .memory-bar--part-0 { color: $primary; }
    MemoryBar > .memory-bar--part-1 { color: $secondary; }
    MemoryBar > .memory-bar--part-2 { color: $warning; }
    MemoryBar > .memory-bar--part-3 { color: $text-muted; }
    MemoryBar > .memory-bar--part-4 { color: $accent; }
    MemoryBar > .memory-bar--free { color: $panel-lighten-1; }
    MemoryBar > .memory-bar--fits { color: $success; text-style: bold; }
    MemoryBar > .memory-bar--tight { color: $warning; text-style: bold; }
    MemoryBar > .memory-bar--spills { color: $warning; text-style: bold; }
    MemoryBar > .memory-bar--no-fit { color: $error; text-style: bold; }
    """

    COMPONENT_CLASSES = {
        *(f"memory-bar--part-{i}" for i in range(len(PART_GLYPHS))),
        "memory-bar--free",
        "memory-bar--fits",
        "memory-bar--tight",
        "memory-bar--spills",
        "memory-bar--no-fit",
    }

    usage: reactive[MemoryUsage | None] = reactive(None, layout=False)

    def __init__(self, usage: MemoryUsage | None = None, *, name=None, id=None, classes=None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(MemoryBar.usage, usage)

    def _verdict_style(self, verdict: str):
        known = verdict if isinstance(verdict, Verdict) else Verdict.parse(verdict)
        name = f"memory-bar--{VERDICT_CLASSES[known]}" if known is not None else "memory-bar--tight"
        return self.get_component_rich_style(name)

    def _head(self, usage: MemoryUsage, width: int, verdict_style) -> Text:
        """``GPU0 RTX 4090  █ 12.0 ▓ 2.00 ▒ 0.50 ░ 0.25   14.8 / 24.0 GiB fits``.

        The parts' sizes (GiB, keyed by the bar's glyphs) are dropped first when the line is
        too narrow, then the verdict word; the title gives way last but one, the total never.
        """
        used, capacity = format_gib_pair(usage.total_bytes, usage.capacity_bytes, usage.margin_bytes)
        figures = f"{used} / {capacity} GiB"
        verdict = f" {usage.verdict}" if usage.verdict else ""
        parts = Text()
        for i, part in enumerate(usage.parts):
            glyph_index = i % len(PART_GLYPHS)
            parts.append("  " if i else "")
            parts.append(PART_GLYPHS[glyph_index], self.get_component_rich_style(f"memory-bar--part-{glyph_index}"))
            parts.append(f" {format_gib(part.n_bytes)}")
        title = usage.title
        min_title = min(len(title), 12)
        if min_title + 2 + parts.cell_len + 3 + len(figures) + len(verdict) > width:
            parts = Text()
        if min_title + 1 + len(figures) + len(verdict) > width:
            verdict = ""
        right = Text.assemble(figures, (verdict, verdict_style) if verdict else "")
        right.stylize(verdict_style, 0, len(figures))
        gap_after_parts = 3 if parts.cell_len else 0
        room = max(0, width - right.cell_len - parts.cell_len - gap_after_parts - 1)
        if len(title) > room:
            title = title[: max(0, room - 1)] + "…" if room > 1 else title[:room]
        head = Text(no_wrap=True, overflow="crop")
        head.append(title.ljust(room if not parts.cell_len else len(title) + 2))
        if parts.cell_len:
            head.append(parts)
        head.append(" " * max(1, width - head.cell_len - right.cell_len))
        head.append(right)
        return head

    def render(self) -> Text:
        usage = self.usage
        width = max(10, self.size.width)
        if usage is None:
            return Text("")
        verdict_style = self._verdict_style(usage.verdict)
        head = self._head(usage, width, verdict_style)

        cells = bar_cells(usage.parts, usage.capacity_bytes, width)
        bar = Text(no_wrap=True, overflow="crop")
        for i, count in enumerate(cells):
            glyph_index = i % len(PART_GLYPHS)
            bar.append(PART_GLYPHS[glyph_index] * count, self.get_component_rich_style(f"memory-bar--part-{glyph_index}"))
        free = width - sum(cells)
        if usage.total_bytes > usage.capacity_bytes > 0:
            # Over capacity: mark where the capacity ends, so the overflow is visible.
            mark = min(width - 1, round(usage.capacity_bytes / usage.total_bytes * width))
            bar.stylize(verdict_style, mark, width)
            bar = bar[:mark] + Text("▕", verdict_style) + bar[mark + 1 :]
        else:
            bar.append("·" * free, self.get_component_rich_style("memory-bar--free"))
        return Text("\n").join([head, bar])


def legend(names: tuple[str, ...]) -> Text:
    """``█ weights  ▓ KV cache ...``: the key to the glyphs, for a line under the bars."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, name in enumerate(names):
        if i:
            text.append("  ")
        text.append(PART_GLYPHS[i % len(PART_GLYPHS)] + " " + name)
    return text
