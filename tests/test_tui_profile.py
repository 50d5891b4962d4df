"""Flow tests for the GPU profile screen: filter the catalog, pick one or several cards, CPU-only, custom."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.tui_fixtures import FIXED_BOX, FixedServices, wait_for
from tui.app import LocalAIApp
from tui.core.hardware.profile_store import load_custom_profiles, load_hardware_settings
from tui.widgets.profile_header import ProfileHeader


def _catalog(app) -> DataTable:
    return app.screen.query_one("#catalog", DataTable)


async def test_first_run_opens_the_profile_screen_and_a_picked_card_is_remembered():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.current_mode == "profile"
        await wait_for(pilot, lambda: _catalog(app).row_count > 50, what="the catalog")
        await wait_for(pilot, lambda: "No NVIDIA GPU found" in str(app.screen.query_one("#detected").render()),
                       what="the detection panel")
        await pilot.press("slash", *"4090")
        assert app.screen.query_one("#profile-filter-input", Input).value == "4090"
        names = [_catalog(app).get_row_at(i)[0] for i in range(_catalog(app).row_count)]
        assert names and all("4090" in name for name in names)
        await pilot.press("enter")  # Enter in the filter sizes for the first match at once
        await wait_for(pilot, lambda: app.current_mode == "browse", what="the Browse screen")
        assert [g.name for g in app.profile.gpus] == ["RTX 4090"]
        assert "RTX 4090 24.0 GiB" in str(app.screen.query_one(ProfileHeader).render())
    assert load_hardware_settings().selected_gpu == ("RTX 4090",)
    # Next start: the remembered profile, straight at Browse.
    again = LocalAIApp(services=FixedServices())
    assert again.DEFAULT_MODE == "browse"


async def test_typing_on_the_table_filters_and_space_builds_a_multi_gpu_box():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: _catalog(app).row_count > 50, what="the catalog")
        await pilot.press(*"3090")  # letters typed on the table go to the filter
        assert app.screen.query_one("#profile-filter-input", Input).value == "3090"
        await pilot.press("escape")
        assert app.focused is _catalog(app)
        first = _catalog(app).get_row_at(0)[0]
        await pilot.press("space", "space", "enter")
        await wait_for(pilot, lambda: app.profile is not None, what="the profile")
        assert [g.name for g in app.profile.gpus] == [first, first]
        assert app.profile.total_vram_bytes == 2 * app.profile.gpus[0].vram_bytes


async def test_cpu_only_and_detected_keys():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen._detection_done, what="detection")
        await pilot.press("c")
        await wait_for(pilot, lambda: app.profile is not None, what="the profile")
        assert app.profile.is_cpu_only
    assert load_hardware_settings().selected_gpu == ("cpu",)


async def test_d_on_a_box_without_a_gpu_says_so_and_uses_its_cpu_and_ram():
    """Finding 15: d (this box) with no NVIDIA GPU is not silent."""
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen._detection_done, what="detection")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.profile is not None, what="the profile")
        assert app.profile.is_cpu_only
        assert any("No NVIDIA GPU found" in str(n.message) for n in app._notifications)


async def test_custom_profile_form_checks_numbers_and_saves():
    app = LocalAIApp(services=FixedServices())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen._detection_done, what="detection")
        await pilot.press("n")
        form = app.screen
        assert type(form).__name__ == "CustomProfileScreen"
        assert form.query_one("#custom-ram_gib", Input).value == f"{FIXED_BOX.ram_bytes / 2**30:.0f}"
        await pilot.press(*"lab box", "tab", *"Tesla P40", "tab", "2", "tab", *"lots", "ctrl+s")
        assert "not a number" in str(form.query_one("#custom-error").render())
        form.query_one("#custom-vram_gib", Input).value = "24"
        form.query_one("#custom-bandwidth_gbps", Input).value = "347"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.profile is not None, what="the custom profile")
        assert app.profile.name == "lab box"
        assert len(app.profile.gpus) == 2 and app.profile.gpus[0].bandwidth_gbps == 347
    assert [p.name for p in load_custom_profiles()] == ["lab box"]
