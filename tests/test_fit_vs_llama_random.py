"""Random model shapes and settings: the fit engine still agrees with llama.cpp.

The grid in test_fit_vs_llama.py fixes a handful of shapes; here hypothesis draws the
architecture, layer count, widths, heads, head size, vocabulary, context, batch sizes,
flash attention and cache types, builds the model with the factory and compares the
estimate with what llama.cpp allocates (weights and KV exactly, compute within 10 %, or
within ``COMPUTE_FLOOR_BYTES`` for the tiny buffers of micro-batches of a few tokens, where a
few tens of kB of scratch tensors are a large fraction of nothing). Derandomized, so a run is
reproducible; hypothesis prints the failing shape.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.gguf_factory import ModelSpec, make_model  # noqa: E402
from tests.llama_truth import LOG_TOLERANCE_BYTES, LlamaLoadError, compare_fit, measure_llama  # noqa: E402
from tui.core.errors import LocalAIError  # noqa: E402
from tui.core.fit.estimate import estimate_fit  # noqa: E402
from tui.core.fit.settings import LlamaSettings  # noqa: E402
from tui.core.gguf.anatomy import load_anatomy  # noqa: E402
from tui.core.hardware.devices import HardwareProfile  # noqa: E402

CPU_ONLY = HardwareProfile(name="cpu", gpus=(), ram_bytes=256 * 1024**3, ram_bandwidth_gbps=50.0)
#: Compute-buffer error that is immaterial whatever its percentage (bytes).
COMPUTE_FLOOR_BYTES = 64 * 1024


@st.composite
def model_specs(draw) -> ModelSpec:
    arch = draw(st.sampled_from(["llama", "qwen3moe", "gemma3", "gpt-oss", "deci"]))
    head_dim = draw(st.sampled_from([32, 64, 128]))
    n_head_kv = draw(st.sampled_from([1, 2, 4]))
    n_head = n_head_kv * draw(st.sampled_from([1, 2, 4]))
    n_layer = draw(st.integers(1, 5))
    spec = ModelSpec(
        arch=arch, name=f"random-{arch}", n_layer=n_layer, n_embd=draw(st.sampled_from([64, 128, 192, 256])),
        n_head=n_head, n_head_kv=n_head_kv, head_dim=head_dim, n_ff=draw(st.sampled_from([64, 160, 256])),
        n_vocab=draw(st.integers(260, 3000)), weight_type=draw(st.sampled_from(["F16", "F32", "Q8_0"])),
        tied_embeddings=arch != "gpt-oss" and draw(st.booleans()),
    )
    if arch in ("qwen3moe", "gpt-oss"):
        n_expert = draw(st.sampled_from([2, 4, 8]))
        spec = spec.with_changes(n_expert=n_expert, n_expert_used=draw(st.integers(1, n_expert)),
                                 n_ff_exp=draw(st.sampled_from([32, 64])))
    if arch in ("gemma3", "gpt-oss"):
        spec = spec.with_changes(sliding_window=draw(st.sampled_from([32, 100, 256, 1000])),
                                 swa_pattern=draw(st.sampled_from([2, 3, 6])))
    if arch == "deci":
        kv = tuple(draw(st.sampled_from([0, 1, 2, 4])) for _ in range(n_layer))
        kv = kv if any(kv) else (1,) + kv[1:]
        spec = spec.with_changes(n_head_kv=kv, n_head=4,
                                 n_ff=tuple(draw(st.sampled_from([64, 128, 256])) for _ in range(n_layer)))
    return spec


@st.composite
def run_settings(draw) -> LlamaSettings:
    n_ubatch = draw(st.sampled_from([1, 16, 64, 100, 512, 1024]))
    cache = draw(st.sampled_from([("f16", "f16"), ("q8_0", "q8_0"), ("q4_0", "q4_0"), ("q8_0", "f16"),
                                  ("f32", "f32"), ("bf16", "bf16")]))
    return LlamaSettings(
        n_ctx=draw(st.integers(16, 6000)), n_ubatch=n_ubatch, n_batch=draw(st.sampled_from([n_ubatch, 512, 2048])),
        flash_attn=draw(st.sampled_from(["auto", "on", "off"])), cache_type_k=cache[0], cache_type_v=cache[1],
        swa_full=draw(st.booleans()), use_mmap=draw(st.booleans()), n_gpu_layers=0,
    )


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=model_specs(), run=run_settings())
def test_random_shapes_and_settings_match_llama_cpp(spec, run):
    with tempfile.TemporaryDirectory() as tmp:
        path = make_model(Path(tmp) / "random.gguf", spec).path
        anatomy = load_anatomy(path)
        try:
            memory = measure_llama(path, run)
        except LlamaLoadError:
            with pytest.raises(LocalAIError):
                estimate_fit(anatomy, CPU_ONLY, run)
            return
        result = compare_fit(path, anatomy, CPU_ONLY, memory)
    assert abs(result.weights[0] - result.weights[1]) <= LOG_TOLERANCE_BYTES, result
    assert abs(result.kv[0] - result.kv[1]) <= LOG_TOLERANCE_BYTES, result
    assert abs(result.compute[0] - result.compute[1]) <= max(0.10 * result.compute[1], COMPUTE_FLOOR_BYTES), result
    assert result.estimate.n_ctx == memory.n_ctx
    assert result.estimate.flash_attn_enabled == memory.flash_attn
