"""The Advisor's "Context sweep" tab: tokens/s and memory from 512 tokens to the model's trained context.

The sweep (``tui.core.advisor.sweep``) is arithmetic, but a worker still keeps it off the event
loop; it follows the box highlighted under "Which box" and is redone only when that box, the
model or the comparison's settings change.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static, TabPane

from tui.messages import Outcome, deliver
from tui.screens.advisor.cells import TAB_IDS, error_text, plot_columns, status_text
from tui.screens.base import local_ai_app
from tui.units import format_context
from tui.widgets.sweep_plot import SweepPlot


class SweepPane(TabPane):
    """Status and the plot."""

    app = local_ai_app()

    class Swept(Outcome[tuple]):
        """(model, box, sweep points): tokens/s and memory over the context steps on one box."""

    def __init__(self) -> None:
        super().__init__("Context sweep", id=TAB_IDS["sweep"])
        self.sweep_points: list[Any] = []
        self._swept_for: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="advisor-sweep-status")
        yield SweepPlot(id="advisor-sweep-plot")

    def show_status(self, text: str | Text) -> None:
        self.query_one("#advisor-sweep-status", Static).update(status_text(text))

    def sweep_if_stale(self, model: Any, box: Any, settings: Any, compared_for: tuple[Any, ...] | None) -> None:
        """Sweep ``model`` on ``box`` unless that very sweep (same comparison) is already shown or running."""
        key = (model.spec, box.title, compared_for)
        if key == self._swept_for:
            return
        self._swept_for = key
        self.show_status(f"Sweeping the context on {box.title}…")
        self._sweep(model, box, settings)

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-sweep")
    def _sweep(self, model: Any, box: Any, settings: Any) -> None:
        from tui.advisor_services import sweep_for

        deliver(self, self.Swept, lambda: (model, box, sweep_for(model.anatomy, box.profile, settings)))

    @on(Swept)
    def _swept(self, event: Swept) -> None:
        if event.error is not None:
            self._swept_for = None
            self.show_status(error_text(event.error))
        else:
            self._show_sweep(*event.result)

    def _show_sweep(self, model: Any, box: Any, points: list[Any]) -> None:
        from tui.core.advisor.sweep import longest_fitting

        self.sweep_points = points
        plot = self.query_one("#advisor-sweep-plot", SweepPlot)
        plot.columns = tuple(plot_columns(points))
        plot.title = f"tokens/s on {box.title}"
        longest = longest_fitting(points)
        reach = f"fits up to {format_context(longest.n_ctx)}" if longest else "fits at no context step"
        self.show_status(Text.assemble((model.title, "bold"), f" on {box.profile.name}: {reach}, best placement at each step",
                                       ("  (2: pick another box)", "dim")))
