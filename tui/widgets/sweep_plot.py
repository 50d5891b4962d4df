"""A terminal bar plot of tokens/s as the context grows, with the memory each step takes
(or, with ``memory=False`` and ``x_name="depth"``, as the cache of one context fills).

One bar per context step, drawn with eighth blocks (``▁▂▃▄▅▆▇█``) so a bar's height has
eight times the rows' resolution; its colour says whether the model runs there as placed
(green), only with part of it in system RAM (yellow: the cliff), or not at all (red). Under
the bars: the context of each step, and the VRAM and RAM it uses (GiB). Text only: it works
over SSH, in 256 colours, at 80 columns.

The widget draws what it is given (``PlotColumn``); it computes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.core.fit.verdict import Verdict
from tui.core.sizes import GiB
from tui.widgets.verdict_style import VERDICT_BAR_COLOURS

#: What each step's verdict is called in the legend, in legend order (``Verdict.PARTIAL``: offloaded).
LEGEND = {Verdict.FITS: "fits", Verdict.PARTIAL: "part in RAM", Verdict.NO_FIT: "does not fit"}

_EIGHTHS = " ▁▂▃▄▅▆▇█"
#: Width of the left margin: y-axis figures and the row names under the plot.
AXIS_WIDTH = 7
#: Rows under the bars: the axis line, contexts, VRAM, RAM, legend.
FOOTER_ROWS = 5


@dataclass(frozen=True)
class PlotColumn:
    """One context step: its label ("4k"), decode speed (tokens/s), memory (bytes) and verdict
    (``FITS`` as placed, ``PARTIAL`` only with part of it in system RAM, ``NO_FIT``)."""

    label: str
    tokens_per_s: float
    gpu_bytes: int
    host_bytes: int
    state: Verdict = Verdict.FITS
    has_gpu: bool = True


def _gib(n_bytes: int) -> str:
    value = n_bytes / GiB
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 0.1 or value == 0 else f"{value:.2f}"


def _rate(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def render_sweep_plot(columns: Sequence[PlotColumn], width: int, height: int, title: str = "tokens/s", *,
                      x_name: str = "context", memory: bool = True) -> Text:
    """The plot as rich ``Text`` of ``height`` lines at most ``width`` cells wide; ``x_name`` names the
    steps' row, ``memory`` adds the VRAM and RAM rows (the same at every step of a depth sweep)."""
    if not columns:
        return Text("no sweep yet", style="dim")
    width = max(width, AXIS_WIDTH + 3 * len(columns))
    bar_rows = max(2, height - (FOOTER_ROWS if memory else FOOTER_ROWS - 2) - 1)
    slot = max(3, (width - AXIS_WIDTH) // len(columns))
    bar_width = max(1, min(slot - 1, 6))
    top = max((c.tokens_per_s for c in columns), default=0.0) or 1.0

    lines: list[Text] = [Text.assemble((title, "bold"), (f"  (estimated; highest {_rate(top)} t/s)", "dim"))]
    eighths = [round(c.tokens_per_s / top * bar_rows * 8) for c in columns]
    for row in range(bar_rows, 0, -1):  # top row first
        axis = ""  # the top of the top row, the top of the middle row, and zero
        if row == bar_rows:
            axis = _rate(top)
        elif row == bar_rows // 2 and row > 1:
            axis = _rate(top * row / bar_rows)
        elif row == 1:
            axis = "0"
        line = Text(f"{axis:>{AXIS_WIDTH - 2}} │", style="dim")
        for column, filled in zip(columns, eighths, strict=True):
            level = max(0, min(8, filled - (row - 1) * 8))
            style = VERDICT_BAR_COLOURS.get(column.state, "")
            if level:
                line.append((_EIGHTHS[level] * bar_width).center(slot), style=style)
            elif row == 1 and not column.state.runs:
                line.append("×".center(slot), style=style)  # nothing to draw: mark the step
            else:
                line.append(" " * slot)
        lines.append(line)
    lines.append(Text(" " * (AXIS_WIDTH - 1) + "└" + "─" * (slot * len(columns)), style="dim"))
    lines.append(_footer_row(x_name, [c.label for c in columns], slot, "bold"))
    if memory:
        lines.append(_footer_row("VRAM", [_gib(c.gpu_bytes) if c.has_gpu else "-" for c in columns], slot, ""))
        lines.append(_footer_row("RAM", [_gib(c.host_bytes) for c in columns], slot, ""))
    legend = Text(" " * AXIS_WIDTH)
    for state, name in LEGEND.items():
        legend.append("█ ", style=VERDICT_BAR_COLOURS[state])
        legend.append(f"{name}   ")
    if memory:
        legend.append("(GiB)", style="dim")
    lines.append(legend)
    out = Text("\n").join(lines[:height])
    out.no_wrap = True
    out.overflow = "crop"
    return out


def _footer_row(name: str, cells: Sequence[str], slot: int, style: str) -> Text:
    line = Text(f"{name:<{AXIS_WIDTH}}", style="dim")
    for cell in cells:
        line.append(cell[:slot].center(slot), style=style)
    return line


class SweepPlot(Widget):
    """Tokens/s bars over context steps, memory figures below; set ``columns`` to redraw."""

    DEFAULT_CSS = """
    SweepPlot {
        height: 1fr;
        min-height: 10;
        width: 1fr;
    }
    """

    columns: reactive[tuple[PlotColumn, ...]] = reactive(tuple, layout=False)
    title: reactive[str] = reactive("tokens/s")
    x_name: reactive[str] = reactive("context")  # what the steps are: "context" sizes or cache "depth"s
    memory: reactive[bool] = reactive(True)  # the VRAM and RAM rows

    def __init__(self, columns: Sequence[PlotColumn] = (), *, name=None, id=None, classes=None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(SweepPlot.columns, tuple(columns))

    def render(self) -> Text:
        return render_sweep_plot(self.columns, self.size.width, self.size.height, self.title, x_name=self.x_name,
                                 memory=self.memory)
