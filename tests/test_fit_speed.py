"""Decode speed from bytes read per token and bandwidth: dense vs MoE, KV reads, several devices."""

from __future__ import annotations

import pytest

from tests.fit_models import Q8_0, make_anatomy, tensor_bytes
from tui.core.fit.backends import cpu_traits, gpu_traits
from tui.core.fit.kv_cache import cache_layout
from tui.core.fit.placement import place_weights
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.speed import decode_speed
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

CPU = HardwareProfile(name="cpu", ram_bytes=64 * GiB, ram_bandwidth_gbps=100.0, efficiency=0.5)


def speed(anatomy, profile, settings, n_past=0):
    placement = place_weights(anatomy, profile, settings)
    return decode_speed(profile, placement, cache_layout(anatomy, settings, True), n_past=n_past)


def test_dense_time_is_bytes_over_effective_bandwidth():
    a = make_anatomy(n_layer=4)
    s = speed(a, CPU, LlamaSettings(n_ctx=1024))
    embd = tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")
    read = a.tensor_bytes - embd + embd / a.n_vocab  # token_embd: one row
    layer_cost = (4 + 1) * cpu_traits().layer_seconds
    assert s.bytes_per_token[0] == pytest.approx(read)
    assert s.seconds_per_token == pytest.approx(read / (100e9 * 0.5) + layer_cost)
    assert s.tokens_per_s == pytest.approx(1 / s.seconds_per_token)


def test_moe_reads_only_active_experts_so_it_is_faster_than_its_size():
    dense = make_anatomy(n_layer=4, n_ff=4096, wtype=Q8_0)  # 2x the MoE's active FFN width
    moe = make_anatomy(n_layer=4, n_expert=16, n_expert_used=2, n_ff_exp=1024, n_ff=0, wtype=Q8_0)
    assert moe.tensor_bytes > dense.tensor_bytes
    s_dense = speed(dense, CPU, LlamaSettings(n_ctx=1024))
    s_moe = speed(moe, CPU, LlamaSettings(n_ctx=1024))
    experts = tensor_bytes(list(moe.tensors), lambda n: "_exps" in n)
    router = tensor_bytes(list(moe.tensors), lambda n: "ffn_gate_inp" in n)
    dense_ffn = tensor_bytes(list(dense.tensors), lambda n: "ffn_" in n and "norm" not in n)
    assert s_moe.bytes_per_token[0] == pytest.approx(s_dense.bytes_per_token[0] - dense_ffn + router + experts * 2 / 16)
    assert s_moe.tokens_per_s > s_dense.tokens_per_s


def test_expert_bytes_stream_at_the_backends_moe_efficiency():
    moe = make_anatomy(n_layer=4, n_expert=16, n_expert_used=2, n_ff_exp=1024, n_ff=0, wtype=Q8_0)
    settings = LlamaSettings(n_ctx=1024)
    placement = place_weights(moe, CPU, settings)
    s = decode_speed(CPU, placement, cache_layout(moe, settings, True), n_past=0)
    experts = tensor_bytes(list(moe.tensors), lambda n: "_exps" in n) * 2 / 16
    assert placement.expert_read_per_token[0] == pytest.approx(experts)
    traits = cpu_traits()
    assert 0 < traits.moe_expert_efficiency < 1
    bandwidth = 100e9 * 0.5
    dense_part = s.bytes_per_token[0] - experts
    assert s.seconds_per_token == pytest.approx(dense_part / bandwidth + experts / (bandwidth * traits.moe_expert_efficiency)
                                                + (4 + 1) * traits.layer_seconds)


def test_tied_output_reads_the_whole_embedding_matrix():
    untied = make_anatomy(n_layer=2, n_vocab=50_000)
    tied = make_anatomy(n_layer=2, n_vocab=50_000, tied=True)
    out_w = tensor_bytes(list(untied.tensors), lambda n: n == "output.weight")
    assert speed(tied, CPU, LlamaSettings()).bytes_per_token[0] == pytest.approx(
        speed(untied, CPU, LlamaSettings()).bytes_per_token[0])
    assert out_w > 0


def test_kv_cache_reads_grow_with_the_context():
    a = make_anatomy(n_layer=4, n_embd=256, n_head=8, n_head_kv=2)
    s0 = speed(a, CPU, LlamaSettings(n_ctx=8192), n_past=0)
    s1 = speed(a, CPU, LlamaSettings(n_ctx=8192), n_past=4000)
    assert s1.bytes_per_token[0] - s0.bytes_per_token[0] == 4 * 4000 * (64 + 64) * 2
    default = speed(a, CPU, LlamaSettings(n_ctx=8192), n_past=None)
    assert default.context_tokens == 4096  # half the context


def test_devices_add_up_and_unknown_bandwidth_gives_zero():
    a = make_anatomy(n_layer=4)
    gpu = HardwareProfile(name="g", gpus=(GpuSpec("G", 24 * GiB, 1000.0),), ram_bytes=64 * GiB,
                          ram_bandwidth_gbps=50.0, efficiency=0.8, ram_efficiency=0.6)
    s = speed(a, gpu, LlamaSettings(n_ctx=1024, n_gpu_layers=2))
    placement = place_weights(a, gpu, LlamaSettings(n_ctx=1024, n_gpu_layers=2))
    assert s.seconds_by_device[0] == pytest.approx(s.bytes_per_token[0] / (1000e9 * 0.8)
                                                   + 2 * gpu_traits("CUDA").layer_seconds)
    assert s.seconds_by_device[1] == pytest.approx(s.bytes_per_token[1] / (50e9 * 0.6) + 3 * cpu_traits().layer_seconds)
    assert s.seconds_per_token == pytest.approx(sum(s.seconds_by_device))
    assert placement.n_gpu_layers == 2
    full = speed(a, gpu, LlamaSettings(n_ctx=1024))
    assert full.tokens_per_s > s.tokens_per_s  # offloading everything is faster
    blind = gpu.with_changes(ram_bandwidth_gbps=0.0)
    assert speed(a, blind, LlamaSettings(n_ctx=1024, n_gpu_layers=2)).tokens_per_s == 0.0
