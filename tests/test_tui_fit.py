"""Flow tests for the Fit screen: sliders and options move the estimate at once, auto-fit, MoE, download.

The models are real: ``../shared/models/stories260K.gguf``, a header-only Qwen3-30B-A3B (the real
size, a sparse file, from ``tests/gguf_factory.py``) and the fake Hub's files.
"""

from __future__ import annotations

import pytest

from tests.tui_fixtures import FixedServices, notifications, screen_text, wait_for
from tui.app import LocalAIApp
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB
from tui.messages import FitChanged
from tui.widgets.memory_bar import MemoryBar
from tui.widgets.slider import Slider

ONE_GPU = HardwareProfile("RTX 3060 box", gpus=(GpuSpec("RTX 3060 12GB", 12 * GiB, 360.0),), ram_bytes=32 * GiB,
                          ram_bandwidth_gbps=51.2)
CPU_BOX = HardwareProfile("CPU box", ram_bytes=16 * GiB, ram_bandwidth_gbps=51.2)


@pytest.fixture(scope="module")
def qwen3_moe(tmp_path_factory):
    """A real-size Qwen3-30B-A3B Q4_K_M (17 GiB of weights, 128 experts) whose data region is a hole."""
    from tests.gguf_factory import make_header_only

    path = tmp_path_factory.mktemp("moe") / "Qwen3-30B-A3B-Q4_K_M.gguf"
    return make_header_only(path, "qwen3-30b-a3b-q4_k_m").path


def _parts(bar: MemoryBar) -> dict[str, int]:
    return {part.name: part.n_bytes for part in bar.usage.parts}


def _estimates(messages: list) -> int:
    """FitChanged messages posted (each is seen once per node it bubbles through)."""
    return len({id(m) for m in messages if isinstance(m, FitChanged)})


def _fit_app(model: str, profile: HardwareProfile = ONE_GPU, **kw) -> tuple[LocalAIApp, list]:
    seen: list = []
    return LocalAIApp(model=model, services=FixedServices(**kw), profile=profile), seen


async def test_sliders_recompute_at_once_and_chat_launches(stories_model):
    app, seen = _fit_app(str(stories_model))
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        assert app.current_mode == "fit"
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        screen = app.screen
        ctx = screen.query_one("#slider-ctx", Slider)
        assert ctx.values[0] == 512 and ctx.values[-1] == app.model.anatomy.n_ctx_train == 2048
        assert app.focused is ctx
        assert not screen.query_one("#slider-moe").display  # a dense model has no experts to move
        gpu, ram = screen.query(MemoryBar)
        assert gpu.usage.title == "GPU0 RTX 3060 12GB" and ram.usage.title == "RAM"
        kv_before = _parts(gpu)["KV cache"]
        estimates = _estimates(seen)

        await pilot.press("home")  # one key, one new estimate, no pause needed
        assert app.settings.n_ctx == 512
        assert _estimates(seen) == estimates + 1
        assert _parts(gpu)["KV cache"] < kv_before  # a smaller context, a smaller KV cache
        assert "-c 512" in screen_text(app)

        await pilot.press(*"1000", "enter")  # a typed number snaps to the nearest stop, and says so
        assert app.settings.n_ctx == 1024
        assert any("1000 is not one of the context stops: 1k" in n.message for n in app._notifications)

        ngl = screen.query_one("#slider-ngl", Slider)
        assert ngl.values[-1] == app.model.anatomy.n_layer + 1  # all blocks plus the output layer
        weights_on_gpu = _parts(gpu)["weights"]
        await pilot.press("tab", "home")
        assert app.focused is ngl and app.settings.n_gpu_layers == 0
        assert _parts(gpu)["weights"] == 0 < weights_on_gpu and _parts(ram)["weights"] >= weights_on_gpu
        assert "0/6 layers on the GPU" in str(screen.query_one("#fit-verdict").render())
        await pilot.press("end")
        assert app.settings.n_gpu_layers is None  # the last stop is llama.cpp's "all"

        await pilot.press("k")  # f16 -> bf16
        assert app.settings.cache_type_k == "bf16" and screen.estimate is not None
        await pilot.press("y")
        assert app.clipboard.startswith("llama-server -m ")
        assert "-c 1024" in app.clipboard and "-ctk bf16" in app.clipboard and str(stories_model.resolve()) in app.clipboard

        await pilot.press("c")
        await wait_for(pilot, lambda: app.current_mode == "chat", what="the chat screen")
        await wait_for(pilot, lambda: app.screen.session is not None, timeout=30, what="the model to load")
        assert app.screen.loaded_settings.cache_type_k == "bf16" and app.screen.engine.info().n_ctx == 1024


async def test_cache_types_and_flash_attention_follow_llama_cpp_rules(qwen3_moe):
    app, _ = _fit_app(str(qwen3_moe))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        kv_f16 = app.screen.estimate.kv_cache_bytes
        await pilot.press("k", "k")  # f16 -> bf16 -> q8_0: about half the K cache
        assert app.settings.cache_type_k == "q8_0" and app.screen.estimate.kv_cache_bytes < 0.8 * kv_f16
        await pilot.press("v", "v")  # f16 -> bf16 -> q8_0: llama.cpp turns flash attention on for it
        assert "auto → on" in str(app.screen.query_one("#fit-options").render())
        await pilot.press("f", "f")  # auto -> on -> off
        assert app.settings.flash_attn == "off"
        assert app.screen.estimate is None
        verdict = str(app.screen.query_one("#fit-verdict").render())
        assert "requires flash attention" in verdict and "refused" in verdict and "fits" not in verdict
        assert "-fa on" in verdict  # the fix
        assert not app.screen.query_one("#fit-bars").display  # no bar saying "fits" for what llama.cpp refuses
        assert app.screen.check_action("copy_command", ()) is False
        await pilot.press("f")  # back to auto: an estimate again
        assert app.screen.estimate is not None and app.screen.estimate.flash_attn_enabled
        assert app.screen.query_one("#fit-bars").display


async def test_a_cpu_only_profile_sets_the_gpu_layers_slider_aside(stories_model):
    app, _ = _fit_app(str(stories_model), profile=CPU_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        assert not app.screen.query_one("#slider-ngl", Slider).display  # finding 10: no GPU, no GPU sliders
        assert not app.screen.query_one("#slider-moe", Slider).display
        command = str(app.screen.query_one("#fit-command").render())
        assert "-ngl" not in command and "llama-server" in command
        (ram,) = app.screen.query(MemoryBar)
        assert ram.usage.title == "RAM" and ram.usage.capacity_bytes == 16 * GiB
        assert "all 6 layers on the CPU" in str(app.screen.query_one("#fit-verdict").render())


async def test_moe_experts_slider_and_auto_fit_on_a_real_size_model(qwen3_moe):
    app, seen = _fit_app(str(qwen3_moe))
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        screen = app.screen
        gpu, ram = screen.query(MemoryBar)
        assert screen.estimate.verdict == "does not fit"  # 17 GiB of weights, a 12 GiB card
        assert "is short by" in str(screen.query_one("#fit-verdict").render())
        moe = screen.query_one("#slider-moe", Slider)
        assert moe.display and moe.values[-1] == 48 and moe.value == 0
        gpu_weights = _parts(gpu)["weights"]
        moe.focus()
        await pilot.press("end")  # every layer's experts in RAM
        assert app.settings.n_cpu_moe == 48 and "--n-cpu-moe 48" in screen_text(app)
        assert _parts(gpu)["weights"] < gpu_weights / 5 and _parts(ram)["weights"] > 15 * GiB
        assert screen.estimate.verdict == "fits"
        await pilot.press("home")
        assert screen.estimate.verdict == "does not fit"

        await pilot.press("a")  # llama.cpp --fit: the trained context, then experts on the CPU
        settings = app.settings
        assert settings.n_gpu_layers is None and 0 < settings.n_cpu_moe < 48
        assert screen.estimate.verdict in ("fits", "tight")
        assert moe.value == settings.n_cpu_moe
        assert screen.query_one("#slider-ctx", Slider).value == settings.n_ctx
        assert any("--n-cpu-moe" in n for n in notifications(seen))
        # One layer fewer on the CPU no longer fits: auto-fit chose the fewest.
        await pilot.press("left")
        assert screen.estimate.devices[0].total_bytes + screen.estimate.margin_bytes > screen.estimate.devices[0].capacity_bytes


async def test_pick_a_small_file_in_the_repo_screen_download_it_and_chat(hub_env, hf_home):
    """Browse -> repo -> row -> Fit -> d: the real stories260K bytes land in the HF cache, then chat loads them."""
    from textual.widgets import DataTable

    from tests.conftest import STORIES_MODEL
    from tui.screens.repo import RepoScreen

    if not STORIES_MODEL.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent")
    app = LocalAIApp(services=FixedServices(hub_endpoint=hub_env.url), profile=ONE_GPU)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RepoScreen("ggml-org/models"))
        await wait_for(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.quants is not None,
                       what="the repo's files")
        names = [g.name for g in app.screen.quants.groups]
        app.screen.query_one("#repo-files", DataTable).move_cursor(row=names.index("tinyllamas/stories260K.gguf"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.model is not None and app.current_mode == "fit", timeout=20,
                       what="the header read")
        model = app.model
        assert not model.is_local and model.commit and model.files[0].sha256  # HubFiles, pinned to a commit
        assert app.screen.check_action("chat", ()) is None  # shown dimmed until downloaded
        await pilot.press("d")
        await wait_for(pilot, lambda: app.model.is_local, timeout=30, what="the download")
        assert app.model.local_path.read_bytes() == STORIES_MODEL.read_bytes()
        assert app.model.local_path.is_relative_to(hf_home / "hub")
        assert "-m " in str(app.screen.query_one("#fit-command").render())  # the command names the file now
        await pilot.press("c")
        await wait_for(pilot, lambda: app.current_mode == "chat" and app.screen.session is not None, timeout=30,
                       what="the downloaded model to load")
        # Finding 7: Browse's Local tab, listed when the app started, shows the download without r.
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.current_mode == "browse" and any(
            m.path == app.model.local_path for m in app.screen.local_models), timeout=20, what="the Local tab")


async def test_download_progress_shows_bytes_rate_eta_and_cancel_keeps_the_partial_file(hub_env, hf_home):
    """``--model OWNER/REPO:LABEL`` opens at Fit; d downloads with progress, x cancels, d resumes."""
    from tui.core.sizes import MiB

    hub_env.throttle_bps = 2 * MiB
    app = LocalAIApp(model="ggml-org/models:Q4_0", services=FixedServices(hub_endpoint=hub_env.url), profile=ONE_GPU)
    seen: list = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="the Hub model's estimate")
        assert app.model.repo_id == "ggml-org/models" and app.model.label == "Q4_0" and not app.model.is_local
        assert "-hf ggml-org/models:Q4_0" in str(app.screen.query_one("#fit-command").render())
        await pilot.press("d")
        label = app.screen.query_one("#fit-download-label")
        await wait_for(pilot, lambda: "/s · ETA" in str(label.render()), timeout=20, what="download progress")
        shown = str(label.render())
        # bytes done / total, a rate (its unit depends on how busy the box is) and the cancel key
        assert " / " in shown and "iB/s" in shown and "x cancels" in shown
        assert app.screen.check_action("cancel_download", ()) is True
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen._cancel_download is None, timeout=20, what="the cancel")
        assert not app.model.is_local and not app.screen.query_one("#fit-download-row").display
        assert any("d resumes" in n for n in notifications(seen))
        partial = list((hf_home / "hub").rglob("*.incomplete"))
        assert len(partial) == 1 and partial[0].stat().st_size > 0
        kept = partial[0].stat().st_size
        hub_env.throttle_bps = 0
        await pilot.press("d")
        await wait_for(pilot, lambda: app.model.is_local, timeout=30, what="the resumed download")
        assert [r.range for r in hub_env.requests_for("/cdn/") if r.range][-1] == f"bytes={kept}-"


def test_context_stops_run_from_512_to_the_trained_context():
    from tui.screens.fit_text import context_steps

    assert context_steps(2048) == [512, 1024, 2048]
    assert context_steps(40960)[-3:] == [24576, 32768, 40960]
    assert context_steps(40960, current=13056) == sorted(context_steps(40960) + [13056])  # auto-fit's pick
    assert context_steps(256) == [128, 256]  # a model trained on less gets smaller stops
    assert context_steps(0) == [512, 1024, 2048, 3072, 4096]  # unknown: up to the app's default


async def test_batch_and_swa_full_keys_change_the_estimate_and_the_command(stories_model):
    """Finding 15: -ub, -b and --swa-full have keys on the Fit screen, shown on the options lines."""
    app, _ = _fit_app(str(stories_model))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await pilot.press("u", "b", "w")
        assert (app.settings.n_ubatch, app.settings.n_batch, app.settings.swa_full) == (1024, 4096, True)
        options = str(app.screen.query_one("#fit-options").render())
        assert "-ub 1024 (u)" in options and "-b 4096 (b)" in options and "--swa-full on (w)" in options
        command = str(app.screen.query_one("#fit-command").render())
        assert "-ub 1024" in command and "-b 4096" in command and "--swa-full" in command
