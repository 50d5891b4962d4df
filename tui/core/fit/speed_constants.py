"""The speed model's constants, read from ``tui/data/speed.toml`` (each cites its source there).

Constants are per backend (fixed costs), per device class (bandwidth efficiency) and per quant
family (dequantisation cost): physical terms fitted on published measurements, never per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tui.core.toml_io import read_packaged_toml


@dataclass(frozen=True)
class BackendCost:
    """Fixed costs of one llama.cpp backend, seconds."""

    token_s: float  # per decoded token: graph build, launches, synchronisation, sampling
    layer_s: float  # per layer and token: the kernels of one block
    expert_s: float  # per active expert, MoE layer and token: mul_mat_id's gather and launch
    hop_s: float  # per device boundary and token: synchronisation of a layer split


@dataclass(frozen=True)
class Link:
    """What joins two devices of a split: bandwidth (GB/s) and latency (seconds) per hop."""

    gbps: float
    latency_s: float = 0.0


@dataclass(frozen=True)
class SpeedConstants:
    backends: dict[str, BackendCost]
    efficiency: dict[str, dict[str, float]]  # class -> backend -> fraction of peak bandwidth
    family: dict[str, str]  # ggml type name -> quant family
    gpu_ops: dict[str, float]  # family -> FP16-equivalent ops per weight in decode
    cpu_gweights_per_core: dict[str, float]  # family -> 1e9 weights per second per core
    cpu_cores: dict[str, int]  # CPU class -> cores a catalog setup is assumed to have
    link: Link
    gpu_ceiling_backends: frozenset[str] = frozenset({"Metal"})
    ram_reserve_bytes: int = 4 * 1024**3  # kept by the OS and GPU runtime on a catalog profile
    disk_gbps: float = 2.5  # where paged-out weights come from
    probe_types: tuple[str, ...] = ("Q4_K",)  # weight types the speed probe times one by one
    probe_stand_in: dict[str, str] = field(default_factory=dict)  # unprobed type -> probed type of its kernel kind
    extra: dict[str, Any] = field(default_factory=dict)

    def backend(self, name: str) -> BackendCost:
        key = _BACKEND_KEYS.get(name.upper(), name)
        return self.backends.get(key, self.backends["Vulkan"])

    def class_efficiency(self, speed_class: str, backend: str) -> float:
        table = self.efficiency.get(speed_class, self.efficiency["gddr"])
        key = _BACKEND_KEYS.get(backend.upper(), backend)
        if key in table:
            return table[key]
        return min(table.values())

    def quant_family(self, type_name: str) -> str:
        return self.family.get(type_name.upper(), "kquant")


_BACKEND_KEYS = {"CUDA": "CUDA", "ROCM": "ROCm", "HIP": "ROCm", "METAL": "Metal", "MTL": "Metal",
                 "VULKAN": "Vulkan", "SYCL": "SYCL", "CPU": "CPU"}


def parse_constants(data: dict[str, Any]) -> SpeedConstants:
    """``SpeedConstants`` from the TOML tables (microseconds in the file, seconds here)."""
    backends = {
        name: BackendCost(float(t["token_us"]) * 1e-6, float(t["layer_us"]) * 1e-6, float(t["expert_us"]) * 1e-6,
                          float(t["hop_us"]) * 1e-6)
        for name, t in data["backend"].items()
    }
    compute = data["compute"]
    link = data["link"]
    return SpeedConstants(
        backends=backends,
        efficiency={k: {b: float(v) for b, v in t.items()} for k, t in data["efficiency"].items()},
        family={k.upper(): str(v) for k, v in compute["family"].items()},
        gpu_ops={k: float(v) for k, v in compute["gpu_ops"].items()},
        cpu_gweights_per_core={k: float(v) for k, v in compute["cpu_gweights_per_core"].items()},
        cpu_cores={k: int(v) for k, v in data["cpu_cores"].items()},
        link=Link(float(link["gbps"]), float(link.get("latency_us", 0.0)) * 1e-6),
        gpu_ceiling_backends=frozenset(str(b) for b in compute.get("gpu_ceiling_backends", ["Metal"])),
        ram_reserve_bytes=int(float(data["ram"]["reserve_gib"]) * 1024**3),
        disk_gbps=float(data["ram"]["disk_gbps"]),
        probe_types=tuple(str(t).upper() for t in data["calibration"]["probe_types"]),
        probe_stand_in={k.upper(): str(v).upper() for k, v in data["calibration"]["stand_in"].items()},
        extra={"prompt": dict(data.get("prompt", {}))},
    )


@lru_cache(maxsize=1)
def speed_constants() -> SpeedConstants:
    """The packaged constants (read once)."""
    return parse_constants(read_packaged_toml("speed.toml"))
