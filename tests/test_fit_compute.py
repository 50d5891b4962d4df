"""Compute buffers: the ggml-alloc replay, the graph rules, and llama.cpp itself on the CPU."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fit_models import make_anatomy
from tui.core.fit import compute_buffer as cb
from tui.core.fit.graph_alloc import DynAllocator, GraphBuilder, replay_peak
from tui.core.fit.kv_cache import cache_layout
from tui.core.fit.placement import place_weights
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

CPU = HardwareProfile(name="cpu", ram_bytes=64 * GiB)
GPU = HardwareProfile(name="gpu", gpus=(GpuSpec("G", 24 * GiB, 900),), ram_bytes=64 * GiB)


# --- the allocator -----------------------------------------------------------------------------


def test_dyn_allocator_best_fit_and_merging():
    a = DynAllocator(alignment=32)
    x = a.alloc(100)  # 128 bytes
    y = a.alloc(64)
    z = a.alloc(256)
    assert (x, y, z) == (0, 128, 192) and a.max_size == 448
    a.free(x, 100)
    a.free(z, 256)  # z merges into the open end
    assert a.alloc(64) == 0  # best fit: the 128-byte hole, not the open end
    a.free(y, 64)
    assert len(a.blocks) == 1 and a.blocks[0][0] == 64  # y merged with the hole before and the open end
    assert a.max_size == 448


def test_replay_frees_after_the_last_consumer_and_reuses_in_place():
    g = GraphBuilder()
    inp = g.leaf(1000)
    h = g.node(4000, inp)
    h2 = g.node(4000, h, inplace=True)  # h's only consumer: same buffer
    g.node(8000, h2)
    assert replay_peak(g) == pytest.approx(1024 + 4000 + 8000, abs=64)
    g2 = GraphBuilder()
    inp = g2.leaf(1000)
    h = g2.node(4000, inp)
    h2 = g2.node(4000, h, inplace=True)
    g2.node(8000, h2, h)  # h still needed: no in-place reuse
    assert replay_peak(g2) == pytest.approx(1024 + 2 * 4000 + 8000, abs=96)


def test_views_keep_their_source_alive_and_are_never_reused_in_place():
    g = GraphBuilder()
    x = g.node(4096)
    v = g.view(x)
    y = g.node(4096, v, inplace=True)  # rope on a reshape: a new tensor in llama.cpp's graphs
    g.node(4096, y)
    trace = []
    assert replay_peak(g, trace=trace) == 2 * 4096
    offsets = {i: off for i, off, _ in trace}
    assert offsets[y] != offsets[x]  # not in place through the view
    assert offsets[y + 1] == offsets[x]  # x was freed once the view's consumer ran


# --- the graph ---------------------------------------------------------------------------------


def compute(anatomy, settings, profile=CPU, fa=True):
    placement = place_weights(anatomy, profile, settings)
    layout = cache_layout(anatomy, settings, fa)
    params = cb.graph_params(anatomy, layout, fa, settings.cache_type_k, settings.cache_type_v)
    return cb.compute_buffer_bytes(anatomy, placement, params, cb.host_copy_bytes(placement, layout.layer_bytes))


def test_without_flash_attention_kq_grows_with_the_context():
    a = make_anatomy(n_layer=3, n_embd=512, n_head=8, n_head_kv=2, n_ff=1024)
    small = compute(a, LlamaSettings(n_ctx=4096), fa=False)[-1]
    large = compute(a, LlamaSettings(n_ctx=8192), fa=False)[-1]
    # KQ (n_kv x n_tokens x n_head) and the F32 mask grow by 4096 cells x 512 tokens x (8 + 1) x 4 bytes
    assert large - small == 4096 * 512 * 9 * 4
    fa_small = compute(a, LlamaSettings(n_ctx=4096), fa=True)[-1]
    fa_large = compute(a, LlamaSettings(n_ctx=8192), fa=True)[-1]
    assert fa_large - fa_small == 4096 * 512 * 2  # only the F16 mask grows
    assert fa_small < small


def test_logits_are_one_row_per_sequence():
    a = make_anatomy(n_layer=2, n_embd=64, n_head=4, n_head_kv=2, n_ff=128, n_vocab=300_000)
    one = compute(a, LlamaSettings(n_ctx=512))[-1]
    two = compute(a, LlamaSettings(n_ctx=1024, n_seq_max=2))[-1]  # same 512 cells per sequence
    assert 300_000 * 4 < one < 300_000 * 4 * 2  # the logits dominate this tiny model
    assert 300_000 * 4 * 2 < two < 300_000 * 4 * 3


@pytest.mark.parametrize("kwargs", [
    dict(n_layer=40),
    dict(n_layer=33, sliding_window=512, swa_period=6),
    dict(n_layer=30, n_expert=16, n_expert_used=4, n_ff_exp=256, n_ff=0, n_dense_lead=1, n_shexp_ff=512),
    dict(n_layer=20, n_head=16, mla=(256, 32, 96, 64)),
])
@pytest.mark.parametrize("fa", [True, False])
def test_shortened_replay_equals_the_full_replay(kwargs, fa):
    a = make_anatomy(n_embd=512, n_ff=kwargs.pop("n_ff", 1536), **kwargs)
    shape = cb.model_shape(a)
    assert shape.period > 0
    s = LlamaSettings(n_ctx=2048, n_ubatch=256)
    placement = place_weights(a, CPU, s)
    layout = cache_layout(a, s, fa)
    p = cb.graph_params(a, layout, fa, "f16", "f16")
    flat = dataclasses.replace(shape, period=0)
    assert cb._compute_buffer_bytes(shape, placement, p) == cb._compute_buffer_bytes(flat, placement, p)


def test_partial_offload_puts_prompt_work_on_the_first_gpu():
    a = make_anatomy(n_layer=8, n_embd=512, n_head=8, n_head_kv=2, n_ff=1536)
    s = LlamaSettings(n_ctx=4096)
    full = compute(a, s, GPU)
    partial = compute(a, s.with_changes(n_gpu_layers=4), GPU)
    assert full[0] > 0 and partial[0] >= full[0]  # the whole graph still runs there, plus a weight copy
    assert partial[1] < partial[0]  # the host buffer only holds the inputs
    tiny_batches = compute(a, s.with_changes(n_gpu_layers=4, n_ubatch=16), GPU)
    assert tiny_batches[1] > 0  # below 32 tokens the CPU runs its own layers


def test_pipeline_parallelism_keeps_input_copies():
    two = HardwareProfile(name="2", gpus=(GpuSpec("A", 24 * GiB, 900), GpuSpec("B", 24 * GiB, 900, index=1)),
                          ram_bytes=64 * GiB)
    a = make_anatomy(n_layer=8, n_embd=512, n_head=8, n_head_kv=2, n_ff=1536)
    s = LlamaSettings(n_ctx=4096)
    placement = place_weights(a, two, s)
    assert cb.pipeline_copies(placement, a.n_layer, has_overrides=False) == cb.SCHED_MAX_COPIES
    assert cb.pipeline_copies(placement, a.n_layer, has_overrides=True) == 1
    partial = place_weights(a, two, s.with_changes(n_gpu_layers=8))
    assert cb.pipeline_copies(partial, a.n_layer, has_overrides=False) == 1
    assert cb.pipeline_copies(place_weights(a, GPU, s), a.n_layer, has_overrides=False) == 1
    layout = cache_layout(a, s, True)
    p = cb.graph_params(a, layout, True, "f16", "f16")
    single = cb.compute_buffer_bytes(a, placement, p, 0, 1)
    copies = cb.compute_buffer_bytes(a, placement, p, 0, 4)
    # the host holds 4 copies of the inputs: tokens, embeddings, positions, indices, mask, output ids
    mask = 4096 * 512 * 2
    assert copies[-1] - single[-1] >= 3 * (mask + 512 * 512 * 4)
    assert all(c > s_ for c, s_ in zip(copies[:2], single[:2], strict=True))


# --- llama.cpp on the CPU ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def truth():
    pytest.importorskip("llama_cpp")
    from tests import llama_truth

    return llama_truth


def check_against_llama(truth, path, settings):
    from tui.core.fit.estimate import estimate_fit
    from tui.core.gguf.anatomy import load_anatomy

    measured = truth.measure_llama(path, settings, mode="load")
    anatomy = load_anatomy(path)
    est = estimate_fit(anatomy, CPU, settings)
    host = est.host
    tol = measured.tolerance() + 64
    assert est.flash_attn_enabled == measured.flash_attn
    assert est.n_ctx == measured.n_ctx
    weights = truth.fit_weights_bytes(path, measured)  # each tensor once, as llama.cpp --fit counts it
    assert host.weights_bytes == pytest.approx(weights, abs=tol + 32 * len(anatomy.tensors))
    assert host.kv_bytes == pytest.approx(measured.kv_bytes, abs=tol)
    assert host.compute_bytes == pytest.approx(measured.compute_bytes, rel=0.10)
    return est, measured


@pytest.mark.parametrize("settings", [
    LlamaSettings(n_ctx=512, flash_attn="on"),
    LlamaSettings(n_ctx=2048, flash_attn="off", n_ubatch=256),
    LlamaSettings(n_ctx=1024, n_ubatch=128, cache_type_k="q8_0", flash_attn="off"),
])
def test_stories260k_matches_llama_cpp(truth, stories_model, settings):
    est, measured = check_against_llama(truth, stories_model, settings)
    assert est.host.compute_bytes == pytest.approx(measured.compute_bytes, rel=0.01)


@pytest.mark.parametrize("arch", ["gemma3", "qwen3moe", "mamba"])
def test_small_models_match_llama_cpp(truth, tmp_path, arch):
    from tests.gguf_factory import SMALL_SPECS, make_model

    path = tmp_path / f"{arch}.gguf"
    make_model(path, SMALL_SPECS[arch])
    for s in (LlamaSettings(n_ctx=512, flash_attn="on"), LlamaSettings(n_ctx=1024, flash_attn="off")):
        check_against_llama(truth, path, s)
