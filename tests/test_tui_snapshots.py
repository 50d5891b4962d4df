"""SVG snapshots of every screen at 80x24 and 120x36, with fixed data (no detected hardware, no clocks).

The hardware is ``FIXED_BOX`` (a CPU-only box) or a catalog card, the models come from the
loopback fake Hub (real repo names, sizes and headers; remote models show ``-hf`` commands, so no
temporary path appears), and nothing timed (load time, tokens/s, memory) is on screen.

Regenerate after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the report before committing the new pictures.
"""

from __future__ import annotations

import pytest

from tests.tui_fixtures import FIXED_BOX, FixedServices, log_dir_for_snapshots, settle, wait_for
from tui.app import LocalAIApp
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

SIZES = [(80, 24), (120, 36)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]

#: A catalog card (numbers as the catalog has them), so the Fit and repo pictures show GPU bars and badges.
RTX_3090_BOX = HardwareProfile("RTX 3090 + 64 GiB RAM", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0),),
                               ram_bytes=64 * GiB, ram_bandwidth_gbps=51.2, source="catalog")


def _app(**kw) -> LocalAIApp:
    services = FixedServices(hub_endpoint=kw.pop("hub_endpoint", None), log_dir=log_dir_for_snapshots())
    return LocalAIApp(services=services, **kw)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_profile_screen(snap_compare, size):
    app = _app()

    async def ready(pilot):
        await wait_for(pilot, lambda: app.screen._detection_done and app.screen.query_one("#catalog").row_count,
                       what="catalog and detection")
        await pilot.press(*"rtx 40")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_custom_profile_form(snap_compare, size):
    app = _app()

    async def ready(pilot):
        await wait_for(pilot, lambda: app.screen._detection_done, what="detection")
        await pilot.press("n", *"lab box", "tab", *"RTX 3090", "tab", "2", "tab", *"24", "tab", *"lots", "ctrl+s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_browse_screen(snap_compare, size, hub_env):
    app = _app(hub_endpoint=hub_env.url, profile=FIXED_BOX)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.screen.query_one("#results").row_count > 0, what="results")
        await pilot.press("escape")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_browse_hub_down(snap_compare, size, hub_env):
    app = _app(hub_endpoint=hub_env.url, profile=FIXED_BOX)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.screen.query_one("#results").row_count > 0, what="results")
        hub_env.inject(503, "/api/models", times=10)
        app.screen.search("never searched before")
        await wait_for(pilot, lambda: "Hub:" in str(app.screen.query_one("#search-status").render()),
                       what="the error line")
        await pilot.press("escape")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_repo_files_screen(snap_compare, size, hub_env):
    from tui.screens.repo import RepoScreen

    app = _app(hub_endpoint=hub_env.url, profile=RTX_3090_BOX)

    async def ready(pilot):
        app.push_screen(RepoScreen("unsloth/Qwen3-30B-A3B-GGUF"))
        await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.badges, timeout=20,
                       what="the repo's files and badges")
        app.screen.query_one("#repo-files").move_cursor(row=3)  # Q8_0: partial, experts in RAM
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_fit_screen(snap_compare, size, hub_env):
    """A MoE model from the (fake) Hub on a 24 GiB card after auto-fit: bars, MoE slider, -hf command."""
    app = _app(hub_endpoint=hub_env.url, profile=RTX_3090_BOX, model="unsloth/Qwen3-30B-A3B-GGUF:Q8_0")

    async def ready(pilot):
        await wait_for(pilot, lambda: getattr(app.screen, "estimate", None) is not None, timeout=20,
                       what="the estimate")
        await pilot.press("a")
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_fit_screen_without_a_model(snap_compare, size):
    app = _app(profile=FIXED_BOX)

    async def ready(pilot):
        await app.switch_mode("fit")
        await pilot.press("o")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_chat_screen_with_a_model_not_downloaded(snap_compare, size, hub_env):
    app = _app(hub_endpoint=hub_env.url, profile=RTX_3090_BOX, model="ggml-org/models:Q4_0", open_chat=True)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.model is not None, timeout=20, what="the model's header")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_chat_settings_form(snap_compare, size):
    app = _app(profile=FIXED_BOX)

    async def ready(pilot):
        await app.switch_mode("chat")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChatSettingsScreen" and app.focused is not None,
                       what="the settings form")  # a loaded machine may take longer than a fixed pause
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_help_over_chat_without_a_model(snap_compare, size):
    app = _app(profile=FIXED_BOX)

    async def ready(pilot):
        await app.switch_mode("chat")
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_log_screen_without_a_log(snap_compare, size):
    app = _app(profile=FIXED_BOX)

    async def ready(pilot):
        await app.switch_mode("fit")
        await pilot.press("f6")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)
