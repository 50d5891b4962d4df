"""The hardware a model must fit on: GPUs with their memory and bandwidth, and the host's RAM.

Sizes are bytes; bandwidths are GB/s (10**9 bytes per second), as vendors quote them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tui.core.sizes import GiB


@dataclass(frozen=True)
class GpuSpec:
    """One GPU. ``free_bytes`` is known only for detected cards (NVML); None means "assume all free"."""

    name: str
    vram_bytes: int
    bandwidth_gbps: float
    free_bytes: int | None = None
    used_bytes: int | None = None
    backend: str = "CUDA"  # the llama.cpp backend that drives it: CUDA, ROCm, Metal, Vulkan, SYCL
    index: int = 0
    driver: str | None = None
    efficiency: float | None = None  # decode's share of peak bandwidth on this card; None: the profile's
    notes: str = ""  # where the numbers came from when it matters (e.g. "bandwidth from the catalog")
    box: str = ""  # "host:port" of the rpc-server exposing this device; "" = in the head machine
    memory: str = ""  # memory technology when the catalog knows it (HBM2e, GDDR6X, LPDDR5X): the speed class
    fp16_tflops: float | None = None  # dense FP16 tensor throughput (vendor spec): prompt processing

    @property
    def available_bytes(self) -> int:
        return self.vram_bytes if self.free_bytes is None else self.free_bytes

    @property
    def is_remote(self) -> bool:
        """Reached through llama.cpp's RPC backend (``--rpc``), not in the machine running llama-server."""
        return bool(self.box)


@dataclass(frozen=True)
class Link:
    """The network between the head and a helper box: usable bandwidth and round-trip latency.

    ``goodput_gbit`` is what TCP delivers (Gbit/s), below the line rate; ``rtt_us`` a typical
    ping round trip (microseconds). Figures and their sources: ``tui.core.hardware.boxes.LINKS``.
    """

    key: str
    label: str
    goodput_gbit: float
    rtt_us: float
    source: str = ""

    @property
    def bytes_per_s(self) -> float:
        return self.goodput_gbit * 1e9 / 8


@dataclass(frozen=True)
class RemoteBox:
    """A helper machine running llama.cpp's ``rpc-server``: where it is, what it exposes, how it is linked.

    ``gpus`` are the devices its rpc-server exposes, in its order (``-d``; a CPU-only helper
    exposes its RAM as one device whose backend is ``CPU``); each carries ``box = endpoint``.
    """

    name: str
    host: str
    port: int
    gpus: tuple[GpuSpec, ...]
    link: Link
    specs: tuple[str, ...] = ()  # the device words it was described with ("RTX 3060 12GB", "cpu:32")

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class DeviceCalibration:
    """Decode terms measured on this machine (``localai-tui gpus --calibrate``) for one device.

    ``device`` is ``"CPU"`` or ``"GPU<index>"``. ``bandwidth_gbps`` is the effective rate a decode
    reached (not the peak); ``token_s`` and ``layer_s`` the fixed costs per token and per layer.
    """

    device: str
    bandwidth_gbps: float
    token_s: float
    layer_s: float
    threads: int = 0
    measured_at: str = ""
    #: (ggml type, GB/s): the rate decode streamed weights of each probed type at. On a CPU with
    #: few cores decode is bound by each type's dot-product kernel, not by RAM (this project's
    #: 2-core Xeon: Q4_K 9.6, Q6_K 17, Q8_0 17, F16 25 GB/s), so one figure cannot serve every type.
    type_gbps: tuple[tuple[str, float], ...] = ()

    def rate_gbps(self, type_name: str, stand_in: dict[str, str]) -> float:
        """GB/s for weights of ``type_name``: its own probe, else the probe of the type whose kernel
        it shares (``stand_in``), else ``bandwidth_gbps``."""
        rates = dict(self.type_gbps)
        name = type_name.upper()
        if name in rates:
            return rates[name]
        return rates.get(stand_in.get(name, ""), self.bandwidth_gbps)


@dataclass(frozen=True)
class HardwareProfile:
    """A box: zero or more GPUs plus system RAM.

    ``unified_memory`` marks Apple silicon, where the GPU's share (``gpus[0].vram_bytes``,
    the Metal working-set limit) is carved out of ``ram_bytes``.
    ``efficiency`` is the fraction of peak bandwidth decode reaches in practice: the first GPU's
    (the main device) or, for a CPU-only profile, the RAM's. ``ram_efficiency`` is that fraction
    for layers that run on the CPU from RAM; ``efficiency_for(gpu)`` gives a card's own.
    """

    name: str
    gpus: tuple[GpuSpec, ...] = ()
    ram_bytes: int = 16 * GiB
    ram_bandwidth_gbps: float = 50.0
    ram_free_bytes: int | None = None
    unified_memory: bool = False
    source: str = "catalog"  # detected | catalog | custom
    efficiency: float = 0.7
    cpu_threads: int | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    ram_efficiency: float = 0.6
    boxes: tuple[RemoteBox, ...] = ()  # helper boxes; their devices lead ``gpus`` (llama.cpp's order)
    calibration: tuple[DeviceCalibration, ...] = ()  # measured on this machine; beats the class constants
    #: measured/estimated decode speed over this machine's stored bench runs (``tui.core.fit.bench_feedback``):
    #: the estimate's local device times are divided by it. 1.0 = no runs to learn from.
    speed_correction: float = 1.0
    speed_correction_runs: int = 0
    speed_spread: tuple[float, float] | None = None  # (low, high) ratio band of those runs, when enough

    @property
    def is_cpu_only(self) -> bool:
        return not self.gpus

    @property
    def total_vram_bytes(self) -> int:
        return sum(g.vram_bytes for g in self.gpus)

    @property
    def local_gpus(self) -> tuple[GpuSpec, ...]:
        """The head machine's own GPUs (``gpus`` without the helper boxes' devices)."""
        return tuple(g for g in self.gpus if not g.is_remote)

    @property
    def ram_available_bytes(self) -> int:
        return self.ram_bytes if self.ram_free_bytes is None else self.ram_free_bytes

    def efficiency_for(self, gpu: GpuSpec) -> float:
        """The fraction of ``gpu``'s peak bandwidth decode reaches (its own, else the profile's)."""
        return self.efficiency if gpu.efficiency is None else gpu.efficiency

    @property
    def calibration_stamp(self) -> str:
        """When this machine's terms were measured (one stamp per device; "" when never): bench runs
        made under other terms do not correct these."""
        return ",".join(c.measured_at for c in self.calibration)

    def calibration_for(self, device: str) -> DeviceCalibration | None:
        """The measured terms of ``device`` ("CPU", "GPU0"...), if this machine was calibrated."""
        return next((c for c in self.calibration if c.device == device), None)

    def with_changes(self, **changes: Any) -> HardwareProfile:
        return replace(self, **changes)
