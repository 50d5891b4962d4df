"""Decode speed: bytes over class bandwidth plus fixed costs, MoE experts, KV reads, devices, hops, RAM pressure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fit_models import Q8_0, make_anatomy, tensor_bytes
from tui.core.fit.estimate import estimate_fit
from tui.core.fit.kv_cache import cache_layout
from tui.core.fit.placement import place_weights
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.speed import cpu_class, decode_speed, device_boundaries, gpu_class, hop_seconds
from tui.core.fit.speed_constants import Link, speed_constants
from tui.core.hardware.devices import DeviceCalibration, GpuSpec, HardwareProfile
from tui.core.sizes import GiB

CPU = HardwareProfile(name="cpu", ram_bytes=64 * GiB, ram_bandwidth_gbps=100.0, efficiency=0.5, cpu_threads=64)


def speed(model, profile, settings, n_past=0, **kw):
    placement = place_weights(model, profile, settings)
    return decode_speed(profile, placement, cache_layout(model, settings, True), n_past=n_past, **kw)


def test_dense_time_is_bytes_over_class_bandwidth_plus_fixed_costs():
    a = make_anatomy(n_layer=4)
    c = speed_constants()
    s = speed(a, CPU, LlamaSettings(n_ctx=1024))
    embd = tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")
    read = a.tensor_bytes - embd + embd / a.n_vocab  # token_embd: one row
    cost = c.backend("CPU")
    assert s.bytes_per_token[0] == pytest.approx(read)
    bandwidth = 100e9 * c.class_efficiency("cpu", "CPU")
    assert s.seconds_per_token == pytest.approx(read / bandwidth + (4 + 1) * cost.layer_s + cost.token_s)
    assert s.tokens_per_s == pytest.approx(1 / s.seconds_per_token)
    assert (s.speed_class, s.backend) == ("cpu", "CPU")


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


def test_each_active_expert_costs_the_backends_expert_time():
    moe = make_anatomy(n_layer=4, n_expert=16, n_expert_used=2, n_ff_exp=1024, n_ff=0, wtype=Q8_0)
    gpu = HardwareProfile(name="g", gpus=(GpuSpec("RTX", 24 * GiB, 1000.0),), ram_bytes=64 * GiB)
    settings = LlamaSettings(n_ctx=1024)
    placement = place_weights(moe, gpu, settings)
    layout = cache_layout(moe, settings, True)
    c = speed_constants()
    with_cost = decode_speed(gpu, placement, layout, 0, anatomy=moe)
    free = replace(c, backends={**c.backends, "CUDA": replace(c.backends["CUDA"], expert_s=0.0)})
    without = decode_speed(gpu, placement, layout, 0, anatomy=moe, constants=free)
    assert with_cost.seconds_per_token - without.seconds_per_token == pytest.approx(4 * 2 * c.backends["CUDA"].expert_s)


def test_device_classes():
    assert gpu_class(GpuSpec("A100 80GB", 80 * GiB, 1935.0, memory="HBM2e"), False) == "hbm"
    assert gpu_class(GpuSpec("RTX 3090", 24 * GiB, 936.0), False) == "gddr"
    assert gpu_class(GpuSpec("Apple M2 Ultra 192GB", 144 * GiB, 800.0, backend="Metal"), True) == "apple_ultra"
    assert gpu_class(GpuSpec("Apple M3 Max 64GB", 48 * GiB, 400.0, backend="Metal"), True) == "apple"
    assert gpu_class(GpuSpec("DGX Spark", 100 * GiB, 273.0, memory="LPDDR5X"), True) == "unified"
    assert cpu_class(CPU) == "cpu"
    assert cpu_class(CPU.with_changes(ram_bandwidth_gbps=460.0)) == "cpu_server"


def test_hbm_reaches_a_smaller_share_of_peak_than_gddr():
    a = make_anatomy(n_layer=8, n_embd=2048, n_ff=8192)
    gddr = HardwareProfile(name="g", gpus=(GpuSpec("X", 80 * GiB, 2000.0),), ram_bytes=64 * GiB)
    hbm = HardwareProfile(name="h", gpus=(GpuSpec("X", 80 * GiB, 2000.0, memory="HBM2e"),), ram_bytes=64 * GiB)
    assert speed(a, hbm, LlamaSettings()).tokens_per_s < speed(a, gddr, LlamaSettings()).tokens_per_s


def test_vulkan_on_the_same_card_is_slower_than_cuda_on_large_reads():
    a = make_anatomy(n_layer=16, n_embd=4096, n_ff=11008)
    cuda = HardwareProfile(name="c", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0),), ram_bytes=64 * GiB)
    vulkan = HardwareProfile(name="v", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0, backend="Vulkan"),), ram_bytes=64 * GiB)
    assert speed(a, vulkan, LlamaSettings()).tokens_per_s < speed(a, cuda, LlamaSettings()).tokens_per_s


def test_few_cores_bind_on_compute():
    a = make_anatomy(n_layer=8, n_embd=2048, n_ff=8192)
    many = speed(a, CPU, LlamaSettings(), anatomy=a)
    two = speed(a, CPU.with_changes(cpu_threads=2), LlamaSettings(), anatomy=a)
    assert two.tokens_per_s < many.tokens_per_s
    assert two.bound_by == "compute"


def test_calibrated_device_uses_its_measured_terms():
    a = make_anatomy(n_layer=4)
    measured = CPU.with_changes(calibration=(DeviceCalibration("CPU", 10.0, 1e-3, 1e-5),))
    s = speed(a, measured, LlamaSettings(n_ctx=1024), anatomy=a)
    assert s.measured_terms
    assert s.seconds_per_token == pytest.approx(s.bytes_per_token[0] / 10e9 + 5 * 1e-5 + 1e-3)


def test_calibrated_rates_per_weight_type_follow_the_models_type_mix():
    from tui.core.fit.speed_constants import speed_constants

    c = speed_constants()
    q4 = make_anatomy(n_layer=4, wtype=12)  # Q4_K
    q8 = make_anatomy(n_layer=4, wtype=8)  # Q8_0
    rates = (("Q4_K", 10.0), ("Q8_0", 20.0), ("F16", 40.0))
    cal = DeviceCalibration("CPU", 10.0, 0.0, 0.0, type_gbps=rates)
    measured = CPU.with_changes(calibration=(cal,))
    settings = LlamaSettings(n_ctx=1024)
    s4, s8 = speed(q4, measured, settings, anatomy=q4), speed(q8, measured, settings, anatomy=q8)
    # Q8_0 streams twice as fast per byte here: its bytes cost half as much time as Q4_K's would
    # (the small F32 norms stream at the F16 rate, hence the 0.5% tolerance)
    kv4 = sum(s4.bytes_per_token) - sum(place_weights(q4, measured, settings).read_per_token)
    w8 = sum(place_weights(q8, measured, settings).read_per_token)
    assert s8.seconds_per_token == pytest.approx(w8 / 20e9 + (sum(s8.bytes_per_token) - w8) / 40e9, rel=5e-3)
    assert s4.seconds_per_token == pytest.approx((sum(s4.bytes_per_token) - kv4) / 10e9 + kv4 / 40e9, rel=5e-3)
    # a type the probe did not time borrows the rate of the probed type whose kernel it shares
    assert cal.rate_gbps("Q5_0", c.probe_stand_in) == cal.rate_gbps("Q4_0", c.probe_stand_in) == 10.0
    assert cal.rate_gbps("BF16", c.probe_stand_in) == 40.0
    assert cal.rate_gbps("Q3_K", c.probe_stand_in) == 10.0
    assert set(c.probe_types) <= set(c.family) and set(c.probe_stand_in.values()) <= set(c.probe_types)


def test_hops_cost_per_device_boundary():
    a = make_anatomy(n_layer=8)
    two = HardwareProfile(name="2", gpus=(GpuSpec("A", 24 * GiB, 900.0, index=0), GpuSpec("B", 24 * GiB, 900.0, index=1)),
                          ram_bytes=64 * GiB)
    placement = place_weights(a, two, LlamaSettings(tensor_split=(1.0, 1.0)))
    assert device_boundaries(placement) == 1
    assert hop_seconds(2, 4096 * 4, Link(25.0, 1e-4), 5e-5) == pytest.approx(2 * (5e-5 + 1e-4 + 4096 * 4 / 25e9))
    assert hop_seconds(0, 4096 * 4, Link(25.0), 5e-5) == 0.0


def test_ram_pressure_pages_from_disk_and_is_not_called_fits():
    a = make_anatomy(n_layer=8, n_embd=2048, n_ff=8192)
    reserve = speed_constants().ram_reserve_bytes
    gpu = (GpuSpec("G", 24 * GiB, 900.0),)
    settings = LlamaSettings(n_ctx=1024, n_gpu_layers=4)
    roomy = HardwareProfile(name="box", gpus=gpu, ram_bytes=64 * GiB, ram_bandwidth_gbps=100.0)
    ok = estimate_fit(a, roomy, settings)
    assert ok.ram_overflow_bytes == 0 and ok.verdict == "fits"
    # the CPU's half fits in RAM, but with mmap the page cache also holds the GPU's half of the file
    gpu_share = a.tensor_bytes - ok.host.weights_bytes
    small = roomy.with_changes(ram_bytes=ok.host.total_bytes + reserve + gpu_share // 2)
    paged = estimate_fit(a, small, settings)
    assert paged.host.verdict != "does not fit"
    assert paged.ram_overflow_bytes > 0 and paged.verdict != "fits"
    assert paged.speed is not None and paged.speed.pages_from_disk
    assert paged.est_tokens_per_s < ok.est_tokens_per_s / 2
    assert any("RAM pressure" in w for w in paged.warnings)
    assert paged.to_dict()["pages_from_disk"] is True
    # without mmap the weights are read into RAM once: no page cache of the GPU's share
    assert estimate_fit(a, small, settings.with_changes(use_mmap=False)).ram_overflow_bytes == 0


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
                          ram_bandwidth_gbps=50.0, cpu_threads=64)
    c = speed_constants()
    s = speed(a, gpu, LlamaSettings(n_ctx=1024, n_gpu_layers=2))
    placement = place_weights(a, gpu, LlamaSettings(n_ctx=1024, n_gpu_layers=2))
    cuda, cpu = c.backend("CUDA"), c.backend("CPU")
    assert s.seconds_by_device[0] == pytest.approx(s.bytes_per_token[0] / (1000e9 * c.class_efficiency("gddr", "CUDA"))
                                                   + 2 * cuda.layer_s)
    assert s.seconds_by_device[1] == pytest.approx(s.bytes_per_token[1] / (50e9 * c.class_efficiency("cpu", "CPU"))
                                                   + 3 * cpu.layer_s)
    hops = hop_seconds(device_boundaries(placement), 4 * 4096, c.link, cuda.hop_s)
    assert s.seconds_per_token == pytest.approx(sum(s.seconds_by_device) + cuda.token_s + hops)
    assert placement.n_gpu_layers == 2
    full = speed(a, gpu, LlamaSettings(n_ctx=1024))
    assert full.tokens_per_s > s.tokens_per_s  # offloading everything is faster
    blind = gpu.with_changes(ram_bandwidth_gbps=0.0)
    assert speed(a, blind, LlamaSettings(n_ctx=1024, n_gpu_layers=2)).tokens_per_s == 0.0


def test_prompt_processing_is_compute_bound_and_ttft_grows_with_the_prompt():
    from tui.core.fit.speed_prompt import prompt_speed

    a = make_anatomy(n_layer=8, n_embd=2048, n_ff=8192)
    gpu = HardwareProfile(name="g", gpus=(GpuSpec("G", 24 * GiB, 1000.0, fp16_tflops=100.0),), ram_bytes=64 * GiB)
    placement = place_weights(a, gpu, LlamaSettings())
    short = prompt_speed(gpu, placement, a, 512)
    long = prompt_speed(gpu, placement, a, 8192)
    assert long.ttft_s > short.ttft_s * 10
    faster = prompt_speed(gpu.with_changes(gpus=(replace(gpu.gpus[0], fp16_tflops=400.0),)), placement, a, 8192)
    assert faster.tokens_per_s > long.tokens_per_s * 2
    est = estimate_fit(a, gpu, LlamaSettings(), prompt_tokens=8192)
    assert est.to_dict()["est_ttft_s"] == pytest.approx(long.ttft_s, rel=1e-3, abs=1e-3)
    assert est.est_prompt_tokens_per_s > est.est_tokens_per_s


def test_every_speed_carries_its_class_range_or_says_it_has_none():
    from tui.core.fit.speed_range import format_speed, speed_range

    a = make_anatomy(n_layer=4)
    est = estimate_fit(a, HardwareProfile(name="g", gpus=(GpuSpec("G", 24 * GiB, 1000.0),), ram_bytes=64 * GiB),
                       LlamaSettings())
    low, high = est.est_tokens_per_s_range or (0, 0)
    assert low < est.est_tokens_per_s < high
    assert speed_range(100.0, "no-such-class") is None
    assert "no data" in format_speed(100.0, "no-such-class")
    assert format_speed(45.0, "gddr").startswith("~45 t/s (")


def test_depth_slows_decode_through_kv_reads():
    a = make_anatomy(n_layer=8, n_embd=2048, n_head=16, n_head_kv=16, n_ff=4096)
    profile = HardwareProfile(name="g", gpus=(GpuSpec("G", 24 * GiB, 1000.0),), ram_bytes=64 * GiB)
    shallow = estimate_fit(a, profile, LlamaSettings(n_ctx=32768), depth=0)
    deep = estimate_fit(a, profile, LlamaSettings(n_ctx=32768), depth=30000)
    assert deep.speed_context_tokens == 30000
    assert deep.est_tokens_per_s < shallow.est_tokens_per_s
