"""Speed against depth (llama-bench ``-d``): one core function, in ``compare --sweep`` (text and JSON)."""

from __future__ import annotations

import json

import pytest

from tests.fit_models import Q4_K, make_anatomy
from tui.core.advisor.sweep import depth_sweep, sweep_depths
from tui.core.errors import LocalAIError
from tui.core.fit.estimate import estimate_fit
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

#: Llama-3-8B's shapes at Q4_K: 32 layers, 8 KV heads of 128, 128k trained context.
LLAMA_8B = make_anatomy(n_layer=32, n_embd=4096, n_head=32, n_head_kv=8, n_ff=14336, n_vocab=128256,
                        n_ctx_train=131072, wtype=Q4_K)
RTX_3090 = HardwareProfile("RTX 3090 box", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0),), ram_bytes=64 * GiB,
                           ram_bandwidth_gbps=51.2)


def test_depth_steps_double_from_0_to_the_context():
    assert sweep_depths(4096) == [0, 512, 1024, 2048, 4096]
    assert sweep_depths(3000) == [0, 512, 1024, 2048, 3000]
    assert sweep_depths(256) == [0, 256]
    with pytest.raises(LocalAIError):
        sweep_depths(0)


@pytest.mark.parametrize("profile", [RTX_3090, HardwareProfile("CPU box", ram_bytes=64 * GiB, ram_bandwidth_gbps=51.2)])
def test_decode_speed_falls_as_the_cache_fills_on_a_real_size_model(profile):
    settings = LlamaSettings(n_ctx=32768)
    placement, points = depth_sweep(LLAMA_8B, profile, settings)
    assert [p.depth for p in points] == [0, 512, 1024, 2048, 4096, 8192, 16384, 32768]
    rates = [p.tokens_per_s for p in points]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False)), rates
    assert rates[-1] < 0.9 * rates[0]  # a full 32k cache (4 GiB of f16 KV) is read for every token
    # each point is estimate_fit at that depth with the placement chosen for the context
    for p in (points[0], points[-1]):
        assert p.tokens_per_s == estimate_fit(LLAMA_8B, profile, placement.settings, depth=p.depth).est_tokens_per_s
    assert points[0].to_dict()["depth"] == 0 and points[0].to_dict()["est_tokens_per_s"] > 0
    with pytest.raises(LocalAIError):
        depth_sweep(LLAMA_8B, profile, settings, depths=[-1])


def test_compare_sweep_prints_and_returns_speed_by_depth(stories_model, capsys):
    from tui.cli import main

    args = ["compare", str(stories_model), "--gpu", "RTX 3090", "-c", "2048", "--sweep"]
    assert main([*args, "--json"]) == 0
    (sweep,) = json.loads(capsys.readouterr().out)["sweep"]
    depths = sweep["depth_points"]
    assert sweep["n_ctx"] == 2048 and [d["depth"] for d in depths] == [0, 512, 1024, 2048]
    assert depths[0]["est_tokens_per_s"] > depths[-1]["est_tokens_per_s"] > 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "decode speed by depth on RTX 3090, 2k context:" in out
    table = out.split("decode speed by depth")[1].splitlines()
    assert table[1].split() == ["DEPTH", "T/S", "RANGE"] and table[3].split()[0] == "0"


async def test_the_advisor_sweep_plots_speed_by_depth_on_d(stories_model):
    from tests.tui_fixtures import FIXED_BOX, FixedServices, screen_text, settle, wait_for
    from tui.app import LocalAIApp
    from tui.widgets.sweep_plot import SweepPlot

    app = LocalAIApp(model=str(stories_model), services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await pilot.press("f7", "3")
        await wait_for(pilot, lambda: app.screen.sweep_points, timeout=30, what="the sweep")
        plot = app.screen.query_one(SweepPlot)
        assert plot.x_name == "context" and plot.memory
        await pilot.press("d")
        await settle(pilot)
        placement, expected = depth_sweep(app.model.anatomy, FIXED_BOX, app.settings)
        assert plot.x_name == "depth" and not plot.memory
        assert [c.label for c in plot.columns] == ["0", "512", "1k", "2k"] == \
            ["0" if p.depth == 0 else f"{p.depth // 1024}k" if p.depth >= 1024 else str(p.depth) for p in expected]
        assert [c.tokens_per_s for c in plot.columns] == [p.tokens_per_s for p in expected]
        assert plot.columns[0].tokens_per_s > plot.columns[-1].tokens_per_s
        text = screen_text(app)
        assert "by depth, 2k context" in text and "depth" in text and "VRAM" not in text
        await pilot.press("d")  # back to the context sweep
        await settle(pilot)
        assert plot.x_name == "context" and "VRAM" in screen_text(app)


def test_the_context_sweep_says_how_long_a_prompt_that_fills_each_context_takes(capsys):
    from tui.core.advisor.sweep import context_sweep

    points = context_sweep(LLAMA_8B, RTX_3090, LlamaSettings(), contexts=[4096, 8192, 16384])
    fills = [p.fill_s for p in points]
    assert all(f is not None and f > 0 for f in fills)
    # twice the prompt costs more than twice the time: each token attends to every token before it
    assert fills[1] > 2 * fills[0] and fills[2] > 2 * fills[1]
    p = points[0]
    assert p.fill_s == estimate_fit(LLAMA_8B, RTX_3090, p.placement.settings, prompt_tokens=4096).est_ttft_s
    assert p.to_dict()["est_fill_s"] == round(p.fill_s, 3)
