"""The Advisor screen: three panes in tabs, the keys that move between them, and what they depend on.

Each pane owns its table, its worker and its "already shown" key (``recommend_pane``,
``compare_pane``, ``sweep_pane``); this screen only tells them when the profile, the model or
the settings changed, and passes the highlighted box from "Which box" to the sweep.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, TabbedContent

from tui.screens.advisor.cells import TAB_IDS
from tui.screens.advisor.compare_pane import NO_MODEL, ComparePane
from tui.screens.advisor.recommend_pane import RecommendPane
from tui.screens.advisor.sweep_pane import SweepPane
from tui.screens.base import AppScreen
from tui.screens.focus import focus_now


class AdvisorScreen(AppScreen):
    """Recommend (which model), compare (which box) and sweep (how context costs), one tab each."""

    WHERE = "Advisor"
    BINDINGS = [
        Binding("1", "show_tab('recommend')", "Which model", id="advisor-tab-recommend"),
        Binding("2", "show_tab('compare')", "Which box", id="advisor-tab-compare"),
        Binding("3", "show_tab('sweep')", "Sweep", id="advisor-tab-sweep"),
        Binding("slash", "focus_search", "Search", id="advisor-search"),
        Binding("m", "cycle_min_speed", "Min t/s", id="advisor-min-speed",
                tooltip="The slowest decode speed a label may have to be recommended"),
        Binding("c", "cycle_context", "Context", id="advisor-context",
                tooltip="The context the ranking sizes for (default: 4k, or the model's if less, as recommend)"),
        Binding("r", "refresh", "Refresh", id="advisor-refresh"),
        Binding("d", "toggle_depth", "Speed by depth", id="advisor-depth", show=False,
                tooltip="Sweep: decode tokens/s as the cache fills (depth 0 to the context), or by context"),
        Binding("escape", "leave_search", "Results", id="advisor-leave-search", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="advisor-tabs", initial=TAB_IDS["recommend"]):
            yield RecommendPane()
            yield ComparePane()
            yield SweepPane()

    def on_mount(self) -> None:
        self.watch(self.app, "profile", lambda _: self._inputs_changed(), init=False)
        self.watch(self.app, "model", lambda _: self._inputs_changed(), init=False)
        self._inputs_changed()
        focus_now(self.query_one(RecommendPane).table)

    def on_screen_resume(self) -> None:
        self._inputs_changed()  # the Fit screen may have changed the context or the model meanwhile

    # -- what the panes show (tests and the screenshot script read these) -------------------------

    @property
    def recommendation(self) -> Any:
        return self.query_one(RecommendPane).recommendation

    @property
    def box_results(self) -> list[Any]:
        return self.query_one(ComparePane).box_results

    @property
    def sweep_points(self) -> list[Any]:
        return self.query_one(SweepPane).sweep_points

    # -- what the advice depends on -------------------------------------------------------------

    def _inputs_changed(self, force: bool = False) -> None:
        if not self.is_mounted:
            return
        self.query_one(RecommendPane).rank_if_stale(force)
        if not self.query_one(ComparePane).compare_if_stale(force):
            self.query_one(SweepPane).show_status(NO_MODEL)

    @on(ComparePane.BoxHighlighted)
    def _sweep_box(self, event: ComparePane.BoxHighlighted) -> None:
        self.query_one(SweepPane).sweep_if_stale(event.model, event.result.box, self.app.settings, event.key)

    # -- actions ---------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#advisor-tabs", TabbedContent).active = TAB_IDS[tab]
        target = {"recommend": "#advisor-recommend-table", "compare": "#advisor-compare-table"}.get(tab)
        if target:
            focus_now(self.query_one(target, DataTable))

    def action_focus_search(self) -> None:
        self.action_show_tab("recommend")
        focus_now(self.query_one("#advisor-search", Input))

    def action_leave_search(self) -> None:
        focus_now(self.query_one("#advisor-recommend-table", DataTable))

    @on(Input.Submitted, "#advisor-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.query_one(RecommendPane).search(event.value)
        self.action_leave_search()

    def action_cycle_min_speed(self) -> None:
        self.query_one(RecommendPane).cycle_min_speed()

    def action_cycle_context(self) -> None:
        self.query_one(RecommendPane).cycle_context()

    def action_toggle_depth(self) -> None:
        self.action_show_tab("sweep")
        self.query_one(SweepPane).toggle_depth()

    def action_refresh(self) -> None:
        self._inputs_changed(force=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_search":
            return self.focused is self.query_one("#advisor-search", Input)
        if action in ("show_tab", "cycle_min_speed", "cycle_context", "refresh", "focus_search", "toggle_depth"):
            return not isinstance(self.focused, Input)  # typed letters and digits go into the search box
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()
