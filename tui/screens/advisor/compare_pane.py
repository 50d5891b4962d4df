"""The Advisor's "Which box" tab: the chosen model on the current profile and the catalog's picks.

Each row is a box with its best placement (``tui.core.advisor.compare``), the verdict, the
longest context that fits, VRAM and RAM used of what it has, and tokens/s. Moving the cursor
posts ``BoxHighlighted``: the screen sweeps the context on that box.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static, TabPane

from tui.core.fit.verdict import Verdict
from tui.core.hardware.measured import measured_text
from tui.core.safe_text import one_line
from tui.messages import Outcome, deliver
from tui.screens.advisor.cells import (
    TAB_IDS,
    WIDE,
    add_columns,
    comparison_note,
    error_text,
    hardware_cell,
    short_placement,
    status_text,
)
from tui.screens.base import local_ai_app
from tui.units import format_context, format_gib, format_rate
from tui.widgets.verdict_style import verdict_text

NO_MODEL = "No model yet: open one from Browse (F3) or with o on Fit (F4), or pick one under Which model."


class ComparePane(TabPane):
    """Status, one row per box, and a note on why boxes differ for this model."""

    app = local_ai_app()

    class Compared(Outcome[tuple]):
        """(model, box results): the chosen model on the current profile and the catalog picks."""

    class BoxHighlighted(Message):
        """The cursor is on ``result``'s box (``BoxResult``), compared for ``model`` at ``key``."""

        def __init__(self, model: Any, result: Any, key: tuple[Any, ...] | None) -> None:
            super().__init__()
            self.model, self.result, self.key = model, result, key

    def __init__(self) -> None:
        super().__init__("Which box", id=TAB_IDS["compare"])
        self.box_results: list[Any] = []
        self.compared_for: tuple[Any, ...] | None = None  # (model, profile, settings) of the shown comparison
        self._model: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="advisor-compare-status")
        yield DataTable(id="advisor-compare-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="advisor-compare-note")

    def on_mount(self) -> None:
        width = self.app.size.width
        columns = [("verdict", "Fit", 12 if width >= WIDE else 6), ("runs", "Runs", 9), ("ctx", "Max ctx", 7),
                   ("vram", "VRAM", 9), ("ram", "RAM", 9), ("tps", "t/s", 5)]
        if width >= WIDE:
            columns.append(("hardware", "Hardware", 27))
        add_columns(self.table, ("box", "Box"), columns, width)

    @property
    def table(self) -> DataTable:
        return self.query_one("#advisor-compare-table", DataTable)

    def _status(self, text: str | Text) -> None:
        self.query_one("#advisor-compare-status", Static).update(status_text(text))

    def compare_if_stale(self, force: bool = False) -> bool:
        """Compare again when the model, profile or memory settings changed; False when there is no model."""
        model, profile, settings = self.app.model, self.app.profile, self.app.settings
        if model is None or profile is None:
            self._status(NO_MODEL)
            return False
        key = (model.spec, profile, settings.n_ctx, settings.cache_type_k, settings.cache_type_v, settings.flash_attn)
        if key == self.compared_for and not force:
            return True
        self.compared_for = key
        self._status(f"Comparing {model.title} on {profile.name} and catalog boxes…")
        self._compare(model, profile, settings)
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-compare")
    def _compare(self, model: Any, profile: Any, settings: Any) -> None:
        from tui.advisor_services import boxes_like, compare_for

        name = str(model.local_path or model.filename or "") or None
        deliver(self, self.Compared, lambda: (model, compare_for(model.anatomy, boxes_like(profile), settings, name)))

    @on(Compared)
    def _compared(self, event: Compared) -> None:
        if event.error is not None:
            self.compared_for = None
            self._status(error_text(event.error))
        else:
            self._show_comparison(*event.result)

    def _show_comparison(self, model: Any, results: list[Any]) -> None:
        self._model = model
        self.box_results = results
        table = self.table
        wide = "hardware" in table.columns
        table.clear()
        for index, result in enumerate(results):
            placement = result.placement
            if placement is None:
                cells: list[Any] = [result.box.title, verdict_text(Verdict.REFUSED), "", "", "", "", ""]
            else:
                estimate = placement.estimate
                verdict = verdict_text(placement.verdict)
                if not wide and placement.verdict == Verdict.NO_FIT:
                    verdict = Text("no", verdict.style)  # the 6-cell column
                vram = f"{format_gib(placement.gpu_bytes)}/{format_gib(placement.gpu_capacity_bytes)}" \
                    if estimate.gpu_devices else "-"
                ram = f"{format_gib(placement.host_bytes)}/{format_gib(placement.host_capacity_bytes)}"
                rate = format_rate(placement.tokens_per_s).replace(" t/s", "") if placement.fits else "-"
                cells = [result.box.title, verdict, short_placement(placement),
                         format_context(result.max_context, approximate=True) if result.max_context else "-", vram, ram, rate]
            if wide:
                cells.append(Text(hardware_cell(result.box.profile), "dim"))
            table.add_row(*cells, key=str(index))
        note = comparison_note(model.anatomy, results)
        for result in results:  # measured beats estimated: this machine's bench run of the model
            if result.measured is not None:
                note = Text.assemble(note, "\n", (f"{one_line(result.box.title)}: {measured_text(result.measured)}",
                                                  "bold green"))
        self.query_one("#advisor-compare-note", Static).update(note)
        settings = results[0].placement.settings if results and results[0].placement else self.app.settings
        self._status(Text.assemble(
            (model.title, "bold"),
            f" at {format_context(settings.n_ctx)} context, best placement per box; VRAM/RAM GiB used/available"))
        self._box_highlighted()

    @on(DataTable.RowHighlighted, "#advisor-compare-table")
    def _box_highlighted(self) -> None:
        result = self.highlighted_box()
        if result is not None and self._model is not None:
            self.post_message(self.BoxHighlighted(self._model, result, self.compared_for))

    def highlighted_box(self) -> Any:
        table = self.table
        if not self.box_results or table.row_count == 0:
            return None
        return self.box_results[min(table.cursor_row, len(self.box_results) - 1)]
