"""A vision model's projector in the fit: ``fit MODEL --mmproj FILE|auto`` counts the projector's
weights (clip.cpp's per-tensor sum) on the first GPU, from the loopback fake Hub's real-shaped
mmproj headers or a local file."""

from __future__ import annotations

import json

from tui.cli import main


def _fit_json(capsys, *argv: str) -> dict:
    assert main(["fit", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_auto_counts_the_repos_projector_on_the_gpu(hub_env, capsys):
    spec = "unsloth/Qwen2.5-VL-7B-Instruct-GGUF:Q4_K_M"
    plain = _fit_json(capsys, spec, "--gpu", "RTX 3090")
    with_proj = _fit_json(capsys, spec, "--gpu", "RTX 3090", "--mmproj", "auto")
    projector = with_proj["projector"]
    assert projector["file"].endswith("/mmproj-F16.gguf")  # F16 first among F16/BF16/F32
    assert projector["projector_type"] == "qwen2.5vl_merger" and projector["has_vision"]
    gpu, gpu_plain = with_proj["devices"][0], plain["devices"][0]
    assert gpu["projector_bytes"] == projector["weights_bytes"] > 100 * 1024**2
    assert gpu["total_bytes"] == gpu_plain["total_bytes"] + projector["weights_bytes"]
    assert with_proj["devices"][-1]["projector_bytes"] == 0
    assert any("vision projector mmproj-F16.gguf" in w for w in with_proj["warnings"])
    assert plain["projector"] is None


def test_auto_for_a_repo_without_a_projector_says_so(hub_env, capsys):
    assert main(["fit", "ggml-org/models:Q4_0", "--mmproj", "auto"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("localai-tui: error: ggml-org/models has no vision projector (mmproj) file for Q4_0")
    assert len(err.splitlines()) == 1


def test_a_local_projector_file_and_one_that_is_not(tmp_path, capsys, stories_model):
    from tests.hub_fixtures import ggufs
    from tests.hub_fixtures.catalog import TINY_VISION

    proj = ggufs.build_mmproj_gguf(TINY_VISION, "F16")
    path = tmp_path / "mmproj-tiny-F16.gguf"
    path.write_bytes(proj.header + b"\0" * (proj.size - len(proj.header)))
    data = _fit_json(capsys, str(stories_model), "--gpu", "RTX 3090", "--mmproj", str(path))
    assert data["projector"]["weights_bytes"] > 0 and data["devices"][0]["projector_bytes"] == data["projector"]["weights_bytes"]
    assert main(["fit", str(stories_model), "--mmproj", str(stories_model)]) == 1
    assert "is not a vision projector" in capsys.readouterr().err
    # auto beside a local model
    model = tmp_path / "model.gguf"
    model.write_bytes(stories_model.read_bytes())
    data = _fit_json(capsys, str(model), "--mmproj", "auto")
    assert data["projector"]["file"] == str(path)


def test_repo_badges_count_the_projector(hub_env):
    """A card with room for the model and its 1 GiB margin but not the projector too: the badge says so."""
    from tui.core.fit.estimate import FIT_MARGIN_BYTES, estimate_fit
    from tui.core.fit.settings import LlamaSettings
    from tui.core.hardware.profiles import resolve_profile
    from tui.core.hub.badges import fit_badges, group_anatomy
    from tui.core.hub.projector import group_projector
    from tui.core.hub.repo_files import group_repo_files
    from tui.core.hub.repo_listing import fetch_repo_listing

    quants = group_repo_files(fetch_repo_listing("unsloth/Qwen2.5-VL-7B-Instruct-GGUF"))
    group = next(g for g in quants.groups if g.label == "Q4_K_M")
    anatomy = group_anatomy(quants, group)
    projector = group_projector(quants, group)
    settings = LlamaSettings(n_ctx=4096)
    roomy = resolve_profile(["RTX 3090"], None, None)
    alone = estimate_fit(anatomy, roomy, settings).devices[0]
    vram_gib = (alone.total_bytes + FIT_MARGIN_BYTES + projector.weights_bytes // 2) / 1024**3
    card = resolve_profile(["RTX 3090"], vram_gib, None)
    assert estimate_fit(anatomy, card, settings).verdict == "fits"  # the model alone would fit
    badge = {b.group_name: b for b in fit_badges(quants, card, settings, read_headers=True)}[group.name]
    assert badge.verdict != "fits"


async def test_the_fit_screen_counts_the_projector_and_downloads_it_with_the_model(hub_env, hf_home):
    """ggml-org/tinygemma3-GGUF at Fit: the projector is a part of the GPU's bar; d fetches it too."""
    from tests.tui_fixtures import FixedServices, wait_for
    from tui.app import LocalAIApp
    from tui.core.hardware.devices import GiB, GpuSpec, HardwareProfile
    from tui.widgets.memory_bar import MemoryBar

    box = HardwareProfile("one GPU", gpus=(GpuSpec("RTX 3060 12GB", 12 * GiB, 360.0),), ram_bytes=32 * GiB)
    app = LocalAIApp(model="ggml-org/tinygemma3-GGUF:Q8_0", services=FixedServices(hub_endpoint=hub_env.url),
                     profile=box)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.model is not None and app.screen.estimate is not None, timeout=30,
                       what="the estimate")
        model = app.model
        assert model.projector is not None and model.projector_file.path == "mmproj-tinygemma3.gguf"
        gpu = app.screen.estimate.devices[0]
        assert gpu.projector_bytes == model.projector.weights_bytes > 0
        bar = app.screen.query(MemoryBar).first()
        assert ("projector (mmproj)", gpu.projector_bytes) in [(p.name, p.n_bytes) for p in bar.usage.parts]
        await pilot.press("d")
        await wait_for(pilot, lambda: app.model.is_local, timeout=30, what="the download")
        assert (app.model.local_path.parent / "mmproj-tinygemma3.gguf").exists()
