"""The Advisor's "Which model" tab: Hub GGUF repos ranked for the current profile and context.

Each row is a repo with its best label, tokens/s, how it runs, and (wide terminals) its size
and tasks; the license column flags non-commercial and gated repos. Rankings read GGUF headers
from the Hub, so they run in a worker; a newer request cancels the older one (its progress
messages stop and its answer is dropped). Enter opens the best label on the Fit screen.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static, TabPane

from tui.messages import ModelOpened, Outcome, deliver
from tui.screens.advisor.cells import TAB_IDS, WIDE, add_columns, error_text, short_placement, status_text
from tui.screens.base import local_ai_app
from tui.units import format_context, format_count, format_gib, format_rate
from tui.widgets.verdict_style import verdict_style

#: Slowest acceptable decode speeds the ``m`` key cycles through (tokens/s).
MIN_SPEEDS = (10.0, 20.0, 40.0, 1.0, 5.0)

#: Contexts the ``c`` key cycles through for the ranking (tokens); None is ``recommend``'s default:
#: 4096 tokens, or the model's trained context when that is smaller.
ADVISOR_CONTEXTS: tuple[int | None, ...] = (None, 8192, 16384, 32768, 65536, 131072)


class RecommendPane(TabPane):
    """Search box, ranking status, the ranked repos and the highlighted repo's detail."""

    app = local_ai_app()

    class RepoSized(Message):
        """One more repo of a ranking has been sized (posted from the ranking's threads)."""

        def __init__(self, done: int, total: int, repo_id: str) -> None:
            super().__init__()
            self.done, self.total, self.repo_id = done, total, repo_id

    class Ranked(Outcome[Any]):
        """A ranking finished (``Recommendation``; None when cancelled), or why not."""

    def __init__(self) -> None:
        super().__init__("Which model", id=TAB_IDS["recommend"])
        self.min_speed = MIN_SPEEDS[0]
        self.context: int | None = ADVISOR_CONTEXTS[0]
        self.query_text = ""
        self.recommendation: Any = None
        self._ranked_for: tuple[Any, ...] | None = None  # (profile, context, query, speed) of the shown ranking
        self._cancel: threading.Event | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="advisor-search-row"):
            yield Input(placeholder="search Hub repos (empty: most downloaded)", id="advisor-search")
            yield Label("", id="advisor-wants")
        yield Static("", id="advisor-recommend-status")
        yield DataTable(id="advisor-recommend-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="advisor-recommend-detail")

    def on_mount(self) -> None:
        width = self.app.size.width
        columns = [("best", "Best", 10), ("tps", "t/s", 5), ("runs", "Runs", 9)]
        if width >= WIDE:
            columns += [("params", "Params", 10), ("tasks", "Tasks", 14)]
        columns.append(("license", "License", 14 if width >= WIDE else 8))
        add_columns(self.table, ("repo", "Repo"), columns, width)
        self._show_wants()

    @property
    def table(self) -> DataTable:
        return self.query_one("#advisor-recommend-table", DataTable)

    def _status(self, text: str | Text) -> None:
        self.query_one("#advisor-recommend-status", Static).update(status_text(text))

    # -- what the ranking depends on ----------------------------------------------------------

    def rank_if_stale(self, force: bool = False) -> None:
        """Rank again when the profile, context, query or speed changed since the shown ranking."""
        profile = self.app.profile
        if profile is None:
            self._status("Choose a hardware profile (F2) to rank models for it.")
            return
        key = (profile, self.context, self.query_text, self.min_speed)
        if key == self._ranked_for and not force:
            return
        self._ranked_for = key
        if self._cancel is not None:
            self._cancel.set()
        self._cancel = threading.Event()
        what = f"'{self.query_text}'" if self.query_text else "the most downloaded GGUF repos"
        self._status(f"Sizing {what} for {profile.name}… (headers only)")
        self._rank(profile, self.context, self.query_text, self.min_speed, self._cancel)

    def search(self, text: str) -> None:
        self.query_text = text.strip()
        self.rank_if_stale()

    def cycle_min_speed(self) -> None:
        self.min_speed = MIN_SPEEDS[(MIN_SPEEDS.index(self.min_speed) + 1) % len(MIN_SPEEDS)]
        self._show_wants()
        self.rank_if_stale()

    def cycle_context(self) -> None:
        """``c``: the next context to rank for (recommend's default first, then 8k ... 128k)."""
        self.context = ADVISOR_CONTEXTS[(ADVISOR_CONTEXTS.index(self.context) + 1) % len(ADVISOR_CONTEXTS)]
        self._show_wants()
        self.rank_if_stale()

    def _show_wants(self) -> None:
        context = format_context(self.context) if self.context else "≤4k"
        self.query_one("#advisor-wants", Label).update(
            Text.assemble((" ≥", "dim"), (f"{self.min_speed:g} t/s", "bold"), (" (m) ", "dim"),
                          (context, "bold"), (" ctx (c)", "dim")))

    # -- the ranking worker ------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-rank")
    def _rank(self, profile: Any, n_ctx: int | None, query: str, min_speed: float, cancel: threading.Event) -> None:
        from tui.advisor_services import recommend_for

        services = self.app.services

        def progress(done: int, total: int, repo_id: str) -> None:
            if not cancel.is_set():
                self.post_message(self.RepoSized(done, total, repo_id))

        deliver(self, self.Ranked, lambda: recommend_for(services, profile, n_ctx, query, min_speed,
                                                         on_progress=progress, cancel=cancel))

    @on(RepoSized)
    def _repo_sized(self, event: RepoSized) -> None:
        if self._cancel is not None and not self._cancel.is_set():
            self._status(f"Sizing {event.done}/{event.total}: {event.repo_id}…")

    @on(Ranked)
    def _ranked(self, event: Ranked) -> None:
        if event.error is not None:
            self._ranked_for = None
            self._status(error_text(event.error))
        elif event.result is not None:
            self._show_recommendation(event.result)

    def _show_recommendation(self, recommendation: Any) -> None:
        self.recommendation = recommendation
        if self._cancel is not None:
            self._cancel.set()  # done: late progress messages no longer overwrite the status
        table = self.table
        wide = "tasks" in table.columns
        table.clear()
        ranked = [a for a in recommendation.repos if a.best is not None]
        for advice in recommendation.repos:
            best = advice.best
            license_ = Text(advice.license or "?")
            if "non-commercial" in advice.flags:
                license_ = Text("NC " + (advice.license or ""), "bold red")
            elif "gated" in advice.flags:
                license_.append(" gated", "yellow")
            if best is None:
                cells: list[Any] = [Text(advice.repo_id, "dim"), Text("-", "dim"), "", Text("none", "red")]
            else:
                cells = [advice.repo_id, best.label, format_rate(best.tokens_per_s).replace(" t/s", ""),
                         Text(short_placement(best.placement), verdict_style(best.placement.verdict))]
            if wide:
                moe = " MoE" if advice.is_moe else ""
                cells += [format_count(advice.n_params) + moe if advice.n_params else "-", ",".join(advice.tasks)]
            table.add_row(*cells, license_, key=advice.repo_id)
        request = recommendation.request
        status = Text(f"{len(ranked)} of {len(recommendation.repos)} repos run at ≥{request.min_tokens_per_s:g} t/s "
                      f"with {format_context(request.n_ctx or 4096)} context on {recommendation.profile_name}")
        if recommendation.stale_because is not None:
            status = Text(f"Hub unavailable ({recommendation.stale_because}); ranking its last cached answer", "yellow")
        self._status(status)
        self._show_detail()

    # -- the highlighted repo ----------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#advisor-recommend-table")
    def _show_detail(self) -> None:
        advice = self._highlighted_advice()
        detail = self.query_one("#advisor-recommend-detail", Static)
        if advice is None:
            detail.update("")
            return
        from tui.core.advisor.placement import describe_placement

        text = Text()
        if advice.best is None:
            text.append(f"{advice.repo_id}: ", "bold")
            text.append(advice.reason or "no label qualifies")
        else:
            best = advice.best
            text.append(best.spec, "bold")
            text.append(f"  {format_gib(best.size_bytes)} GiB, {best.bits_per_weight:.1f} bits/weight\n")
            text.append(f"{describe_placement(best.placement)}, {format_rate(best.tokens_per_s)}")
            if advice.runner_ups:
                text.append("; faster: ", "dim")
                text.append(", ".join(f"{p.label} {format_rate(p.tokens_per_s)}" for p in advice.runner_ups))
        text.append(f"\n{', '.join(advice.tasks) or '-'} · license {advice.license or 'unknown'}", "dim")
        if advice.flags:
            text.append(f" ({', '.join(advice.flags)})", "yellow")
        if advice.best is not None:
            text.append("  Enter: open on Fit", "dim")
        detail.update(text)

    def _highlighted_advice(self) -> Any:
        if self.recommendation is None:
            return None
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((a for a in self.recommendation.repos if a.repo_id == key), None)

    @on(DataTable.RowSelected, "#advisor-recommend-table")
    def _open_best(self) -> None:
        advice = self._highlighted_advice()
        if advice is None or advice.best is None:
            return
        self.notify(f"Opening {advice.best.spec}…", timeout=2)
        self._open(advice, advice.best)

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-open")
    def _open(self, advice: Any, pick: Any) -> None:
        from tui.advisor_services import open_pick

        services = self.app.services
        deliver(self, ModelOpened, lambda: open_pick(services, advice, pick))

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        event.stop()
        if event.error is None:
            self.app.choose_model(event.result)
        else:
            self.notify(str(event.error), severity="error", title="Open")
