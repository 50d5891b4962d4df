"""The Advisor (F7): which model for my box, which box for my model, and the context sweep.

Three tabs over ``tui.core.advisor`` (reached through ``tui.advisor_services``):

* **Which model**: Hub GGUF repos ranked for the current profile at the current context (the
  Fit screen's), with their best label, tokens/s, faster runner-ups, tasks and license flags.
  Enter opens the best label on the Fit screen. ``/`` searches, ``m`` changes the slowest
  acceptable speed.
* **Which box**: the chosen model on the current profile and the catalog picks, each with its
  best placement, memory and tokens/s. The highlighted box is the one the sweep shows.
* **Context sweep**: tokens/s and memory from 512 tokens to the model's trained context.

Rankings read GGUF headers from the Hub, so they run in a worker (the newest request wins);
comparisons and sweeps are arithmetic but also leave the event loop alone.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from tui.screens.base import AppScreen
from tui.units import format_context, format_count, format_gib, format_rate
from tui.widgets.safe_markup import plain
from tui.widgets.sweep_plot import STATE_FITS, STATE_NO_FIT, STATE_OFFLOADED, PlotColumn, SweepPlot

#: Slowest acceptable decode speeds the ``m`` key cycles through (tokens/s).
MIN_SPEEDS = (10.0, 20.0, 40.0, 1.0, 5.0)

#: Verdict colours (the fit engine's words).
VERDICT_STYLES = {"fits": "green", "tight": "yellow", "does not fit": "red"}

#: Terminal width from which the tables show their extra columns (params, tasks; the boxes' hardware).
WIDE = 116

TAB_IDS = {"recommend": "advisor-recommend-tab", "compare": "advisor-compare-tab", "sweep": "advisor-sweep-tab"}


def _add_columns(table: DataTable, first: tuple[str, str], columns: list[tuple[str, str, int]], width: int) -> None:
    """The first column takes the width the others leave (each cell is padded by one on both sides)."""
    used = sum(w for _, _, w in columns) + 2 * (len(columns) + 1) + 4  # margins and the scrollbar
    table.add_column(first[1], key=first[0], width=max(14, width - used))
    for key, label, column_width in columns:
        table.add_column(label, key=key, width=column_width)


def short_context(n_tokens: int) -> str:
    """``4k``, ``40k``, ``17.2k``: a context in at most a few characters (k = 1024 tokens)."""
    if n_tokens >= 1024 and n_tokens % 1024:
        return f"{n_tokens / 1024:.1f}k"
    return format_context(n_tokens)


def short_placement(placement) -> str:
    """``GPU``, ``CPU``, ``24/49 GPU``, ``exp 21/48`` (MoE experts of 21 of 48 layers in RAM): a table cell."""
    estimate = placement.estimate
    if not estimate.gpu_devices:
        return "CPU"
    if placement.all_experts_on_cpu:
        return "exp all"
    if placement.n_cpu_moe:
        return f"exp {placement.n_cpu_moe}/{estimate.n_layers_total - 1}"
    if estimate.n_gpu_layers >= estimate.n_layers_total:
        return "GPU"
    return f"{estimate.n_gpu_layers}/{estimate.n_layers_total} GPU"


def hardware_cell(profile) -> str:
    """``24 GiB @936 · RAM @51 GB/s``: what decides a box's speed (VRAM size and speeds)."""
    ram = f"RAM @{profile.ram_bandwidth_gbps:.0f} GB/s"
    if profile.is_cpu_only:
        return ram
    vram = sum(g.vram_bytes for g in profile.gpus) / 1024**3
    speed = max(g.bandwidth_gbps for g in profile.gpus)
    if profile.unified_memory:
        return f"{vram:.0f} GiB @{speed:.0f} GB/s unified"
    return f"{vram:.0f} GiB @{speed:.0f} · {ram}"


def comparison_note(anatomy, results) -> Text:
    """The fastest box, and why boxes differ for this kind of model (dense: VRAM; MoE: RAM speed too)."""
    from tui.core.advisor.compare import best_box

    winner = best_box(results)
    text = Text()
    if winner is None:
        text.append("It fits none of these boxes at this context.", "yellow")
    else:
        text.append("Fastest: ", "dim")
        text.append(f"{winner.box.title} ~{format_rate(winner.placement.tokens_per_s)}", "bold")
    if anatomy.is_moe:
        text.append(f". MoE: a token reads {anatomy.n_expert_used} of {anatomy.n_expert} experts, so experts "
                    "kept in RAM cost little; fast RAM and a modest GPU go far.", "dim")
    else:
        text.append(". Dense: every weight is read for every token, so layers left in RAM run at RAM "
                    "speed: VRAM decides.", "dim")
    return text


def plot_columns(points) -> list[PlotColumn]:
    """Sweep points (``tui.core.advisor.sweep.SweepPoint``) as the plot's columns."""
    columns = []
    for point in points:
        if not point.fits:
            state = STATE_NO_FIT
        elif point.offloaded:
            state = STATE_OFFLOADED
        else:
            state = STATE_FITS
        has_gpu = point.placement is not None and bool(point.placement.estimate.gpu_devices)
        columns.append(PlotColumn(format_context(point.n_ctx), point.tokens_per_s if point.fits else 0.0,
                                  point.gpu_bytes, point.host_bytes, state, has_gpu))
    return columns


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
        Binding("r", "refresh", "Refresh", id="advisor-refresh"),
        Binding("escape", "leave_search", "Results", id="advisor-leave-search", show=False),
    ]

    class RepoSized(Message):
        """One more repo of a ranking has been sized (posted from the ranking's threads)."""

        def __init__(self, done: int, total: int, repo_id: str) -> None:
            super().__init__()
            self.done, self.total, self.repo_id = done, total, repo_id

    def __init__(self) -> None:
        super().__init__()
        self.min_speed = MIN_SPEEDS[0]
        self.recommendation = None
        self.box_results: list = []
        self.sweep_points: list = []
        self._query = ""
        self._ranked_for = None  # (profile, context, query, speed) of the shown ranking
        self._compared_for = None  # (model, profile, settings) of the shown comparison
        self._swept_for = None
        self._cancel: threading.Event | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="advisor-tabs", initial=TAB_IDS["recommend"]):
            with TabPane("Which model", id=TAB_IDS["recommend"]):
                with Horizontal(id="advisor-search-row"):
                    yield Input(placeholder="search Hub repos (empty: most downloaded)", id="advisor-search")
                    yield Label("", id="advisor-wants")
                yield Static("", id="advisor-recommend-status")
                yield DataTable(id="advisor-recommend-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="advisor-recommend-detail")
            with TabPane("Which box", id=TAB_IDS["compare"]):
                yield Static("", id="advisor-compare-status")
                yield DataTable(id="advisor-compare-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="advisor-compare-note")
            with TabPane("Context sweep", id=TAB_IDS["sweep"]):
                yield Static("", id="advisor-sweep-status")
                yield SweepPlot(id="advisor-sweep-plot")

    def on_mount(self) -> None:
        width = self.app.size.width
        table = self.query_one("#advisor-recommend-table", DataTable)
        columns = [("best", "Best", 10), ("tps", "t/s", 5), ("runs", "Runs", 9)]
        if width >= WIDE:
            columns += [("params", "Params", 10), ("tasks", "Tasks", 14)]
        columns.append(("license", "License", 14 if width >= WIDE else 8))
        _add_columns(table, ("repo", "Repo"), columns, width)
        boxes = self.query_one("#advisor-compare-table", DataTable)
        columns = [("verdict", "Fit", 12 if width >= WIDE else 6), ("runs", "Runs", 9), ("ctx", "Max ctx", 7),
                   ("vram", "VRAM", 9), ("ram", "RAM", 9), ("tps", "t/s", 5)]
        if width >= WIDE:
            columns.append(("hardware", "Hardware", 27))
        _add_columns(boxes, ("box", "Box"), columns, width)
        self._show_wants()
        self.watch(self.app, "profile", lambda _: self._inputs_changed(), init=False)
        self.watch(self.app, "model", lambda _: self._inputs_changed(), init=False)
        self._inputs_changed()
        table.focus()

    def on_screen_resume(self) -> None:
        self._inputs_changed()  # the Fit screen may have changed the context or the model meanwhile

    # -- what the advice depends on -------------------------------------------------------------

    def _inputs_changed(self) -> None:
        if not self.is_mounted:
            return
        self._rank_if_stale()
        self._compare_if_stale()

    def _rank_if_stale(self, force: bool = False) -> None:
        profile = self.app.profile
        if profile is None:
            self._status("#advisor-recommend-status", "Choose a hardware profile (F2) to rank models for it.")
            return
        key = (profile, self.app.settings.n_ctx, self._query, self.min_speed)
        if key == self._ranked_for and not force:
            return
        self._ranked_for = key
        if self._cancel is not None:
            self._cancel.set()
        self._cancel = self.app.work_event()
        what = f"'{self._query}'" if self._query else "the most downloaded GGUF repos"
        self._status("#advisor-recommend-status", f"Sizing {what} for {profile.name}… (headers only)")
        self._rank(profile, self.app.settings, self._query, self.min_speed, self._cancel)

    def _compare_if_stale(self, force: bool = False) -> None:
        model, profile, settings = self.app.model, self.app.profile, self.app.settings
        if model is None or profile is None:
            message = "No model yet: open one from Browse (F3) or with o on Fit (F4), or pick one under Which model."
            self._status("#advisor-compare-status", message)
            self._status("#advisor-sweep-status", message)
            return
        key = (model.spec, profile, settings.n_ctx, settings.cache_type_k, settings.cache_type_v, settings.flash_attn)
        if key == self._compared_for and not force:
            return
        self._compared_for = key
        self._status("#advisor-compare-status", f"Comparing {model.title} on {profile.name} and catalog boxes…")
        self._compare(model, profile, settings)

    def _status(self, selector: str, text: str | Text) -> None:
        self.query_one(selector, Static).update(text if isinstance(text, Text) else Text(text, "dim"))

    # -- which model -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-rank")
    def _rank(self, profile, settings, query: str, min_speed: float, cancel: threading.Event):
        from tui.advisor_services import recommend_for

        def progress(done: int, total: int, repo_id: str) -> None:
            if not cancel.is_set():
                self.post_message(self.RepoSized(done, total, repo_id))

        return recommend_for(self.app.services, profile, settings, query, min_speed, on_progress=progress,
                             cancel=cancel)

    def on_advisor_screen_repo_sized(self, event: RepoSized) -> None:
        if self._cancel is not None and not self._cancel.is_set():
            self._status("#advisor-recommend-status", plain(f"Sizing {event.done}/{event.total}: {event.repo_id}…", "dim"))

    def _show_recommendation(self, recommendation) -> None:
        self.recommendation = recommendation
        if self._cancel is not None:
            self._cancel.set()  # done: late progress messages no longer overwrite the status
        table = self.query_one("#advisor-recommend-table", DataTable)
        wide = "tasks" in table.columns
        table.clear()
        ranked = [a for a in recommendation.repos if a.best is not None]
        for advice in recommendation.repos:
            best = advice.best
            license_ = plain(advice.license or "?")
            if "non-commercial" in advice.flags:
                license_ = plain("NC " + (advice.license or ""), "bold red")
            elif "gated" in advice.flags:
                license_.append(" gated", "yellow")
            if best is None:
                cells = [plain(advice.repo_id, "dim"), Text("-", "dim"), "", Text("none", "red")]
            else:
                verdict_style = VERDICT_STYLES.get(best.placement.verdict, "")
                cells = [plain(advice.repo_id), plain(best.label), format_rate(best.tokens_per_s).replace(" t/s", ""),
                         Text(short_placement(best.placement), verdict_style)]
            if wide:
                moe = " MoE" if advice.is_moe else ""
                cells += [format_count(advice.n_params) + moe if advice.n_params else "-", plain(",".join(advice.tasks))]
            table.add_row(*cells, license_, key=advice.repo_id)
        request = recommendation.request
        status = Text(f"{len(ranked)} of {len(recommendation.repos)} repos run at ≥{request.min_tokens_per_s:g} t/s "
                      f"with {format_context(request.n_ctx or 4096)} context on {recommendation.profile_name}")
        if recommendation.stale_because is not None:
            status = plain(f"Hub unavailable ({recommendation.stale_because}); ranking its last cached answer", "yellow")
        self.query_one("#advisor-recommend-status", Static).update(status)
        self._show_detail()

    @on(DataTable.RowHighlighted, "#advisor-recommend-table")
    def _show_detail(self, event=None) -> None:
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

    def _highlighted_advice(self):
        if self.recommendation is None:
            return None
        table = self.query_one("#advisor-recommend-table", DataTable)
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
    def _open(self, advice, pick):
        from tui.advisor_services import open_pick

        return open_pick(self.app.services, advice, pick)

    # -- which box, and the sweep ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-compare")
    def _compare(self, model, profile, settings):
        from tui.advisor_services import boxes_like, compare_for

        return model, compare_for(model.anatomy, boxes_like(profile), settings)

    def _show_comparison(self, model, results) -> None:
        self.box_results = results
        table = self.query_one("#advisor-compare-table", DataTable)
        wide = "hardware" in table.columns
        table.clear()
        for index, result in enumerate(results):
            placement = result.placement
            if placement is None:
                cells = [result.box.title, Text("refused", "red"), "", "", "", "", ""]
            else:
                estimate = placement.estimate
                verdict = Text(placement.verdict if wide else placement.verdict.replace("does not fit", "no"),
                               VERDICT_STYLES.get(placement.verdict, ""))
                vram = f"{format_gib(placement.gpu_bytes)}/{format_gib(placement.gpu_capacity_bytes)}" \
                    if estimate.gpu_devices else "-"
                ram = f"{format_gib(placement.host_bytes)}/{format_gib(placement.host_capacity_bytes)}"
                rate = format_rate(placement.tokens_per_s).replace(" t/s", "") if placement.fits else "-"
                cells = [result.box.title, verdict, short_placement(placement),
                         short_context(result.max_context) if result.max_context else "-", vram, ram, rate]
            if wide:
                cells.append(Text(hardware_cell(result.box.profile), "dim"))
            table.add_row(*cells, key=str(index))
        self.query_one("#advisor-compare-note", Static).update(comparison_note(model.anatomy, results))
        settings = results[0].placement.settings if results and results[0].placement else self.app.settings
        self.query_one("#advisor-compare-status", Static).update(Text.assemble(
            (model.title, "bold"),
            f" at {format_context(settings.n_ctx)} context, best placement per box; VRAM/RAM GiB used/available"))
        self._sweep_highlighted()

    @on(DataTable.RowHighlighted, "#advisor-compare-table")
    def _sweep_highlighted(self, event=None) -> None:
        result = self._highlighted_box()
        model = self.app.model
        if result is None or model is None:
            return
        key = (model.spec, result.box.title, self._compared_for)
        if key == self._swept_for:
            return
        self._swept_for = key
        self._status("#advisor-sweep-status", f"Sweeping the context on {result.box.title}…")
        self._sweep(model, result.box, self.app.settings)

    def _highlighted_box(self):
        table = self.query_one("#advisor-compare-table", DataTable)
        if not self.box_results or table.row_count == 0:
            return None
        return self.box_results[min(table.cursor_row, len(self.box_results) - 1)]

    @work(thread=True, exclusive=True, exit_on_error=False, group="advisor-sweep")
    def _sweep(self, model, box, settings):
        from tui.advisor_services import sweep_for

        return model, box, sweep_for(model.anatomy, box.profile, settings)

    def _show_sweep(self, model, box, points) -> None:
        from tui.core.advisor.sweep import longest_fitting

        self.sweep_points = points
        plot = self.query_one("#advisor-sweep-plot", SweepPlot)
        plot.columns = tuple(plot_columns(points))
        plot.title = f"tokens/s on {box.title}"
        longest = longest_fitting(points)
        reach = f"fits up to {format_context(longest.n_ctx)}" if longest else "fits at no context step"
        self.query_one("#advisor-sweep-status", Static).update(Text.assemble(
            (model.title, "bold"), f" on {box.profile.name}: {reach}, best placement at each step",
            ("  (2: pick another box)", "dim")))

    # -- actions ---------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#advisor-tabs", TabbedContent).active = TAB_IDS[tab]
        target = {"recommend": "#advisor-recommend-table", "compare": "#advisor-compare-table"}.get(tab)
        if target:
            self.query_one(target, DataTable).focus()

    def action_focus_search(self) -> None:
        self.action_show_tab("recommend")
        self.query_one("#advisor-search", Input).focus()

    def action_leave_search(self) -> None:
        self.query_one("#advisor-recommend-table", DataTable).focus()

    @on(Input.Submitted, "#advisor-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._query = event.value.strip()
        self._rank_if_stale()
        self.action_leave_search()

    def action_cycle_min_speed(self) -> None:
        self.min_speed = MIN_SPEEDS[(MIN_SPEEDS.index(self.min_speed) + 1) % len(MIN_SPEEDS)]
        self._show_wants()
        self._rank_if_stale()

    def action_refresh(self) -> None:
        self._rank_if_stale(force=True)
        self._compare_if_stale(force=True)

    def _show_wants(self) -> None:
        self.query_one("#advisor-wants", Label).update(
            Text.assemble((" ≥", "dim"), (f"{self.min_speed:g} t/s", "bold"), (" (m)", "dim")))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_search":
            return self.focused is self.query_one("#advisor-search", Input)
        if action in ("show_tab", "cycle_min_speed", "refresh", "focus_search"):
            return not isinstance(self.focused, Input)  # typed letters and digits go into the search box
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    # -- worker results --------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker, state = event.worker, event.state
        if state == WorkerState.SUCCESS:
            if worker.group == "advisor-rank" and worker.result is not None:
                self._show_recommendation(worker.result)
            elif worker.group == "advisor-compare":
                self._show_comparison(*worker.result)
            elif worker.group == "advisor-sweep":
                self._show_sweep(*worker.result)
            elif worker.group == "advisor-open":
                self.app.choose_model(worker.result)
        elif state == WorkerState.ERROR:
            message = Text.assemble(("error: ", "bold red"), plain(str(worker.error)), ("  (r retries)", "dim"))
            if worker.group == "advisor-rank":
                self._ranked_for = None
                self.query_one("#advisor-recommend-status", Static).update(message)
            elif worker.group == "advisor-compare":
                self._compared_for = None
                self.query_one("#advisor-compare-status", Static).update(message)
            elif worker.group == "advisor-sweep":
                self._swept_for = None
                self.query_one("#advisor-sweep-status", Static).update(message)
            elif worker.group == "advisor-open":
                self.notify(str(worker.error), severity="error", title="Open")
