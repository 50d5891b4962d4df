"""The public estimate: per-device totals, verdicts and margin, flash attention, errors, JSON."""

from __future__ import annotations

import json

import pytest

from tests.fit_models import make_anatomy, tensor_bytes
from tui.core.errors import LocalAIError
from tui.core.fit.backends import cpu_traits, gpu_traits
from tui.core.fit.estimate import (
    FIT_MARGIN_BYTES,
    estimate_fit,
    flash_attn_decision,
    output_buffer_bytes,
    time_estimate,
)
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.verdict import Verdict
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB, MiB


def _flash_attn(anatomy, settings, profile=None) -> bool:
    """What ``-fa`` becomes for this model and hardware (``flash_attn_decision``'s answer, without its notes)."""
    return flash_attn_decision(anatomy, settings, profile)[0]


def gpu_profile(vram=24 * GiB, backend="CUDA", ram=64 * GiB, **kw):
    return HardwareProfile(name="test", gpus=(GpuSpec("G", vram, 900, backend=backend),), ram_bytes=ram, **kw)


def test_totals_add_up_per_device():
    a = make_anatomy(n_layer=4)
    e = estimate_fit(a, gpu_profile(), LlamaSettings(n_ctx=2048, n_gpu_layers=3))
    gpu, host = e.devices
    assert (gpu.name, gpu.kind, host.name, host.kind) == ("CUDA0", "gpu", "CPU", "cpu")
    for d in e.devices:
        assert d.total_bytes == d.weights_bytes + d.kv_bytes + d.compute_bytes + d.overhead_bytes
        assert d.headroom_bytes == d.capacity_bytes - d.total_bytes
    assert gpu.overhead_bytes == gpu_traits("CUDA").overhead_bytes
    assert host.overhead_bytes == cpu_traits().overhead_bytes + a.n_vocab * 4
    # -ngl 3 = output + blocks 2 and 3: half the KV cache on each side
    assert gpu.kv_bytes == host.kv_bytes == e.kv_cache_bytes // 2
    assert e.n_gpu_layers == 3 and e.n_layers_total == 5 and e.n_ctx == 2048
    assert e.weights_bytes == a.tensor_bytes


def test_verdicts_use_the_margin():
    a = make_anatomy(n_layer=4)
    s = LlamaSettings(n_ctx=2048)
    need = estimate_fit(a, gpu_profile(), s).devices[0].total_bytes
    assert estimate_fit(a, gpu_profile(vram=need + FIT_MARGIN_BYTES), s).devices[0].verdict == Verdict.FITS
    tight = estimate_fit(a, gpu_profile(vram=need + FIT_MARGIN_BYTES - 1), s)
    assert tight.devices[0].verdict == Verdict.TIGHT and tight.fits and tight.verdict == Verdict.TIGHT
    short = estimate_fit(a, gpu_profile(vram=need - 1), s)
    assert short.devices[0].verdict == Verdict.NO_FIT and not short.fits and short.verdict == Verdict.NO_FIT
    assert estimate_fit(a, gpu_profile(vram=need), s, margin_bytes=0).devices[0].verdict == Verdict.FITS


def test_host_ram_counts_cpu_weights_and_free_memory():
    a = make_anatomy(n_layer=4)
    cpu_only = HardwareProfile(name="cpu", ram_bytes=64 * GiB, ram_free_bytes=1 * GiB)
    e = estimate_fit(a, cpu_only, LlamaSettings(n_ctx=1024))
    host = e.host
    assert host.capacity_bytes == 1 * GiB  # free memory when known
    assert host.weights_bytes == a.tensor_bytes
    assert any("memory-mapped" in w for w in e.warnings) is (host.weights_bytes > 64 * MiB)


def test_unified_memory_shares_one_pool():
    a = make_anatomy(n_layer=4)
    mac = gpu_profile(vram=10 * GiB, backend="Metal", ram=16 * GiB, unified_memory=True)
    e = estimate_fit(a, mac, LlamaSettings(n_ctx=2048))
    gpu, host = e.devices
    assert gpu.name == "MTL0" and gpu.overhead_bytes == gpu_traits("Metal").overhead_bytes
    assert host.capacity_bytes == 16 * GiB - gpu.total_bytes


def test_output_buffer_is_one_logits_row_per_sequence():
    a = make_anatomy(n_vocab=32000)
    assert output_buffer_bytes(a, LlamaSettings()) == 32000 * 4
    assert output_buffer_bytes(a, LlamaSettings(n_seq_max=4)) == 4 * 32000 * 4


def test_flash_attention_auto_and_its_refusals():
    a = make_anatomy(n_embd=256, n_head=4, n_head_kv=2)  # head 64
    assert _flash_attn(a, LlamaSettings(flash_attn="auto")) is True  # CPU runs every head size
    assert _flash_attn(a, LlamaSettings(flash_attn="off")) is False
    # quantized V needs flash attention: auto turns it on, off is refused like llama_init_from_model does
    on, notes = flash_attn_decision(a, LlamaSettings(flash_attn="auto", cache_type_v="q8_0"))
    assert on and any("requires" in n for n in notes)
    with pytest.raises(LocalAIError, match="requires flash attention"):
        _flash_attn(a, LlamaSettings(flash_attn="off", cache_type_v="q8_0"))
    # quantized blocks must divide the head size
    with pytest.raises(LocalAIError, match="does not divide"):
        _flash_attn(make_anatomy(n_embd=64, n_head=8, n_head_kv=4), LlamaSettings(cache_type_k="q8_0"))
    # a CUDA GPU without a kernel for the head size turns auto off (head 48: no CUDA FA kernel)
    odd = make_anatomy(n_embd=384, n_head=8, n_head_kv=2)
    assert _flash_attn(odd, LlamaSettings(), gpu_profile()) is False
    assert _flash_attn(odd, LlamaSettings(), gpu_profile(backend="Metal")) is True
    assert _flash_attn(odd, LlamaSettings(n_gpu_layers=0), gpu_profile()) is True  # layers on the CPU
    assert _flash_attn(make_anatomy(arch="grok"), LlamaSettings(flash_attn="on")) is False


def test_mla_needs_equal_cache_types():
    a = make_anatomy(n_layer=2, n_embd=512, n_head=16, mla=(512, 64, 192, 128))
    with pytest.raises(LocalAIError, match="same K and V"):
        estimate_fit(a, gpu_profile(), LlamaSettings(cache_type_k="q8_0"))


def test_stories_with_a_q8_0_k_cache_is_refused_like_llama_cpp(stories_model):
    from tui.core.gguf.anatomy import load_anatomy

    a = load_anatomy(stories_model)  # head size 8
    with pytest.raises(LocalAIError, match="does not divide"):
        estimate_fit(a, HardwareProfile(name="cpu"), LlamaSettings(n_ctx=512, cache_type_k="q8_0"))
    ok = estimate_fit(a, HardwareProfile(name="cpu"), LlamaSettings(n_ctx=512, cache_type_k="q8_0", flash_attn="off"))
    assert not ok.flash_attn_enabled


def test_bad_input_is_one_clear_error():
    a = make_anatomy()
    with pytest.raises(LocalAIError, match="context"):
        estimate_fit(a, gpu_profile(), LlamaSettings(n_ctx=-1, n_batch=0))
    empty = make_anatomy().__class__(**{**make_anatomy().__dict__, "tensors": ()})
    with pytest.raises(LocalAIError, match="no weights"):
        estimate_fit(empty, gpu_profile(), LlamaSettings())


def test_warnings_say_what_llama_cpp_changes():
    a = make_anatomy(n_layer=4, n_ctx_train=2048, tied=True, sliding_window=512, swa_period=2, n_nextn=1)
    e = estimate_fit(a, gpu_profile(), LlamaSettings(n_ctx=3000))
    text = " ".join(e.warnings)
    assert "rounded up to 3072" in text
    assert "beyond the model's trained 2048" in text
    assert "sliding-window" in text
    assert "multi-token-prediction" in text
    assert "copy of token_embd" in text


def test_to_dict_is_json_ready():
    e = estimate_fit(make_anatomy(), gpu_profile(), LlamaSettings(n_ctx=1024))
    d = json.loads(json.dumps(e.to_dict()))
    assert {"devices", "n_ctx", "n_gpu_layers", "fits", "est_tokens_per_s", "llama_cpp_args"} <= set(d)
    assert set(d["devices"][0]) >= {"name", "kind", "weights_bytes", "kv_bytes", "compute_bytes", "overhead_bytes",
                                    "total_bytes", "capacity_bytes"}
    assert d["llama_cpp_args"][:2] == ["-c", "1024"]


def test_time_estimate_reports_milliseconds():
    timing = time_estimate(make_anatomy(n_layer=8), gpu_profile(), LlamaSettings(n_ctx=1024), repeats=3)
    assert set(timing) == {"cold_ms", "median_ms", "max_ms"} and timing["median_ms"] > 0


def test_gpu_layers_on_the_gpu_shrink_host_use():
    a = make_anatomy(n_layer=6)
    embd = tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")
    all_gpu = estimate_fit(a, gpu_profile(), LlamaSettings(n_ctx=1024))
    assert all_gpu.host.weights_bytes == embd and all_gpu.host.kv_bytes == 0
    none = estimate_fit(a, gpu_profile(), LlamaSettings(n_ctx=1024, n_gpu_layers=0))
    assert none.devices[0].weights_bytes == 0 and none.devices[0].compute_bytes > 0  # prompt work still goes there
