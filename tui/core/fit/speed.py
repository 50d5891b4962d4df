"""How fast a placement decodes: a sum of physical terms, each fitted per device class or backend.

For one sequence, devices of a layer split run one after another (``-sm layer``), so

    seconds per token = token_s(main backend)
        + sum over devices d of
            max(bytes read on d / (peak bandwidth x efficiency(class, backend)),
                weights read on d x dequant cost / device throughput)
            + layers on d x layer_s(backend) + active experts on d x expert_s(backend)
        + device boundaries x (hop_s + hidden-state bytes / link bandwidth + link latency)

and tokens/s is its inverse. Bytes read per token (``placement.ModelIndex.read``): dense weights
in full; MoE experts only for the ``n_expert_used / n_expert`` a token picks; ``token_embd`` one
row; plus the KV cache of every cached token (``kv_bytes_read_per_token`` at the asked depth).

* The fixed costs (``token_s``, ``layer_s``, ``expert_s``) are why small models and MoE models
  on fast GPUs decode far below bandwidth arithmetic; the efficiency per device class is why
  datacenter HBM cards reach about half their peak at batch 1 and GDDR cards 75-95%.
* The compute ceiling is why few-core CPUs and Apple GPUs on Q4 models (dequantisation binds)
  are slower per byte than on F16.
* A device measured on this machine (``HardwareProfile.calibration``) uses its measured
  fixed costs and, per weight type, the rate the probe streamed that type at (the model's type
  mix decides the blend) instead of the class's bandwidth, efficiency and compute ceiling.

Constants and their sources: ``tui/data/speed.toml``. Bandwidths are GB/s; sizes bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from tui.core.fit.cache import cached_for
from tui.core.fit.kv_cache import CacheLayout, kv_bytes_read_per_token
from tui.core.fit.placement import Placement
from tui.core.fit.speed_constants import Link, SpeedConstants, speed_constants
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.gguf.ggml_types import ggml_type
from tui.core.hardware.devices import DeviceCalibration, GpuSpec, HardwareProfile

#: RAM bandwidth above which a CPU-only box counts as a many-channel server (GB/s): 6+ channels.
SERVER_RAM_GBPS = 120.0


@dataclass(frozen=True)
class SpeedEstimate:
    """Decode speed for one placement. Per-device tuples follow ``placement.devices``."""

    tokens_per_s: float  # 0.0 when a device's bandwidth is unknown
    seconds_per_token: float
    context_tokens: int  # tokens already in the cache the estimate assumes
    bytes_per_token: tuple[float, ...]
    seconds_by_device: tuple[float, ...]
    speed_class: str = ""  # the main device's class (gddr, hbm, apple, apple_ultra, unified, cpu, cpu_server)
    backend: str = ""  # the main device's backend
    bound_by: str = ""  # what dominates: memory, compute, fixed cost, hops
    measured_terms: bool = False  # the main device's terms come from this machine's calibration
    pages_from_disk: bool = False  # RAM pressure: the CPU's weights are re-read from disk every token
    correction: float = 1.0  # measured/estimated over this machine's bench runs, applied to its own devices


# --- device classes ----------------------------------------------------------------------------


def gpu_class(gpu: GpuSpec, unified: bool) -> str:
    """The device class whose efficiency applies to ``gpu``: hbm, apple(_ultra), unified, gddr5 (Pascal/Maxwell-era
    cards), gddr."""
    name = gpu.name.casefold()
    memory = gpu.memory.upper()
    if memory.startswith("HBM"):
        return "hbm"
    if gpu.backend == "Metal" or name.startswith("apple"):
        return "apple_ultra" if "ultra" in name else "apple"
    if unified or memory.startswith("LPDDR"):
        return "unified"
    if memory.startswith("GDDR5"):
        return "gddr5"
    return "gddr"


def cpu_class(profile: HardwareProfile) -> str:
    """``cpu_server`` for many-channel RAM (NUMA, more cores than a desktop), else ``cpu``."""
    return "cpu_server" if profile.ram_bandwidth_gbps > SERVER_RAM_GBPS and not profile.unified_memory else "cpu"


def main_class(profile: HardwareProfile) -> tuple[str, str]:
    """(class, backend) of the profile's main device: the first GPU, else the CPU."""
    if profile.gpus:
        gpu = profile.gpus[0]
        return gpu_class(gpu, profile.unified_memory), gpu.backend
    return cpu_class(profile), "CPU"


def cpu_cores(profile: HardwareProfile, n_threads: int | None, constants: SpeedConstants) -> int:
    """Threads decode runs with: ``-t``, else this machine's physical cores, else the class's typical count."""
    if n_threads and n_threads > 0:
        return n_threads
    if profile.cpu_threads:
        return profile.cpu_threads
    return constants.cpu_cores.get(cpu_class(profile), 8)


# --- what the model costs per byte -------------------------------------------------------------


@dataclass(frozen=True)
class ComputeCost:
    """Per byte of weights read: FP16-equivalent GPU ops, and CPU core-seconds."""

    gpu_ops_per_byte: float
    cpu_core_s_per_byte: float


def compute_cost(anatomy: ModelAnatomy, constants: SpeedConstants) -> ComputeCost:
    """Averaged over the model's matrices by bytes (cached per anatomy)."""

    def build() -> ComputeCost:
        ops = core_s = total = 0.0
        for t in anatomy.tensors:
            if len(t.shape) < 2 or t.n_bytes <= 0:
                continue
            family = constants.quant_family(ggml_type(t.ggml_type).name)
            ops += t.n_elements * constants.gpu_ops.get(family, 20.0)
            core_s += t.n_elements / (constants.cpu_gweights_per_core.get(family, 8.0) * 1e9)
            total += t.n_bytes
        if total <= 0:
            return ComputeCost(0.0, 0.0)
        return ComputeCost(ops / total, core_s / total)

    key = f"compute-cost:{sorted(constants.gpu_ops.items())}:{sorted(constants.cpu_gweights_per_core.items())}"
    return cached_for(anatomy, key, build)


@dataclass(frozen=True)
class ModelFacts:
    """What the speed terms need from a model beyond its placement (cached: O(tensors) once)."""

    elements_per_byte: float  # weights per byte of tensor data, averaged over the model
    moe_layers: int  # layers with routed experts


def model_facts(anatomy: ModelAnatomy) -> ModelFacts:
    def build() -> ModelFacts:
        nbytes = anatomy.tensor_bytes
        moe = sum(1 for t in anatomy.tensors if t.name.endswith("ffn_up_exps.weight"))
        return ModelFacts(anatomy.n_params / nbytes if nbytes else 0.0, moe)

    return cached_for(anatomy, "speed-facts", build)


def measured_seconds_per_byte(anatomy: ModelAnatomy | None, measured: DeviceCalibration,
                              constants: SpeedConstants) -> float:
    """Seconds per byte of this model's weights on a calibrated device: its type mix over the
    rates the probe measured for each type (token_embd is read one row a token, so it is left out)."""
    if anatomy is None or not measured.type_gbps:
        return 1.0 / (measured.bandwidth_gbps * 1e9)

    def build() -> float:
        seconds = total = 0.0
        for t in anatomy.tensors:
            if t.n_bytes <= 0 or t.name.startswith("token_embd."):
                continue
            rate = measured.rate_gbps(ggml_type(t.ggml_type).name, constants.probe_stand_in)
            seconds += t.n_bytes / (rate * 1e9)
            total += t.n_bytes
        return seconds / total if total > 0 else 1.0 / (measured.bandwidth_gbps * 1e9)

    key = f"measured-spb:{measured.device}:{measured.bandwidth_gbps}:{measured.type_gbps}"
    return cached_for(anatomy, key, build)


# --- the estimate ------------------------------------------------------------------------------


def default_link(profile: HardwareProfile, constants: SpeedConstants) -> Link:
    """The link between two devices of ``profile`` (PCIe unless a profile says otherwise).

    Remote devices (llama.cpp RPC) give their network's bandwidth and latency here.
    """
    return constants.link


def device_boundaries(placement: Placement) -> int:
    """How many times a token's activations change device along the blocks and the output layer.

    The input lookup (on the CPU) feeding the first GPU is part of every offloaded run's fixed cost.
    """
    order = [*placement.layer_device, placement.output_device]
    return sum(1 for a, b in pairwise(order) if a != b)


def hop_seconds(boundaries: int, activation_bytes: float, link: Link, hop_s: float) -> float:
    """Per-token cost of ``boundaries`` device changes: synchronisation plus the hidden state over the link."""
    if boundaries <= 0:
        return 0.0
    transfer = activation_bytes / (link.gbps * 1e9) if link.gbps > 0 else 0.0
    return boundaries * (hop_s + link.latency_s + transfer)


def decode_speed(profile: HardwareProfile, placement: Placement, layout: CacheLayout,
                 n_past: int | None = None, *, anatomy: ModelAnatomy | None = None,
                 n_threads: int | None = None, constants: SpeedConstants | None = None,
                 pages_from_disk: bool = False) -> SpeedEstimate:
    """Tokens/s generating with ``n_past`` tokens cached (default: half the context).

    ``pages_from_disk``: the plan does not fit in free RAM (``ram_pressure``), so the weights the
    CPU reads per token come from disk.
    """
    c = constants or speed_constants()
    n_past = layout.context.n_ctx_seq // 2 if n_past is None else max(0, n_past)
    n_dev = len(placement.devices)
    read = list(placement.read_per_token)
    for il, kv in enumerate(kv_bytes_read_per_token(layout, n_past)):
        read[placement.layer_device[il]] += kv
    layers_on = [0] * n_dev
    for dev in placement.layer_device:
        layers_on[dev] += 1
    layers_on[placement.output_device] += 1
    experts = placement.expert_read_per_token or (0.0,) * n_dev
    expert_total = sum(experts)
    active_experts = 0
    cost = None
    if anatomy is not None:
        cost = compute_cost(anatomy, c)
        active_experts = anatomy.n_expert_used * model_facts(anatomy).moe_layers
    main, backend = main_class(profile)
    seconds: list[float] = []
    parts = {"memory": 0.0, "compute": 0.0, "fixed": 0.0, "hops": 0.0}
    unknown = False
    measured_main = False
    for dev in range(n_dev):
        device = placement.devices[dev]
        if read[dev] <= 0 and layers_on[dev] == 0:
            seconds.append(0.0)
            continue
        if device.is_gpu:
            gpu = profile.gpus[device.gpu]
            key = f"GPU{device.gpu}"
            cls, dev_backend = gpu_class(gpu, profile.unified_memory), gpu.backend
            peak = gpu.bandwidth_gbps
            throughput = (gpu.fp16_tflops or 0.0) * 1e12
        else:
            key = "CPU"
            cls, dev_backend = cpu_class(profile), "CPU"
            peak = profile.ram_bandwidth_gbps
            cores = cpu_cores(profile, n_threads, c)
            throughput = float(cores)
        bc = c.backend(dev_backend)
        measured = profile.calibration_for(key)
        if measured is not None:
            bandwidth = measured.bandwidth_gbps * 1e9
            layer_s = measured.layer_s
            measured_main = measured_main or dev == 0
        else:
            bandwidth = peak * 1e9 * c.class_efficiency(cls, dev_backend)
            layer_s = bc.layer_s
        if bandwidth <= 0:
            unknown = True
            seconds.append(0.0)
            continue
        memory = read[dev] / bandwidth
        if measured is not None and measured.type_gbps:
            weights = placement.read_per_token[dev]
            kv_rate = measured.rate_gbps("F16", c.probe_stand_in) * 1e9
            memory = weights * measured_seconds_per_byte(anatomy, measured, c) + (read[dev] - weights) / kv_rate
        compute = 0.0
        if cost is not None:
            weights = placement.read_per_token[dev]
            if device.is_gpu and throughput > 0 and dev_backend in c.gpu_ceiling_backends:
                compute = weights * cost.gpu_ops_per_byte / throughput
            elif not device.is_gpu and measured is None:
                compute = weights * cost.cpu_core_s_per_byte / max(1.0, throughput)
        share = experts[dev] / expert_total if expert_total > 0 else 0.0
        fixed = layers_on[dev] * layer_s + active_experts * share * bc.expert_s
        parts["memory"] += memory if memory >= compute else 0.0
        parts["compute"] += compute if compute > memory else 0.0
        parts["fixed"] += fixed
        seconds.append(max(memory, compute) + fixed)
    main_key = "GPU0" if profile.gpus else "CPU"
    main_measured = profile.calibration_for(main_key)
    token_s = main_measured.token_s if main_measured is not None else c.backend(backend).token_s
    hops = hop_seconds(device_boundaries(placement), 4.0 * (anatomy.n_embd if anatomy else 4096),
                       default_link(profile, c), c.backend(backend).hop_s) if n_dev > 1 else 0.0
    parts["fixed"] += token_s
    parts["hops"] = hops
    if pages_from_disk:
        paging = placement.read_per_token[placement.cpu] / (c.disk_gbps * 1e9)
        seconds[placement.cpu] += paging
        parts["disk"] = paging
    correction = profile.speed_correction if profile.speed_correction > 0 else 1.0
    if correction != 1.0:  # this machine's bench runs: its own devices run this much faster than the terms say
        seconds = [t if placement.devices[d].is_gpu and profile.gpus[placement.devices[d].gpu].is_remote
                   else t / correction for d, t in enumerate(seconds)]
        token_s /= correction
    total = sum(seconds) + token_s + hops
    tps = 0.0 if unknown or total <= 0 else 1.0 / total
    bound = max(parts, key=parts.__getitem__)
    return SpeedEstimate(tps, total, n_past, tuple(read), tuple(seconds), main, backend, bound, measured_main,
                         pages_from_disk, correction)


def ram_pressure(profile: HardwareProfile, host_bytes: int, file_bytes: int, host_weights: int, use_mmap: bool,
                 constants: SpeedConstants | None = None) -> int:
    """Bytes by which the plan overflows the free RAM (0: it fits in RAM and runs at the predicted speed).

    ``host_bytes`` is everything the host holds (weights, KV, buffers, overhead). With mmap and
    weights on a GPU, the page cache also holds the GPU's share of the file after loading (the
    loader reads it through the mapping), so the whole file counts. Free RAM is the detected free
    memory for this machine, or the total minus a reserve for the OS for a catalog profile.
    """
    c = constants or speed_constants()
    needed = host_bytes
    if use_mmap and profile.gpus and not profile.unified_memory:
        needed += max(0, file_bytes - host_weights)
    free = profile.ram_free_bytes if profile.ram_free_bytes is not None else profile.ram_bytes - c.ram_reserve_bytes
    return max(0, needed - free)
