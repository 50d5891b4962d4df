"""The Advisor screen (F7), driven with Pilot against the fake Hub: rank, search, open, compare, sweep.

What the screen shows is checked against ``tui.core.advisor`` called directly, so the screen
presents the core's answer and nothing of its own.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tests.advisor_fixtures import GPU_BOX, MOE
from tests.tui_fixtures import FIXED_BOX, FixedServices, screen_text, wait_for
from tui.app import LocalAIApp
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.verdict import Verdict
from tui.widgets.sweep_plot import PlotColumn, SweepPlot, render_sweep_plot

MOE_SPEC = f"{MOE[0]}:Q4_K_M"


def _rows(app, table_id: str) -> list[str]:
    table = app.screen.query_one(table_id, DataTable)
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def _cell(app, table_id: str, row: int, column: str) -> str:
    table = app.screen.query_one(table_id, DataTable)
    return str(table.get_cell_at((row, table.get_column_index(column))))


async def _open_advisor(pilot, app) -> None:
    await pilot.press("f7")
    await wait_for(pilot, lambda: app.current_mode == "advisor" and app.screen.recommendation is not None,
                   timeout=60, what="the first ranking")


async def test_f7_ranks_models_like_the_core_and_enter_opens_the_best_label(advisor_hub):
    from tui.core.advisor.placement import describe_placement
    from tui.core.advisor.recommend import RecommendRequest, recommend_models

    app = LocalAIApp(services=FixedServices(hub_endpoint=advisor_hub.url), profile=GPU_BOX)
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_advisor(pilot, app)
        # The same defaults as ``localai-tui recommend`` (finding 9): 4k tokens or the model's context if less.
        assert app.screen.recommendation.request.n_ctx is None
        core = recommend_models(RecommendRequest(), GPU_BOX, LlamaSettings())
        assert _rows(app, "#advisor-recommend-table") == [a.repo_id for a in core.repos]
        first = core.repos[0]
        assert _cell(app, "#advisor-recommend-table", 0, "best") == first.best.label
        detail = str(app.screen.query_one("#advisor-recommend-detail").render())
        assert first.best.spec in detail and describe_placement(first.best.placement) in detail
        assert "Which model" in screen_text(app) and "license" in screen_text(app)

        await pilot.press("m")  # at least 20 t/s now: the ranking is asked again
        await wait_for(pilot, lambda: app.screen.recommendation.request.min_tokens_per_s == 20, what="a new ranking")
        assert all(a.best is None or a.best.tokens_per_s >= 20 for a in app.screen.recommendation.repos)

        await pilot.press("c")  # c: rank for 8k tokens of context
        await wait_for(pilot, lambda: app.screen.recommendation.request.n_ctx == 8192, what="the 8k ranking")
        assert "8k ctx (c)" in screen_text(app)

        await pilot.press("slash", *"qwen2.5-7b", "enter")
        await wait_for(pilot, lambda: app.screen.recommendation.request.text == "qwen2.5-7b", what="the search")
        assert _rows(app, "#advisor-recommend-table") == ["Qwen/Qwen2.5-7B-Instruct-GGUF"]
        assert app.focused is app.screen.query_one("#advisor-recommend-table")

        best = app.screen.recommendation.repos[0].best
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.model is not None, timeout=20, what="the label's header")
        assert app.model.repo_id == "Qwen/Qwen2.5-7B-Instruct-GGUF" and app.model.label == best.label
        assert app.current_mode == "fit"


async def test_which_box_matches_compare_and_the_sweep_follows_the_highlighted_box(advisor_hub):
    from tui.core.advisor.compare import compare_boxes, default_boxes
    from tui.core.advisor.sweep import context_sweep

    services = FixedServices(hub_endpoint=advisor_hub.url)
    app = LocalAIApp(services=services, profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7", "2")
        await wait_for(pilot, lambda: "No model yet" in str(app.screen.query_one("#advisor-compare-status").render()),
                       what="the no-model message")
        app.model = services.choose_model_spec(MOE_SPEC)
        await wait_for(pilot, lambda: app.screen.box_results and app.screen.sweep_points, timeout=30,
                       what="the comparison and sweep")
        boxes = default_boxes(current=FIXED_BOX)
        core = compare_boxes(app.model.anatomy, boxes, app.settings)
        assert [r.box.title for r in app.screen.box_results] == [b.title for b in boxes]
        for row, result in enumerate(core):
            shown = _cell(app, "#advisor-compare-table", row, "tps")
            assert shown == f"{result.placement.tokens_per_s:.0f}" if result.placement.tokens_per_s >= 100 \
                else shown == f"{result.placement.tokens_per_s:.1f}"
        assert _cell(app, "#advisor-compare-table", 1, "runs").startswith("exp ")  # the 3060: experts in RAM
        first_sweep = app.screen.sweep_points
        assert [p.n_ctx for p in first_sweep] == [p.n_ctx for p in context_sweep(app.model.anatomy, FIXED_BOX,
                                                                                 app.settings)]
        await pilot.press("down")  # the RTX 3060 box
        await wait_for(pilot, lambda: app.screen.sweep_points is not first_sweep, what="the 3060's sweep")
        expected = context_sweep(app.model.anatomy, boxes[1].profile, app.settings)
        assert [p.tokens_per_s for p in app.screen.sweep_points] == [p.tokens_per_s for p in expected]
        await pilot.press("3")
        plot = app.screen.query_one(SweepPlot)
        assert len(plot.columns) == len(expected) and plot.title == "tokens/s on RTX 3060 12GB"
        assert {c.state for c in plot.columns} == {Verdict.PARTIAL}  # experts in RAM at every context
        assert "context" in screen_text(app) and "part in RAM" in screen_text(app)


async def test_the_palette_and_f7_reach_the_advisor_without_a_profile():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to Advisor" in commands
        app.profile = None
        await pilot.press("f7")
        await pilot.pause()
        assert app.current_mode == "advisor"
        assert "Choose a hardware profile" in str(app.screen.query_one("#advisor-recommend-status").render())


async def test_hub_down_is_a_message_and_r_retries(advisor_hub):
    app = LocalAIApp(services=FixedServices(hub_endpoint=advisor_hub.url))  # opens at the profile screen
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        await pilot.pause()
        advisor_hub.inject(503, path_contains="/api/models", times=1, method="GET")
        app.profile = FIXED_BOX
        status = lambda: str(app.screen.query_one("#advisor-recommend-status").render())  # noqa: E731
        await wait_for(pilot, lambda: app.current_mode == "advisor" and "error" in status(), what="the Hub error")
        assert "r retries" in status()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.recommendation is not None, timeout=60, what="the retried ranking")
        assert app.screen.query_one("#advisor-recommend-table", DataTable).row_count > 0


# --- the plot widget ------------------------------------------------------------------------------


def _columns() -> list[PlotColumn]:
    gib = 1024**3
    return [PlotColumn("512", 80.0, 10 * gib, 2 * gib), PlotColumn("4k", 40.0, 11 * gib, 3 * gib, Verdict.PARTIAL),
            PlotColumn("32k", 0.0, 0, 40 * gib, Verdict.NO_FIT)]


def test_bars_are_proportional_and_labelled():
    text = render_sweep_plot(_columns(), width=60, height=18)
    lines = text.plain.splitlines()
    assert len(lines) == 18 and all(len(line) <= 60 for line in lines)
    bar_rows = [line for line in lines if "│" in line]
    full = sum(line.count("█") for line in bar_rows)
    heights = []
    for start in (0, 1, 2):  # measure each bar's column of cells
        column = [line.split("│", 1)[1][start * 17:(start + 1) * 17] for line in bar_rows]
        heights.append(sum(1 for cell in column if cell.strip() and "×" not in cell))
    assert heights[0] == len(bar_rows) and heights[1] == len(bar_rows) // 2 and heights[2] == 0
    assert full > 0 and "×" in bar_rows[-1]  # the step that does not fit is marked
    assert "context" in lines[-4] and "512" in lines[-4] and "32k" in lines[-4]
    assert "10.0" in lines[-3] and "40.0" in lines[-2]
    styles = {span.style for span in text.spans}
    assert {"#87d787", "#ffaf5f", "#ff5f5f"} <= styles


def test_an_empty_plot_says_so():
    assert render_sweep_plot([], 40, 10).plain == "no sweep yet"


async def test_the_widget_redraws_when_given_columns():
    class Host(App):
        def compose(self) -> ComposeResult:
            yield SweepPlot(id="plot")

    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one(SweepPlot)
        assert "no sweep yet" in str(plot.render())
        plot.columns = tuple(_columns())
        await pilot.pause()
        assert "32k" in str(plot.render())
