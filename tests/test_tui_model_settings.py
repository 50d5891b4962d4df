"""Finding 5: each model opens with its own settings (remembered in the config dir) or the defaults;
flags typed on the command line win for that session; Fit and chat share them."""

from __future__ import annotations

from tests.gguf_factory import make_header_only
from tests.tui_fixtures import FixedServices, wait_for
from tui.app import LocalAIApp
from tui.core.fit.model_settings import ModelSettingsStore, default_settings, model_key
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import GiB, GpuSpec, HardwareProfile
from tui.widgets.slider import Slider

ONE_GPU = HardwareProfile("RTX 3060 box", gpus=(GpuSpec("RTX 3060 12GB", 12 * GiB, 360.0),), ram_bytes=32 * GiB,
                          ram_bandwidth_gbps=51.2)


def test_store_round_trips_and_ignores_a_broken_file(tmp_path):
    path = tmp_path / "model_settings.json"
    store = ModelSettingsStore(path)
    key = model_key("/x/Model-Q4_K_M.gguf", 123)
    assert key == "Model-Q4_K_M.gguf:123" and store.get(key) is None
    chosen = LlamaSettings(n_ctx=1024, n_gpu_layers=7, cache_type_k="q8_0", flash_attn="on", n_cpu_moe=3,
                           tensor_split=(3.0, 1.0))
    assert store.put(key, chosen) and not store.put(key, chosen)
    store.save()
    assert ModelSettingsStore(path).get(key) == chosen
    path.write_text("{not json")
    assert ModelSettingsStore(path).get(key) is None
    assert default_settings(2048).n_ctx == 2048 and default_settings(131072).n_ctx == 4096


async def test_each_model_opens_with_its_own_settings(stories_model, tmp_path):
    other = str(make_header_only(tmp_path / "llama-8b.gguf", "llama-3.1-8b-q4_k_m").path)
    app = LocalAIApp(model=str(stories_model), services=FixedServices(), profile=ONE_GPU)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="the first estimate")
        first = app.model
        await pilot.press("end", "k")  # the trained context (2k) and a q8_0... K cache
        stories_settings = app.settings
        assert stories_settings.n_ctx == 2048 and stories_settings.cache_type_k != "f16"
        app.screen.open_spec(other)
        await wait_for(pilot, lambda: app.model is not None and app.model != first, timeout=20, what="the 8B")
        await pilot.pause()
        assert app.settings == default_settings(131072)  # not the stories model's
        assert app.screen.query_one("#slider-ctx", Slider).value == 4096
        app.screen.open_spec(str(stories_model))
        await wait_for(pilot, lambda: app.model is not None and app.model.anatomy.n_ctx_train == 2048, timeout=20,
                       what="the stories model again")
        await pilot.pause()
        assert app.settings == stories_settings
    # Remembered on disk for the next run.
    again = LocalAIApp(model=str(stories_model), services=FixedServices(), profile=ONE_GPU)
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: again.screen.estimate is not None, timeout=20, what="the estimate")
        assert again.settings == stories_settings


async def test_typed_flags_win_and_fit_keeps_them(stories_model):
    """``chat MODEL -c 256``: the model loads at 256, Fit shows 256, and leaving Fit keeps 256."""
    app = LocalAIApp(model=str(stories_model), services=FixedServices(), profile=ONE_GPU,
                     settings=LlamaSettings(n_ctx=256))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="the estimate")
        assert app.screen.query_one("#slider-ctx", Slider).value == 256
        assert app.settings.n_ctx == 256 and app.screen.estimate.n_ctx == 256


async def test_c_0_shows_the_trained_context(stories_model):
    app = LocalAIApp(model=str(stories_model), services=FixedServices(), profile=ONE_GPU,
                     settings=LlamaSettings(n_ctx=0))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="the estimate")
        ctx = app.screen.query_one("#slider-ctx", Slider)
        assert ctx.value == 2048 and "(trained)" in ctx.format_value(ctx.value)


async def test_chat_with_typed_context_then_fit_and_back_keeps_it(stories_model):
    """``chat MODEL -c 256``: loads at 256, F4 shows 256, and c goes back without reloading at another size."""
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=FixedServices(), profile=ONE_GPU,
                     settings=LlamaSettings(n_ctx=256))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.session is not None, timeout=30, what="the model to load")
        chat = app.screen
        assert chat.loaded_settings.n_ctx == 256
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.current_mode == "fit" and app.screen.estimate is not None, timeout=20,
                       what="Fit")
        assert app.screen.query_one("#slider-ctx", Slider).value == 256 and app.settings.n_ctx == 256
        await pilot.press("c")
        await wait_for(pilot, lambda: app.current_mode == "chat", what="Chat again")
        await pilot.pause()
        assert chat.loaded_settings.n_ctx == 256 and chat.session is not None
