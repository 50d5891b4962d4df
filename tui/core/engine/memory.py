"""Live memory of the running process: RSS from psutil, VRAM from NVML when there is an NVIDIA GPU.

Sizes are bytes. NVML is optional: without the driver (or the ``pynvml`` module) the
GPU list is empty rather than an error, so the same code runs on CPU-only boxes.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GpuMemoryUse:
    """One NVIDIA GPU: the whole device's use and, when the driver tells, this process's share."""

    index: int
    name: str
    used_bytes: int
    total_bytes: int
    process_bytes: int | None


@dataclass(frozen=True)
class MemoryUse:
    rss_bytes: int
    peak_rss_bytes: int | None
    gpus: tuple[GpuMemoryUse, ...] = ()


def process_rss_bytes() -> int:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss


def peak_rss_bytes() -> int | None:
    """The process's high-water RSS (``getrusage``); None where the platform lacks it."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KiB


_nvml_lock = threading.Lock()
_nvml_state: dict[str, Any] = {}


def _nvml() -> Any:  # the pynvml module (untyped)
    """The initialised pynvml module, or None when NVML is unavailable (checked once)."""
    with _nvml_lock:
        if "module" not in _nvml_state:
            try:
                import pynvml

                pynvml.nvmlInit()
                _nvml_state["module"] = pynvml
            except Exception:
                _nvml_state["module"] = None
        return _nvml_state["module"]


def gpu_memory_use() -> tuple[GpuMemoryUse, ...]:
    nvml = _nvml()
    if nvml is None:
        return ()
    pid = os.getpid()
    gpus = []
    try:
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            info = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = nvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else name
            process_bytes = None
            try:
                for proc in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                    if proc.pid == pid and proc.usedGpuMemory is not None:
                        process_bytes = (process_bytes or 0) + proc.usedGpuMemory
            except Exception:
                pass
            gpus.append(GpuMemoryUse(index, name, info.used, info.total, process_bytes))
    except Exception:
        return tuple(gpus)
    return tuple(gpus)


def memory_use() -> MemoryUse:
    """RSS, peak RSS and per-GPU memory right now."""
    return MemoryUse(rss_bytes=process_rss_bytes(), peak_rss_bytes=peak_rss_bytes(), gpus=gpu_memory_use())
