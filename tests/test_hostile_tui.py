"""Terminal injection and markup in the TUI: Hub fields, file names, model names and notifications.

A Hub whose metadata carries ``[/]`` (which crashed Browse with a MarkupError) and escape
sequences (which reached the terminal) must render as literal, visible text everywhere.
"""

from __future__ import annotations

from textual.widgets import DataTable

from tests.fake_hub import hf_home  # noqa: F401 - pytest fixture
from tests.hostile_data import ESCAPES, MARKUP
from tests.hostile_hub import start_hostile_hub, stories_file
from tests.hub_fixtures.catalog import FakeRepo
from tests.tui_fixtures import FIXED_BOX, FixedServices, screen_text, wait_for
from tui.app import LocalAIApp
from tui.screens.repo import RepoScreen

WEIRD = "weird[b]x[i].gguf"


def _hostile_repo() -> FakeRepo:
    return FakeRepo("hostile/markup-GGUF", [stories_file(WEIRD), stories_file("evil" + ESCAPES + "-Q4_0.gguf")],
                    downloads=10**6, license="mit" + ESCAPES,
                    gguf={"architecture": MARKUP + ESCAPES, "total": 292_000, "context_length": 512})


async def test_markup_and_escapes_from_the_hub_render_as_text(hf_home, monkeypatch):  # noqa: F811
    from tests.test_hostile_config import record_notices

    notices = record_notices(monkeypatch)
    hub = start_hostile_hub([_hostile_repo()], {}, hf_home, monkeypatch)
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub.url), profile=FIXED_BOX)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            results = app.screen.query_one("#results", DataTable)
            await wait_for(pilot, lambda: results.row_count > 0, timeout=30, what="the search results")
            shown = screen_text(app)
            assert "\x1b" not in shown and "[/]weird" in shown  # the architecture, literally
            await pilot.press("enter", "enter")  # focus the results, open the highlighted repo
            await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.quants is not None,
                           timeout=30, what="the repo's files")
            await pilot.pause()
            shown = screen_text(app)
            assert "weird[b]x" in shown  # the file name keeps its brackets
            assert "\x1b" not in shown and "\x07" not in shown
            app.notify("[/]" + ESCAPES, title=ESCAPES)  # a message quoting outside text: no MarkupError
            await pilot.pause()
            assert notices[-1] == "␛]0;pwned␇␛[2J␛]52;c;aGk=␇: [/]␛]0;pwned␇␛[2J␛]52;c;aGk=␇"
    finally:
        hub.hub.stop()


async def test_a_file_name_with_escapes_in_the_fit_and_chat_headers(tmp_path, stories_model):
    evil = tmp_path / ("evil" + ESCAPES + MARKUP.replace("/", "_") + ".gguf")
    evil.write_bytes(stories_model.read_bytes())
    app = LocalAIApp(model=str(evil), services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.model is not None, timeout=30, what="the model")
        await pilot.pause()
        shown = screen_text(app)
        assert "\x1b" not in shown and "\x07" not in shown
        assert "evil␛]0;pwned␇" in shown  # visible in the header, not acted on
