"""Per-backend constants of the fit engine, read from ``tui/data/fit_backends.toml``.

Everything llama.cpp allocates through ggml is computed from its own rules elsewhere; this is
what it cannot tell us: a driver's own footprint on each device, buffer alignment, and which
attention head sizes a GPU's flash-attention kernels handle. (Speed constants: ``speed_constants``.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tui.core.sizes import MiB
from tui.core.toml_io import read_packaged_toml


@dataclass(frozen=True)
class BackendTraits:
    """One backend. ``flash_attn_heads`` empty and ``flash_attn_k_heads`` empty = every head size."""

    name: str
    overhead_bytes: int
    alignment: int
    flash_attn_heads: frozenset[tuple[int, int]] = frozenset()
    flash_attn_k_heads: frozenset[int] = frozenset()
    flash_attn_min_gqa: tuple[tuple[tuple[int, int], int], ...] = ()

    def supports_flash_attn(self, head_k: int, head_v: int, gqa: int) -> bool:
        """Whether FLASH_ATTN_EXT runs on this backend for these head sizes (else it falls back to the CPU)."""
        if self.flash_attn_k_heads:
            return head_k in self.flash_attn_k_heads and head_v <= head_k
        if not self.flash_attn_heads:
            return True
        if (head_k, head_v) not in self.flash_attn_heads:
            return False
        for pair, multiple in self.flash_attn_min_gqa:
            if pair == (head_k, head_v) and (gqa <= 0 or gqa % multiple):
                return False
        return True


def _traits(name: str, table: dict[str, Any]) -> BackendTraits:
    gqa = tuple(
        ((int(k.split("x")[0]), int(k.split("x")[1])), int(v)) for k, v in table.get("flash_attn_min_gqa", {}).items()
    )
    return BackendTraits(
        name=name,
        overhead_bytes=int(table["overhead_mib"] * MiB),
        alignment=int(table["alignment"]),
        flash_attn_heads=frozenset((int(k), int(v)) for k, v in table.get("flash_attn_heads", ())),
        flash_attn_k_heads=frozenset(int(k) for k in table.get("flash_attn_k_heads", ())),
        flash_attn_min_gqa=gqa,
    )


@lru_cache(maxsize=1)
def _table() -> tuple[BackendTraits, dict[str, BackendTraits], BackendTraits]:
    data = read_packaged_toml("fit_backends.toml")
    cpu = _traits("CPU", data["cpu"])
    gpus = {name.upper(): _traits(name, table) for name, table in data["backend"].items()}
    return cpu, gpus, _traits("GPU", data["default_backend"])


def cpu_traits() -> BackendTraits:
    return _table()[0]


def rpc_device_overhead(backend: str) -> int:
    """What a device lent through ``rpc-server`` costs beyond llama.cpp's buffers.

    A GPU: its backend's driver context, as locally. A CPU-only helper lends its RAM, from which
    the ``rpc-server`` process itself also lives (``[rpc] server_overhead_mib``).
    """
    if backend.upper() == "CPU":
        return int(_rpc_table()["server_overhead_mib"] * MiB)
    return gpu_traits(backend).overhead_bytes


@lru_cache(maxsize=1)
def _rpc_table() -> dict[str, float]:
    return {key: float(value) for key, value in read_packaged_toml("fit_backends.toml")["rpc"].items()}


def device_traits(backend: str) -> BackendTraits:
    """Traits of the backend driving a device: the CPU's for ``CPU`` (a CPU-only RPC helper), else the GPU's."""
    return cpu_traits() if backend.upper() == "CPU" else gpu_traits(backend)


def gpu_traits(backend: str) -> BackendTraits:
    """Traits for a GPU backend name (``CUDA``, ``ROCm``, ``HIP``, ``Metal``, ``Vulkan``, ...)."""
    _, gpus, default = _table()
    key = backend.upper()
    if key == "HIP":
        key = "ROCM"
    return gpus.get(key, default)
