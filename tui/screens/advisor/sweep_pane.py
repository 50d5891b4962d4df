"""The Advisor's "Context sweep" tab: tokens/s and memory from 512 tokens to the model's trained context,
or (``d``) decode tokens/s as the cache fills, from depth 0 to the chosen context.

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
from tui.screens.advisor.cells import TAB_IDS, depth_plot_columns, error_text, plot_columns, status_text
from tui.screens.base import local_ai_app
from tui.units import format_context
from tui.widgets.sweep_plot import SweepPlot


class SweepPane(TabPane):
    """Status and the plot."""

    app = local_ai_app()

    class Swept(Outcome[tuple]):
        """(model, box, sweep points, (placement, depth points) or None): the context and depth sweeps on one box."""

    def __init__(self) -> None:
        super().__init__("Context sweep", id=TAB_IDS["sweep"])
        self.sweep_points: list[Any] = []
        self.depth_points: list[Any] = []
        self.by_depth = False  # d: the plot shows speed against depth instead of context
        self._swept_for: tuple[Any, ...] | None = None
        self._shown: tuple[Any, ...] | None = None  # (model, box, points, depth) of the last sweep

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
        from tui.advisor_services import depth_sweep_for, sweep_for

        deliver(self, self.Swept, lambda: (model, box, sweep_for(model.anatomy, box.profile, settings),
                                           depth_sweep_for(model.anatomy, box.profile, settings)))

    @on(Swept)
    def _swept(self, event: Swept) -> None:
        if event.error is not None:
            self._swept_for = None
            self.show_status(error_text(event.error))
        else:
            self._show_sweep(*event.result)

    def toggle_depth(self) -> None:
        """``d``: speed against the cache's depth at the chosen context, or against the context."""
        self.by_depth = not self.by_depth
        if self._shown is not None:
            self._show_sweep(*self._shown)

    def _show_sweep(self, model: Any, box: Any, points: list[Any], depth: tuple[Any, list[Any]] | None) -> None:
        from tui.core.advisor.sweep import longest_fitting

        self._shown = (model, box, points, depth)
        self.sweep_points = points
        self.depth_points = depth[1] if depth is not None else []
        plot = self.query_one("#advisor-sweep-plot", SweepPlot)
        if self.by_depth:
            placement = depth[0] if depth is not None else None
            plot.columns = tuple(depth_plot_columns(self.depth_points, placement)) if placement is not None else ()
            n_ctx = placement.estimate.n_ctx if placement is not None else 0
            plot.title = f"decode t/s on {box.title} by depth, {format_context(n_ctx)} context"
            plot.x_name, plot.memory = "depth", False
            self.show_status(Text.assemble((model.title, "bold"), f" on {box.profile.name}: depth = tokens already "
                                           "in the cache", ("  (d: by context)", "dim")))
            return
        plot.columns = tuple(plot_columns(points))
        plot.title = f"tokens/s on {box.title}"
        plot.x_name, plot.memory = "context", True
        longest = longest_fitting(points)
        reach = f"fits up to {format_context(longest.n_ctx)}" if longest else "fits at no context step"
        self.show_status(Text.assemble((model.title, "bold"), f" on {box.profile.name}: {reach}, best placement at each step",
                                       ("  (2: pick another box, d: by depth)", "dim")))
