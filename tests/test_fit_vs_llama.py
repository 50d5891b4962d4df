"""The fit engine against llama.cpp itself: same model, same settings, CPU only.

For every factory architecture (and the real stories260K model) and a grid of settings,
``estimate_fit`` must report the weights and the KV cache / recurrent state llama.cpp
allocates to within its log rounding (0.005 MiB; the harness reads exact bytes), the compute
buffer to within 10 %, the output buffer, the padded context and the flash-attention
decision. Where llama.cpp refuses the settings, the estimate must refuse them too.

Real-size models (Llama-3.1-8B/70B, Qwen3-30B-A3B, Gemma-3-27B, gpt-oss-120b, DeepSeek-V2-Lite)
are sparse header-only files measured with llama.cpp's no_alloc dry run, which sizes a
non-mmap load: their settings say ``use_mmap=False``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")

from tests.conftest import STORIES_MODEL  # noqa: E402
from tests.gguf_factory import PRESETS, SMALL_SPECS, make_header_only, make_model  # noqa: E402
from tests.llama_truth import (  # noqa: E402
    LOG_TOLERANCE_BYTES,
    FitComparison,
    LlamaLoadError,
    compare_fit,
    measure_llama,
)
from tui.core.errors import LocalAIError  # noqa: E402
from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx  # noqa: E402
from tui.core.fit.estimate import estimate_fit  # noqa: E402
from tui.core.fit.settings import LlamaSettings  # noqa: E402
from tui.core.gguf.anatomy import load_anatomy  # noqa: E402
from tui.core.hardware.devices import HardwareProfile  # noqa: E402
from tui.core.sizes import GiB

CPU_ONLY = HardwareProfile(name="cpu", gpus=(), ram_bytes=256 * GiB, ram_bandwidth_gbps=50.0)
COMPUTE_TOLERANCE = 0.10

#: Small models: one per architecture plus variants that change what llama.cpp allocates.
SMALL_MODELS = {
    **SMALL_SPECS,
    "llama-tied": SMALL_SPECS["llama"].with_changes(tied_embeddings=True),
    "gemma3-untied": SMALL_SPECS["gemma3"].with_changes(tied_embeddings=False),
    "llama-q4_0": SMALL_SPECS["llama"].with_changes(weight_type="Q4_0"),  # repacked for the CPU
    "llama-q8_0": SMALL_SPECS["llama"].with_changes(weight_type="Q8_0"),
    "qwen3moe-q4_k": SMALL_SPECS["qwen3moe"].with_changes(n_embd=256, weight_type="Q4_K", output_type="Q6_K"),
    "gpt-oss-mxfp4": SMALL_SPECS["gpt-oss"].with_changes(type_rules=((r"_exps\.weight$", "MXFP4"),)),
    "deepseek2-q_lora": SMALL_SPECS["deepseek2"].with_changes(q_lora_rank=48),
}
SPLIT_MODELS = {"llama-split": SMALL_SPECS["llama"]}

#: Settings grid for the small models (n_gpu_layers 0 everywhere: a CPU-only run).
SMALL_SETTINGS = {
    "ctx256-ub512-fa_off": LlamaSettings(n_ctx=256, n_ubatch=512, flash_attn="off"),
    "ctx1000-ub128-fa_on": LlamaSettings(n_ctx=1000, n_ubatch=128, flash_attn="on"),
    "ctx4096-ub512-fa_auto": LlamaSettings(n_ctx=4096, n_ubatch=512, flash_attn="auto"),
    "ctx2048-q8_0-fa_on": LlamaSettings(n_ctx=2048, cache_type_k="q8_0", cache_type_v="q8_0", flash_attn="on"),
    "ctx2048-ub128-q4_0-fa_auto": LlamaSettings(n_ctx=2048, n_ubatch=128, cache_type_k="q4_0", cache_type_v="q4_0"),
    "ctx2048-q8_0K-f16V-fa_off": LlamaSettings(n_ctx=2048, cache_type_k="q8_0", flash_attn="off"),
    "ctx4096-swa_full": LlamaSettings(n_ctx=4096, swa_full=True),
    "ctx4096-f32-fa_on": LlamaSettings(n_ctx=4096, cache_type_k="f32", cache_type_v="f32", flash_attn="on"),
    "ctx1024-bf16-fa_auto": LlamaSettings(n_ctx=1024, cache_type_k="bf16", cache_type_v="bf16"),
    "ctx4096-ub2048-fa_off": LlamaSettings(n_ctx=4096, n_ubatch=2048, flash_attn="off"),
    "ctx3000-b1024-ub256-no_mmap": LlamaSettings(n_ctx=3000, n_batch=1024, n_ubatch=256, use_mmap=False),
}

#: Settings for the real-size presets (no_alloc: sized as a non-mmap load).
PRESET_SETTINGS = {
    "ctx4096-fa_auto": LlamaSettings(n_ctx=4096, use_mmap=False),
    "ctx32768-q8_0-fa_on": LlamaSettings(n_ctx=32768, cache_type_k="q8_0", cache_type_v="q8_0", flash_attn="on",
                                         use_mmap=False),
    "ctx8192-ub2048-fa_off": LlamaSettings(n_ctx=8192, n_ubatch=2048, flash_attn="off", use_mmap=False),
    "ctx16384-q4_0-swa_full": LlamaSettings(n_ctx=16384, cache_type_k="q4_0", cache_type_v="q4_0",
                                            swa_full=True, use_mmap=False),
    "ctx32768-f32-fa_on": LlamaSettings(n_ctx=32768, cache_type_k="f32", cache_type_v="f32", flash_attn="on",
                                        use_mmap=False),
}


@pytest.fixture(scope="module")
def small_model_paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fit_models")
    paths = {label: make_model(folder / f"{label}.gguf", spec).path for label, spec in SMALL_MODELS.items()}
    for label, spec in SPLIT_MODELS.items():
        paths[label] = make_model(folder / f"{label}.gguf", spec, split_max_tensors=9).path
    if STORIES_MODEL.exists():
        paths["stories260K"] = STORIES_MODEL
    return paths


@pytest.fixture(scope="module")
def preset_paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fit_presets")
    return {name: make_header_only(folder / f"{name}.gguf", name).path for name in PRESETS}


_anatomies: dict[Path, object] = {}


def _anatomy(path: Path):
    if path not in _anatomies:
        _anatomies[path] = load_anatomy(path)
    return _anatomies[path]


def _check(path: Path, settings: LlamaSettings) -> None:
    """Measure with llama.cpp, estimate, and compare every figure."""
    settings = settings.with_changes(n_gpu_layers=0)
    anatomy = _anatomy(path)
    try:
        memory = measure_llama(path, settings)
    except LlamaLoadError as refusal:
        # llama.cpp refuses these settings for this model: the estimate must refuse them too
        with pytest.raises(LocalAIError):
            estimate_fit(anatomy, CPU_ONLY, settings)
        assert "llama_init_from_model" in str(refusal)
        return
    result = compare_fit(path, anatomy, CPU_ONLY, memory)
    estimate = result.estimate

    assert abs(result.weights[0] - result.weights[1]) <= LOG_TOLERANCE_BYTES, f"weights {result.weights}"
    assert abs(result.kv[0] - result.kv[1]) <= LOG_TOLERANCE_BYTES, f"KV {result.kv}"
    assert abs(result.compute[0] - result.compute[1]) <= COMPUTE_TOLERANCE * result.compute[1], \
        f"compute {result.compute} ({FitComparison.error_pct(result.compute):+.1f} %)"
    assert abs(result.output[0] - result.output[1]) <= LOG_TOLERANCE_BYTES, f"output {result.output}"
    assert estimate.n_ctx == memory.n_ctx
    assert estimate.flash_attn_enabled == memory.flash_attn
    cells = {c.kind: c.cells for c in memory.caches}
    if "kv_swa" in cells:
        assert (estimate.layout.full_cells, estimate.layout.swa_cells) == (cells["kv_base"], cells["kv_swa"])
    elif "kv" in cells:
        assert estimate.layout.full_cells == cells["kv"]
    # one CPU device carries everything
    (host,) = estimate.devices
    assert host.kind == "cpu"


@pytest.mark.parametrize("settings_id", sorted(SMALL_SETTINGS))
@pytest.mark.parametrize("model", sorted(list(SMALL_MODELS) + list(SPLIT_MODELS) + ["stories260K"]))
def test_small_model_estimate_matches_llama_cpp(small_model_paths, model, settings_id):
    if model not in small_model_paths:
        pytest.skip(f"{STORIES_MODEL} is absent: ../shared holds the test data (see shared/README.md)")
    _check(small_model_paths[model], SMALL_SETTINGS[settings_id])


@pytest.mark.parametrize("settings_id", sorted(PRESET_SETTINGS))
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_real_size_estimate_matches_llama_cpp(preset_paths, preset, settings_id):
    _check(preset_paths[preset], PRESET_SETTINGS[settings_id])


def test_the_grid_covers_every_kind_of_memory(small_model_paths):
    """The grid above is only worth something if it hits SWA pairs, recurrent state, MLA and repacking."""
    kinds = set()
    buffers = set()
    for label in ("gemma3", "mamba", "deepseek2", "llama-q4_0"):
        memory = measure_llama(small_model_paths[label], LlamaSettings(n_ctx=1024, n_gpu_layers=0))
        kinds |= {c.kind for c in memory.caches}
        buffers |= set(memory.model_buffers)
        if label == "deepseek2":
            assert memory.caches[0].v_bytes == 0  # MLA: V is a view of the latent K cache
    assert {"kv_base", "kv_swa", "recurrent", "kv"} <= kinds
    assert "CPU_Mapped" in buffers
    if cpu_extra_buffers_safe(host_has_amx()):  # Q4_0 matrices leave the mapped file for the CPU's own layout
        assert "CPU_REPACK" in buffers
