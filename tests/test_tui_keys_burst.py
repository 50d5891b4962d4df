"""Keys that arrive together (SSH, a paste) reach the widget that has focus after the key before them.

Textual routes every key to the widget focused when the app reads it; a key that moves focus
(Tab, Enter, ``/``, a letter typed on a table) therefore has to take effect in the app's own key
loop, before the next key is routed. Each test sends a whole burst in one read (``burst``).
"""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.tui_fixtures import FIXED_BOX, FixedServices, burst, wait_for
from tui.app import LocalAIApp
from tui.screens.custom_profile import CustomProfileScreen
from tui.screens.repo import RepoScreen


async def test_browse_search_burst_types_into_the_box_then_submits(hub_env):
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        results = app.screen.query_one("#results", DataTable)
        await wait_for(pilot, lambda: results.row_count > 0, what="the first results")
        await pilot.press("escape")  # the results table has focus, as after browsing
        assert app.focused is results
        await burst(pilot, "/gemma\r")
        search = app.screen.query_one("#search-input", Input)
        assert search.value == "gemma"
        assert not isinstance(app.screen, RepoScreen)
        await wait_for(pilot, lambda: results.row_count > 0 and all(
            "gemma" in str(results.coordinate_to_cell_key((i, 0)).row_key.value).lower()
            for i in range(results.row_count)), what="the gemma results")
        assert app.focused is results


async def test_custom_profile_form_burst_fills_each_field():
    app = LocalAIApp(services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CustomProfileScreen(FIXED_BOX))
        await pilot.pause()
        await burst(pilot, "box1\tMy Card\t2\t24\t900")
        form = app.screen
        values = {key: form.query_one(f"#custom-{key}", Input).value
                  for key in ("name", "gpu_name", "gpu_count", "vram_gib", "bandwidth_gbps")}
        assert values == {"name": "box1", "gpu_name": "My Card", "gpu_count": "2", "vram_gib": "24",
                          "bandwidth_gbps": "900"}


async def test_custom_profile_opened_and_filled_in_one_burst_on_the_profile_screen():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#catalog", DataTable).row_count > 50, what="the catalog")
        await burst(pilot, "nbox1\tMy Card")
        assert isinstance(app.screen, CustomProfileScreen)
        assert app.screen.query_one("#custom-name", Input).value == "box1"
        assert app.screen.query_one("#custom-gpu_name", Input).value == "My Card"


async def test_chat_settings_burst_fills_prompt_and_sampling():
    from tui.core.engine.sampling import SamplingSettings
    from tui.screens.chat_settings import ChatSettingsScreen

    app = LocalAIApp(services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ChatSettingsScreen(None, SamplingSettings()))
        await pilot.pause()
        for name in ("temperature", "top_p"):
            app.screen.query_one(f"#cs-{name}", Input).value = ""
        await burst(pilot, "Hi\t0.5\t0.9")
        assert app.screen.query_one("#cs-system", Input).value == "Hi"
        assert app.screen.query_one("#cs-temperature", Input).value == "0.5"
        assert app.screen.query_one("#cs-top_p", Input).value == "0.9"


async def test_chat_settings_opened_and_filled_in_one_burst():
    """ctrl+o and the keys after it arrive together: they fill the form, not the chat box."""
    app = LocalAIApp(services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.switch_mode("chat")
        await pilot.pause()
        from textual import events

        app.post_message(events.Key("ctrl+o", None))
        await burst(pilot, "Hi\t")
        assert type(app.screen).__name__ == "ChatSettingsScreen"
        assert app.screen.query_one("#cs-system", Input).value == "Hi"


async def test_profile_filter_burst_types_then_enter_picks_the_first_match():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        catalog = app.screen.query_one("#catalog", DataTable)
        await wait_for(pilot, lambda: catalog.row_count > 50, what="the catalog")
        await burst(pilot, "4090\r")  # typed on the table: the filter takes the digits, Enter picks at once
        await wait_for(pilot, lambda: app.profile is not None, what="the chosen profile")
        assert [g.name for g in app.profile.gpus] == ["RTX 4090"]


async def test_profile_filter_finds_saved_custom_profiles_and_says_when_nothing_matches():
    """Finding 6: a saved custom profile is a row of the profile screen, found by its name or its card."""
    from tui.services import Services

    Services().save_custom_profile({"name": "box1", "ram_gib": 64, "ram_bandwidth_gbps": 51.2,
                                    "gpu": [{"name": "My Card", "vram_gib": 24, "bandwidth_gbps": 900,
                                             "backend": "CUDA"}] * 2})
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        catalog = app.screen.query_one("#catalog", DataTable)
        await wait_for(pilot, lambda: catalog.row_count > 50, what="the catalog")
        for words in ("box", "my card"):
            await pilot.press("slash")
            app.screen.query_one("#profile-filter-input", Input).value = words
            await pilot.pause()
            assert catalog.row_count == 1, words
            assert "box1" in str(catalog.get_row_at(0)[0])
        app.screen.query_one("#profile-filter-input", Input).value = "zzzz"
        await pilot.pause()
        assert catalog.row_count == 0
        assert "No device matches" in str(app.screen.query_one("#profile-picked").render())
        app.screen.query_one("#profile-filter-input", Input).value = "box1"
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.profile is not None, what="the custom profile")
        assert app.profile.name == "box1" and [g.name for g in app.profile.gpus] == ["My Card", "My Card"]


async def test_f1_and_the_palette_list_every_key_and_action_of_chat():
    """Finding 11: F1 on Chat names enter, escape, ctrl+c and ctrl+x (even while they do nothing);
    the palette lists each screen action, Quit once."""
    from textual.command import CommandPalette

    from tui.screens.help import key_rows

    app = LocalAIApp(services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.switch_mode("chat")
        await pilot.pause()
        keys = " ".join(key for key, _, _ in key_rows(app.screen))
        for key in ("enter", "esc", "ctrl+c", "ctrl+x"):
            assert key in keys.replace("^", "ctrl+").lower(), key
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles.count("Quit") == 1
        for title in ("Cancel load", "Send the message", "Stop", "Settings"):
            assert title in titles, title
        await app.switch_mode("fit")
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Chat" in titles and "Auto-fit" in titles
        assert not isinstance(app.screen, CommandPalette)


async def test_chat_enter_in_a_burst_sends_what_came_before_and_keeps_what_came_after(stories_model):
    """"Once⏎upon" in one read: "Once" is sent, "upon" waits in the box (not lost to the clearing)."""
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.session is not None, timeout=30, what="the model to load")
        chat = app.screen
        await burst(pilot, "Once\rupon")
        assert chat._generating  # "Once" went out
        assert chat.query_one("#chat-input", Input).value == "upon"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not chat._generating, timeout=30, what="the stop")
