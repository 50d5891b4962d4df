"""The llama.cpp measurement harness reads the right figures, exactly, and leaves no trace."""

from __future__ import annotations

import ctypes

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from tests.gguf_factory import SMALL_SPECS, make_model  # noqa: E402
from tests.llama_truth import (  # noqa: E402
    LOG_TOLERANCE_BYTES,
    LlamaLoadError,
    fit_weights_bytes,
    measure_llama,
    parse_log,
)
from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx  # noqa: E402
from tui.core.fit.settings import LlamaSettings  # noqa: E402


def test_stories_figures_match_the_model_card(stories_model):
    # shared/README.md: 5 layers, n_embd 64, 8 heads, 4 KV heads, 512 tokens, all F32
    memory = measure_llama(stories_model, LlamaSettings(n_ctx=512, flash_attn="off"))
    assert memory.exact
    assert memory.mode == "load"
    n_embd_kv = 64 // 8 * 4
    assert memory.kv_bytes == 2 * 5 * 512 * n_embd_kv * 2  # K and V, 5 layers, 512 cells, f16
    (cache,) = memory.caches
    assert (cache.kind, cache.cells, cache.layers, cache.k_type, cache.v_type) == ("kv", 512, 5, "f16", "f16")
    assert memory.model_buffers == {"CPU_Mapped": memory.model_size_bytes}
    assert memory.flash_attn is False
    assert memory.output_bytes == pytest.approx(512 * 4, abs=LOG_TOLERANCE_BYTES)  # one row of logits


def test_exact_figures_agree_with_the_log(stories_model):
    memory = measure_llama(stories_model, LlamaSettings(n_ctx=2048, n_ubatch=256))
    parsed = parse_log(memory.log)
    for name, size in parsed["model"].items():
        assert abs(memory.model_buffers[name] - size) <= LOG_TOLERANCE_BYTES
    for name, size in parsed["compute"].items():
        assert abs(memory.compute_buffers[name] - size) <= LOG_TOLERANCE_BYTES
    assert abs(memory.kv_bytes - sum(c.total_bytes for c in parsed["caches"])) <= LOG_TOLERANCE_BYTES
    assert memory.n_ubatch == 256 and memory.n_batch == 2048


def test_context_is_padded_to_256_cells(stories_model):
    memory = measure_llama(stories_model, LlamaSettings(n_ctx=1000))
    assert memory.n_ctx == 1024
    assert memory.caches[0].cells == 1024


def test_no_alloc_dry_run_reports_what_a_real_load_allocates(tmp_path):
    built = make_model(tmp_path / "g.gguf", SMALL_SPECS["gemma3"])
    for settings in (LlamaSettings(n_ctx=1024), LlamaSettings(n_ctx=2048, flash_attn="on", cache_type_k="q8_0",
                                                               cache_type_v="q8_0", swa_full=True)):
        real = measure_llama(built.path, settings, mode="load")
        dry = measure_llama(built.path, settings, mode="no_alloc")
        assert (real.mode, dry.mode) == ("load", "no_alloc")
        assert real.kv_bytes == dry.kv_bytes
        assert real.compute_bytes == dry.compute_bytes
        assert real.caches == dry.caches
        # F16 weights are not repacked: the mapped range is the tensors plus their 32-byte alignment
        assert dry.weights_bytes == fit_weights_bytes(built.path, real)


def test_sliding_window_caches_are_reported_separately(tmp_path):
    spec = SMALL_SPECS["gemma3"]  # 6 layers, window 128, every 3rd layer global
    built = make_model(tmp_path / "g.gguf", spec)
    small = measure_llama(built.path, LlamaSettings(n_ctx=4096, n_ubatch=512))
    full = measure_llama(built.path, LlamaSettings(n_ctx=4096, n_ubatch=512, swa_full=True))
    kinds = {c.kind: c for c in small.caches}
    assert set(kinds) == {"kv_base", "kv_swa"}
    assert kinds["kv_base"].layers == 2 and kinds["kv_swa"].layers == 4
    assert kinds["kv_base"].cells == 4096
    assert kinds["kv_swa"].cells < 4096  # window + a micro-batch, padded
    assert {c.kind: c.cells for c in full.caches} == {"kv_base": 4096, "kv_swa": 4096}
    assert full.kv_bytes > small.kv_bytes


def test_recurrent_state_is_context_memory(tmp_path):
    built = make_model(tmp_path / "m.gguf", SMALL_SPECS["mamba"])
    a = measure_llama(built.path, LlamaSettings(n_ctx=256))
    b = measure_llama(built.path, LlamaSettings(n_ctx=4096))
    (cache,) = a.caches
    assert cache.kind == "recurrent" and cache.cells == 1
    assert a.kv_bytes == b.kv_bytes > 0  # a state per sequence, independent of the context


def test_flash_attention_auto_is_resolved(stories_model):
    assert measure_llama(stories_model, LlamaSettings(n_ctx=256, flash_attn="auto")).flash_attn is True
    assert measure_llama(stories_model, LlamaSettings(n_ctx=256, flash_attn="on")).flash_attn is True
    assert measure_llama(stories_model, LlamaSettings(n_ctx=256, flash_attn="off")).flash_attn is False


def test_quantized_v_cache_turns_auto_flash_attention_on(tmp_path):
    built = make_model(tmp_path / "l.gguf", SMALL_SPECS["llama"])
    memory = measure_llama(built.path, LlamaSettings(n_ctx=512, cache_type_k="q8_0", cache_type_v="q8_0"))
    assert memory.flash_attn is True
    assert memory.caches[0].k_type == "q8_0"


def test_refusals_carry_llama_cpp_reason(tmp_path, stories_model):
    built = make_model(tmp_path / "l.gguf", SMALL_SPECS["llama"])
    with pytest.raises(LlamaLoadError, match="quantized V cache requires flash_attn"):
        measure_llama(built.path, LlamaSettings(n_ctx=512, cache_type_v="q4_0", flash_attn="off"))
    with pytest.raises(LlamaLoadError, match="does not divide n_embd_head_k=8"):
        measure_llama(stories_model, LlamaSettings(n_ctx=512, cache_type_k="q8_0", flash_attn="on"))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all" * 100)
    with pytest.raises(LlamaLoadError, match="could not load junk.gguf"):
        measure_llama(junk)
    with pytest.raises(FileNotFoundError):
        measure_llama(tmp_path / "absent.gguf")
    with pytest.raises(ValueError, match="mode"):
        measure_llama(built.path, mode="sideways")


def test_cpu_overrides_change_nothing_on_a_cpu_only_run(tmp_path):
    # an -ot ...=CPU rule still lets llama.cpp pick the CPU's repacked layouts
    # (llama-model-loader.cpp), so on a CPU-only box --cpu-moe moves nothing
    built = make_model(tmp_path / "q.gguf", SMALL_SPECS["qwen3moe"].with_changes(weight_type="Q4_0"))
    plain = measure_llama(built.path, LlamaSettings(n_ctx=256))
    moe_on_cpu = measure_llama(built.path, LlamaSettings(n_ctx=256, cpu_moe=True))
    if cpu_extra_buffers_safe(host_has_amx()):  # (not on an AMX CPU: tui/core/fit/cpu_amx.py)
        assert "CPU_REPACK" in plain.model_buffers  # Q4_0 matrices are repacked for the CPU kernels
    assert moe_on_cpu.model_buffers == plain.model_buffers
    assert moe_on_cpu.compute_bytes == plain.compute_bytes


def test_logging_is_captured_and_the_previous_logger_restored(stories_model, capfd):
    before_fn = llama_cpp.llama_log_callback()
    before_data = ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(before_fn), ctypes.byref(before_data))
    memory = measure_llama(stories_model, LlamaSettings(n_ctx=256))
    after_fn = llama_cpp.llama_log_callback()
    after_data = ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(after_fn), ctypes.byref(after_data))
    assert ctypes.cast(after_fn, ctypes.c_void_p).value == ctypes.cast(before_fn, ctypes.c_void_p).value
    assert after_data.value == before_data.value
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # nothing reached the terminal
    assert "compute buffer size" in memory.log
