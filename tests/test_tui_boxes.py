"""Helper boxes in the app: added on the GPU profile screen (keyboard only), remembered, and shown on
the Fit screen as one bar per box and device with the rpc-server and llama-server commands."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from tests.tui_fixtures import FixedServices, screen_text, wait_for
from tui.app import LocalAIApp
from tui.core.hardware.boxes import attach_boxes, parse_rpc_arg
from tui.core.hardware.devices import GiB, GpuSpec, HardwareProfile
from tui.core.hardware.profile_store import load_hardware_settings
from tui.screens.boxes import BoxesScreen
from tui.widgets.memory_bar import MemoryBar

HEAD = HardwareProfile("RTX 3060 box", gpus=(GpuSpec("RTX 3060 12GB", 12 * GiB, 360.0),), ram_bytes=32 * GiB,
                       ram_bandwidth_gbps=51.2)


@pytest.fixture(scope="module")
def llama8(tmp_path_factory):
    from tests.gguf_factory import make_header_only

    path = tmp_path_factory.mktemp("boxes") / "Llama-8B-Q4_K_M.gguf"
    return make_header_only(path, "llama-3.1-8b-q4_k_m").path


async def _type(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", ":": "colon", ".": "full_stop", "+": "plus"}.get(c, c) for c in text])


async def test_add_a_box_on_the_profile_screen_and_it_is_remembered():
    app = LocalAIApp(services=FixedServices(), profile=HEAD)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.switch_mode("profile")
        await wait_for(pilot, lambda: app.screen.query("#profile-boxes"), what="the profile screen")
        assert not app.screen.query_one("#profile-boxes").display  # no boxes yet: the footer offers b
        await pilot.press("escape")
        app.screen.query_one("#catalog", DataTable).focus()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BoxesScreen), what="the boxes form")
        form = app.screen
        await _type(pilot, "192.168.1.20:50052")
        await pilot.press("tab")
        await _type(pilot, "RTX 3060 12GB")
        await pilot.press("tab")
        await _type(pilot, "10gbe")
        await pilot.press("tab")
        await _type(pilot, "gaming-pc")
        await pilot.press("enter")
        assert [b.name for b in form.boxes] == ["gaming-pc"]
        assert form.query_one("#boxes-table", DataTable).row_count == 1
        # a bad one says why, in one line, and adds nothing
        await _type(pilot, "10.0.0.9")
        await pilot.press("tab")
        await _type(pilot, "cpu")
        await pilot.press("tab", "tab", "enter")
        assert len(form.boxes) == 1 and "cpu:32" in str(form.query_one("#boxes-error").render())
        form.query_one("#boxes-address", Input).value = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.profile is not None and app.profile.boxes, what="the boxes kept")
        assert [g.box for g in app.profile.gpus] == ["192.168.1.20:50052", ""]
        await wait_for(pilot, lambda: app.screen.query_one("#profile-boxes").display, what="the boxes panel")
        assert "gaming-pc" in screen_text(app) and "10 GbE" in screen_text(app)
    saved = load_hardware_settings().boxes
    assert [(b.name, b.endpoint, b.link.key) for b in saved] == [("gaming-pc", "192.168.1.20:50052", "10gbe")]


async def test_fit_shows_one_bar_per_box_and_device_and_the_commands(llama8):
    profile = attach_boxes(HEAD, [parse_rpc_arg("192.168.1.20:50052=RTX 3060 12GB", "10gbe"),
                                  parse_rpc_arg("192.168.1.21=cpu:16", "1gbe")])
    app = LocalAIApp(model=str(llama8), services=FixedServices(), profile=profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        titles = [bar.usage.title for bar in app.screen.query(MemoryBar)]
        assert titles == ["192.168.1.20 RTX 3060 12GB", "192.168.1.21 CPU 16 GiB", "head GPU0 RTX 3060 12GB",
                          "head RAM"]
        await pilot.pause()
        text = screen_text(app)
        assert "192.168.1.20$ ggml-rpc-server -H 0.0.0.0 -p 50052 -d CUDA0 -c" in text
        assert "head$ llama-server" in text and "--rpc" in text  # the line may wrap after --rpc
        assert "192.168.1.20:50052,192.168.1.21:50052" in text and "-ts 12,16,12" in text
        assert "network" in str(app.screen.query_one("#fit-verdict").render())


def test_the_header_names_the_head_and_counts_the_boxes():
    from tui.widgets.profile_header import describe_profile

    profile = attach_boxes(HEAD, [parse_rpc_arg("10.0.0.2=cpu:32"), parse_rpc_arg("10.0.0.3=RTX 3090")])
    assert describe_profile(profile) == "RTX 3060 12GB 12.0 GiB + 32.0 GiB RAM + 2 boxes (56.0 GiB)"
    assert describe_profile(profile, compact=True) == "RTX 3060 12GB 12G + 32G RAM + 2 boxes (56G)"
