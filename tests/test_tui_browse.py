"""Flow tests for Browse and a repo's files, against the loopback fake Hub: search, sort, open, pick, errors."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.tui_fixtures import FIXED_BOX, FixedServices, notifications, screen_text, wait_for
from tui.app import LocalAIApp
from tui.screens.repo import RepoScreen


def _results(app) -> DataTable:
    return app.screen.query_one("#results", DataTable)


def _repo_ids(app) -> list[str]:
    table = _results(app)
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


async def test_search_open_a_repo_and_pick_a_label(hub_env, monkeypatch):
    import tui.screens.browse

    # A debounce longer than any pause between two key presses on a loaded machine: one search per burst.
    monkeypatch.setattr(tui.screens.browse, "SEARCH_DEBOUNCE_S", 2.0)
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.current_mode == "browse"
        await wait_for(pilot, lambda: _results(app).row_count > 0, what="the first results")
        popular = _repo_ids(app)
        assert popular[0] == "unsloth/Qwen3-30B-A3B-GGUF"  # most downloaded first
        await pilot.press(*"qwen2.5")
        await wait_for(pilot, lambda: _repo_ids(app) != popular, timeout=20, what="the debounced search")
        assert _repo_ids(app) and all("qwen2.5" in r.lower() for r in _repo_ids(app))
        # Only the last query of the burst reached the Hub (debounce + exclusive worker).
        searches = [r for r in hub_env.requests_for("/api/models") if "search=" in r.path]
        assert all("qwen2.5" in r.path.lower() for r in searches)
        await pilot.press("enter")  # submit: focus the results
        await pilot.press("enter")  # open the highlighted repo
        await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.quants is not None,
                       what="the repo's files")
        labels = [g.name for g in app.screen.quants.groups]
        assert "Q4_K_M" in labels
        assert "4.36 GiB" in screen_text(app)
        table = app.screen.query_one("#repo-files", DataTable)
        table.move_cursor(row=labels.index("Q4_K_M"))
        await pilot.pause()
        assert "Q4_K_M" in str(app.screen.query_one("#label-explained").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.model is not None, timeout=20, what="the header read")
        assert app.model.label == "Q4_K_M" and app.model.repo_id == "Qwen/Qwen2.5-7B-Instruct-GGUF"
        assert app.model.anatomy.architecture == "qwen2"
        assert not app.model.is_local
        assert app.current_mode == "fit"


async def test_sort_key_asks_the_hub_again(hub_env):
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=FIXED_BOX)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: _results(app).row_count > 0, what="the first results")
        await pilot.press("escape", "s")  # leave the search box, sort by likes
        await wait_for(pilot, lambda: "sorted by likes" in str(app.screen.query_one("#search-status").render()),
                       what="results sorted by likes")
        likes = [r.likes for r in app.screen.results]
        assert likes == sorted(likes, reverse=True)


async def test_hub_down_shows_a_message_then_the_cached_answer(hub_env):
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: _results(app).row_count > 0, what="the first results")
        hub_env.inject(503, "/api/models", times=5)
        await pilot.press("escape", "r")
        await wait_for(pilot, lambda: "cached" in str(app.screen.query_one("#search-status").render()),
                       what="the cached answer")
        assert _results(app).row_count > 0
        hub_env.inject(503, "/api/models", times=5)
        app.screen.search("never searched before")
        await wait_for(pilot, lambda: "Hub:" in str(app.screen.query_one("#search-status").render()),
                       what="the error line")
        assert "503" in str(app.screen.query_one("#search-status").render()) or "server" in screen_text(app).lower()


async def test_gated_repo_says_so_and_stays_usable(hub_env):
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=FIXED_BOX)
    seen: list = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: _results(app).row_count > 0, what="the first results")
        app.push_screen(RepoScreen("google/gemma-3-1b-it-qat-q4_0-gguf"))
        await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.quants is not None,
                       what="the gated repo's (public) file list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("gated" in n.lower() or "access" in n.lower() for n in notifications(seen)),
                       timeout=20, what="the gated message")
        assert app.model is None and isinstance(app.screen, RepoScreen)
        explained = str(app.screen.query_one("#label-explained").render())
        assert "`hf auth login` or set HF_TOKEN" in explained  # the whole hint, on the page (finding 12)
        await pilot.press("escape")
        assert app.screen.WHERE == "Browse"


async def test_repo_rows_carry_fit_badges_for_the_profile_and_side_files_stand_apart(hub_env):
    from tui.core.hardware.devices import GpuSpec, HardwareProfile
    from tui.core.sizes import GiB

    box = HardwareProfile("RTX 3090 box", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0),), ram_bytes=64 * GiB)
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=box)
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(RepoScreen("unsloth/Qwen3-30B-A3B-GGUF"))
        await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.badges, timeout=20,
                       what="the fit badges")
        repo = app.screen
        table = repo.query_one("#repo-files", DataTable)
        fit = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[4]) for i in range(table.row_count)}
        assert fit["UD-IQ1_S"] == "fits"  # 6.7 GiB on a 24 GiB card; its header was read: no *
        assert fit["Q4_K_M"] == "fits*"  # 17 GiB: fits, estimated from the file size
        assert fit["Q8_0"] == "partial*" and fit["BF16"] == "partial*"  # 30 and 57 GiB: part in RAM
        assert "Fit on RTX 3090 box, 4k context" in str(repo.query_one("#repo-fit-note").render())
        table.move_cursor(row=[g.name for g in repo.quants.groups].index("Q8_0"))
        await pilot.pause()
        side = str(repo.query_one("#label-explained").render())
        assert side.startswith("partial  ~") and "part of it in system RAM" in side and "--n-cpu-moe" in side
        assert "8-bit" in side or "Q8_0" in side  # then the label explained
        await pilot.press("escape")

        app.push_screen(RepoScreen("unsloth/Qwen2.5-VL-7B-Instruct-GGUF"))
        await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.badges, timeout=20,
                       what="the vision repo's badges")
        repo = app.screen
        assert [g.name for g in repo.quants.groups] == ["Q4_K_M", "UD-Q4_K_XL"]  # projectors are not rows
        assert "Side files, not models: mmproj-F16.gguf" in str(repo.query_one("#repo-side-files").render())
        assert "+ mmproj-F16.gguf" in str(repo.query_one("#label-explained").render())


async def test_n_loads_the_next_page_of_results_until_the_last(hub_env):
    from tui.core.hub.search import search_models

    everything = [r.repo_id for r in search_models(limit=100).results]
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url, search_page_size=5), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: _results(app).row_count == 5, what="the first page")
        screen = app.screen
        await pilot.press("escape")  # from the search box to the results
        assert screen.check_action("more_results", ()) is True
        assert "n: more" in str(screen.query_one("#search-status").render())
        cursor = _results(app).cursor_row
        pages = 1
        while screen.check_action("more_results", ()):
            shown = _results(app).row_count
            await pilot.press("n")
            await wait_for(pilot, lambda shown=shown: _results(app).row_count > shown, what="the next page")
            pages += 1
        assert pages == -(-len(everything) // 5) and _repo_ids(app) == everything
        assert _results(app).cursor_row == cursor  # appending keeps the place
        assert "n: more" not in str(screen.query_one("#search-status").render())
        await pilot.press("s")  # a new search starts again from its first page
        await wait_for(pilot, lambda: _results(app).row_count == 5, what="the re-sorted first page")
