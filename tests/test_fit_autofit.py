"""Auto-fit: most GPU layers, largest context, fewest --n-cpu-moe layers, all keeping the margin."""

from __future__ import annotations

import pytest

from tests.fit_models import Q8_0, make_anatomy
from tui.core.fit.autofit import auto_fit, auto_gpu_layers, explain_auto_fit, max_context, max_gpu_layers, min_cpu_moe
from tui.core.fit.estimate import FIT_MARGIN_BYTES, estimate_fit
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB, MiB


def dense():
    return make_anatomy(n_layer=24, n_embd=1024, n_head=16, n_head_kv=4, n_ff=4096, n_vocab=32000, wtype=Q8_0,
                        n_ctx_train=32768)


def moe():
    return make_anatomy(n_layer=16, n_embd=1024, n_head=16, n_head_kv=4, n_expert=32, n_expert_used=4,
                        n_ff_exp=1024, n_ff=0, n_vocab=32000, wtype=Q8_0, n_ctx_train=32768)


def gpu(vram_bytes: int, ram=64 * GiB) -> HardwareProfile:
    return HardwareProfile(name="g", gpus=(GpuSpec("G", vram_bytes, 500),), ram_bytes=ram)


def gpu_total(anatomy, profile, settings) -> int:
    return estimate_fit(anatomy, profile, settings).devices[0].total_bytes


def test_gpu_memory_grows_with_layers_and_context():
    a, p = dense(), gpu(8 * GiB)
    by_layers = [gpu_total(a, p, LlamaSettings(n_ctx=4096, n_gpu_layers=n)) for n in range(0, 26, 5)]
    assert by_layers == sorted(by_layers)
    by_ctx = [gpu_total(a, p, LlamaSettings(n_ctx=c)) for c in (1024, 4096, 16384)]
    assert by_ctx == sorted(by_ctx)


def test_max_gpu_layers_is_the_largest_that_keeps_the_margin():
    a = dense()
    s = LlamaSettings(n_ctx=4096)
    need_12 = gpu_total(a, gpu(64 * GiB), s.with_changes(n_gpu_layers=12))
    profile = gpu(need_12 + FIT_MARGIN_BYTES + 1 * MiB)
    n = max_gpu_layers(a, profile, s)
    assert n == 12
    assert gpu_total(a, profile, s.with_changes(n_gpu_layers=n)) + FIT_MARGIN_BYTES <= profile.gpus[0].vram_bytes
    assert gpu_total(a, profile, s.with_changes(n_gpu_layers=n + 1)) + FIT_MARGIN_BYTES > profile.gpus[0].vram_bytes
    assert max_gpu_layers(a, gpu(64 * GiB), s) == a.n_layer + 1
    assert max_gpu_layers(a, gpu(512 * MiB), s) == 0
    assert max_gpu_layers(a, HardwareProfile(name="cpu"), s) == 0


def test_max_context_is_the_largest_multiple_that_fits_everywhere():
    a = dense()
    profile = gpu(3 * GiB)
    c = max_context(a, profile, LlamaSettings())
    assert c > 0 and c % 256 == 0 and c <= a.n_ctx_train
    fits = estimate_fit(a, profile, LlamaSettings(n_ctx=c))
    assert all(d.total_bytes + FIT_MARGIN_BYTES <= d.capacity_bytes for d in fits.devices)
    if c < a.n_ctx_train:
        over = estimate_fit(a, profile, LlamaSettings(n_ctx=c + 256))
        assert any(d.total_bytes + FIT_MARGIN_BYTES > d.capacity_bytes for d in over.devices)
    assert max_context(a, gpu(64 * GiB), LlamaSettings()) == a.n_ctx_train


def test_min_cpu_moe_keeps_every_layer_on_the_gpu():
    a = moe()
    s = LlamaSettings(n_ctx=4096)
    all_on_gpu = gpu_total(a, gpu(64 * GiB), s)
    profile = gpu(all_on_gpu + FIT_MARGIN_BYTES - 40 * MiB)  # a little short
    n = min_cpu_moe(a, profile, s)
    assert n is not None and 0 < n < a.n_layer
    chosen = estimate_fit(a, profile, s.with_changes(n_cpu_moe=n))
    assert chosen.n_gpu_layers == a.n_layer + 1
    assert chosen.devices[0].total_bytes + FIT_MARGIN_BYTES <= profile.gpus[0].vram_bytes
    fewer = estimate_fit(a, profile, s.with_changes(n_cpu_moe=n - 1))
    assert fewer.devices[0].total_bytes + FIT_MARGIN_BYTES > profile.gpus[0].vram_bytes
    assert min_cpu_moe(dense(), profile, s) is None
    assert min_cpu_moe(a, gpu(256 * MiB), s) is None


def test_auto_fit_keeps_what_fits_and_prefers_expert_offload_for_moe():
    s = LlamaSettings(n_ctx=4096)
    roomy = gpu(64 * GiB)
    assert auto_fit(dense(), roomy, s) == s
    a = moe()
    tight = gpu(gpu_total(a, roomy, s) + FIT_MARGIN_BYTES - 40 * MiB)
    result = explain_auto_fit(a, tight, s, fit_context=False)
    assert result.settings.n_gpu_layers is None and result.settings.n_cpu_moe > 0
    assert any("--n-cpu-moe" in change for change in result.changes)
    d = dense()
    small = gpu(gpu_total(d, roomy, s.with_changes(n_gpu_layers=10)) + FIT_MARGIN_BYTES)
    chosen = auto_fit(d, small, s, fit_context=False)
    assert chosen.n_gpu_layers == 10


def test_ngl_auto_keeps_the_context_and_prefers_expert_offload():
    s = LlamaSettings(n_ctx=8192, n_gpu_layers=3)
    roomy = gpu(64 * GiB)
    assert auto_gpu_layers(dense(), roomy, s).settings.n_gpu_layers is None  # all fit: -ngl all
    a = moe()
    tight = gpu(gpu_total(a, roomy, s.with_changes(n_gpu_layers=None)) + FIT_MARGIN_BYTES - 40 * MiB)
    moe_pick = auto_gpu_layers(a, tight, s).settings
    assert moe_pick.n_ctx == 8192 and moe_pick.n_gpu_layers is None
    assert moe_pick.n_cpu_moe == min_cpu_moe(a, tight, s)
    d = dense()
    small = gpu(gpu_total(d, roomy, s.with_changes(n_gpu_layers=10)) + FIT_MARGIN_BYTES)
    dense_pick = auto_gpu_layers(d, small, s)
    assert dense_pick.settings.n_ctx == 8192
    assert dense_pick.settings.n_gpu_layers == max_gpu_layers(d, small, s) == 10
    assert dense_pick.estimate.fits


def test_auto_fit_shrinks_the_context_before_dropping_layers():
    d = dense()
    big = LlamaSettings(n_ctx=32768)
    need_8k = gpu_total(d, gpu(64 * GiB), big.with_changes(n_ctx=8192))
    profile = gpu(need_8k + FIT_MARGIN_BYTES)
    chosen = explain_auto_fit(d, profile, big)
    assert chosen.settings.n_gpu_layers is None
    assert 8192 <= chosen.settings.n_ctx < 32768
    assert chosen.estimate.fits and "context" in chosen.changes[0]


@pytest.mark.parametrize("vram_gib", [2, 4, 6])
def test_auto_fit_result_always_keeps_the_gpu_margin(vram_gib):
    for a in (dense(), moe()):
        profile = gpu(vram_gib * GiB)
        result = explain_auto_fit(a, profile, LlamaSettings(n_ctx=4096), fit_context=False)
        assert result.estimate.devices[0].total_bytes + FIT_MARGIN_BYTES <= profile.gpus[0].vram_bytes
