"""Auto-fit on real-size model headers x catalog profiles x settings: one answer for the CLI and the TUI,
and a plan that fits whenever any plan does.

The headers are ``gguf_factory`` presets written header-only (sparse files of the real size), read
back through the same ``load_model_anatomy`` the commands use. RAM is given (``--ram``) so the
answers do not depend on the machine running the tests.
"""

from __future__ import annotations

import json

import pytest

from tests.gguf_factory import make_header_only
from tests.tui_fixtures import FixedServices, wait_for
from tui.app import LocalAIApp
from tui.cli import main
from tui.core.fit.autofit import full_auto_fit, offload_levels
from tui.core.fit.estimate import FIT_MARGIN_BYTES, estimate_fit
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.profiles import resolve_profile
from tui.core.hub.model_spec import load_model_anatomy

MODELS = ("llama-3.1-8b-q4_k_m", "qwen3-30b-a3b-q4_k_m", "gpt-oss-20b-mxfp4", "gemma-3-27b-q4_k_m",
          "deepseek-v2-lite-q4_k_m")
#: (--gpu, --ram GiB): a unified 8 GB Mac, 12 and 24 GB cards with 32 GB of RAM, CPU only with 64 GB.
PROFILES = (("Apple M1 8GB", None), ("RTX 3060 12GB", 32), ("RTX 4090", 32), ("cpu", 64))
SETTINGS = ((), ("-fa", "off"), ("-ctk", "q8_0", "-ctv", "q8_0"))


@pytest.fixture(scope="module")
def headers(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("headers")
    return {name: str(make_header_only(folder / f"{name}.gguf", name).path) for name in MODELS}


def _cli_fit(capsys, *argv: str) -> dict:
    code = main(["fit", *argv, "--json"])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return json.loads(out)


def _profile_args(gpu: str, ram: int | None) -> list[str]:
    return ["--gpu", gpu] + (["--ram", str(ram)] if ram else [])


def _fits(estimate) -> bool:
    return all(d.total_bytes + FIT_MARGIN_BYTES <= d.capacity_bytes for d in estimate.devices)


def _some_plan_fits(anatomy, profile, settings) -> bool:
    """Brute force: any placement at the smallest context keeps the margin (memory only grows from there)."""
    small = settings.with_changes(n_ctx=256)
    return any(_fits(estimate_fit(anatomy, profile, level)) for level in offload_levels(anatomy, profile, small))


@pytest.mark.parametrize("model", MODELS)
def test_cli_ngl_auto_is_the_shared_search_and_fits_whenever_anything_fits(capsys, headers, model):
    anatomy = load_model_anatomy(headers[model])
    for gpu, ram in PROFILES:
        profile = resolve_profile([gpu], None, ram)
        for extra in SETTINGS:
            out = _cli_fit(capsys, headers[model], *_profile_args(gpu, ram), "-ngl", "auto", *extra)
            settings = LlamaSettings(**dict(zip(("cache_type_k", "cache_type_v"), extra[1::2], strict=False))
                                     if extra and extra[0] == "-ctk" else {"flash_attn": "off"} if extra else {})
            core = full_auto_fit(anatomy, profile, settings)
            where = f"{model} on {gpu} {' '.join(extra)}"
            assert out["n_ctx_requested"] == core.settings.n_ctx, where
            assert out["settings"]["n_gpu_layers"] == core.settings.n_gpu_layers, where
            assert out["settings"]["n_cpu_moe"] == core.settings.n_cpu_moe, where
            assert out["auto_fit"]["found"] == core.found, where
            possible = _some_plan_fits(anatomy, profile, settings)
            assert core.found == possible, where
            if possible:
                assert out["verdict"] == "fits", where
                assert all(d["total_bytes"] + FIT_MARGIN_BYTES <= d["capacity_bytes"] for d in out["devices"]), where
            else:
                assert "needs" in out["auto_fit"]["missing"], where


def test_the_search_prefers_offload_then_the_longest_context(headers):
    """No plan with more offload fits at the 4096-token floor, and the next whole k of context does not fit."""
    anatomy = load_model_anatomy(headers["llama-3.1-8b-q4_k_m"])
    profile = resolve_profile(["Apple M1 8GB"])
    chosen = full_auto_fit(anatomy, profile, LlamaSettings())
    assert chosen.found and chosen.settings.n_gpu_layers == 28  # the CLI answer, now the TUI's too
    assert chosen.settings.n_ctx >= 4096
    more = chosen.settings.with_changes(n_ctx=4096, n_gpu_layers=29)
    assert not _fits(estimate_fit(anatomy, profile, more))
    longer = chosen.settings.with_changes(n_ctx=chosen.settings.n_ctx // 1024 * 1024 + 1024)  # whole k above 4k
    assert not _fits(estimate_fit(anatomy, profile, longer))


def test_unified_memory_is_one_pool_without_negative_capacity(capsys, headers):
    """Finding 4: Apple M1 8GB, Llama-8B at 49k: the GPU is short, never the RAM by a negative capacity."""
    out = _cli_fit(capsys, headers["llama-3.1-8b-q4_k_m"], "--gpu", "Apple M1 8GB", "-c", "49152")
    gpu, host = out["devices"]
    assert host["capacity_bytes"] >= 0 and host["verdict"] == "fits"
    assert gpu["verdict"] == "does not fit" and out["verdict"] == "does not fit"
    pool = out["unified_memory"]
    assert pool["gpu_bytes"] == gpu["total_bytes"] and pool["cpu_bytes"] == host["total_bytes"]
    assert pool["total_bytes"] == gpu["total_bytes"] + host["total_bytes"]
    assert pool["capacity_bytes"] == 8 * 1024**3 and pool["verdict"] == "does not fit"
    fitting = _cli_fit(capsys, headers["llama-3.1-8b-q4_k_m"], "--gpu", "Apple M1 8GB", "-ngl", "auto")
    pool = fitting["unified_memory"]
    assert fitting["verdict"] == "fits" and pool["total_bytes"] + 2 * FIT_MARGIN_BYTES <= pool["capacity_bytes"]
    discrete = _cli_fit(capsys, headers["llama-3.1-8b-q4_k_m"], "--gpu", "RTX 3060 12GB", "--ram", "32")
    assert discrete["unified_memory"] is None


def test_invalid_combination_is_an_error_with_the_fix_in_json(capsys, headers):
    """Finding 3: a quantized V cache with flash attention off is refused by llama.cpp: never "fits"."""
    out = _cli_fit(capsys, headers["llama-3.1-8b-q4_k_m"], "--gpu", "RTX 3060 12GB", "--ram", "32",
                   "-ctv", "q8_0", "-fa", "off")
    assert out["verdict"] == "refused" and out["fits"] is False
    assert "flash attention" in out["error"] and "-fa on" in out["fix"]


def test_c_0_means_the_trained_context(capsys, headers):
    out = _cli_fit(capsys, headers["llama-3.1-8b-q4_k_m"], "--gpu", "RTX 4090", "--ram", "32", "-c", "0")
    assert out["n_ctx_requested"] == out["n_ctx"] == 131072


@pytest.mark.parametrize(("gpu", "model", "keys"), [
    ("Apple M1 8GB", "llama-3.1-8b-q4_k_m", ()),
    ("RTX 3060 12GB", "gpt-oss-20b-mxfp4", ("f", "f")),  # flash attention auto -> on -> off
])
async def test_tui_auto_fit_equals_the_cli(capsys, tmp_path, gpu, model, keys):
    """Finding 2: ``a`` on the Fit screen gives the plan ``fit -ngl auto`` gives, and it fits."""
    path = str(make_header_only(tmp_path / f"{model}.gguf", model).path)
    profile = resolve_profile([gpu], None, 32 if gpu.startswith("RTX") else None)
    app = LocalAIApp(model=path, services=FixedServices(), profile=profile)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=30, what="the estimate")
        await pilot.press(*keys, "a")
        tui = app.screen.estimate
    flags = ["-fa", "off"] if keys else []
    cli = _cli_fit(capsys, path, *_profile_args(gpu, 32 if gpu.startswith("RTX") else None), "-ngl", "auto", *flags)
    assert tui.verdict == cli["verdict"] == "fits"
    assert tui.settings.n_ctx == cli["n_ctx_requested"]
    assert tui.settings.n_gpu_layers == cli["settings"]["n_gpu_layers"]
    assert tui.settings.n_cpu_moe == cli["settings"]["n_cpu_moe"]
