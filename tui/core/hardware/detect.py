"""What this machine has: NVIDIA GPUs through NVML, RAM and cores through psutil, Apple silicon via sysctl.

Detection never fails: no NVML library, no driver or any NVML error means "no NVIDIA GPU", and
the profile falls back to CPU-only (or Metal on Apple silicon) with a note saying why.

Memory bandwidth is computed from NVML's own numbers, the way vendors quote it:
``max memory clock (MHz) x 10**6 x 2 (double data rate) x bus width (bits) / 8`` bytes per second;
an RTX 3090 reports 9751 MHz on a 384-bit bus: 936 GB/s. When NVML lacks a value the catalog's
figure for the card is used. RAM bandwidth cannot be measured cheaply, so it is the user's
figure (``localai-tui gpus --ram-bandwidth``) or the catalog's default RAM setup.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.hardware.catalog import (
    CatalogDevice,
    backend_efficiency,
    find_device,
    load_gpu_catalog,
    match_detected_name,
    metal_working_set_bytes,
)
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB, MiB

#: GB/s assumed for a GPU that neither NVML nor the catalog can size (a low, safe guess).
UNKNOWN_GPU_BANDWIDTH_GBPS = 200.0

#: GB/s assumed for an Apple chip the catalog does not know yet (the base M2/M3's figure).
UNKNOWN_APPLE_BANDWIDTH_GBPS = 100.0

#: Outside this ratio of the catalog's figure, NVML's bandwidth is taken to be a misreport.
_PLAUSIBLE_RATIO = (0.5, 2.0)


@dataclass(frozen=True)
class HostInfo:
    """The machine itself: RAM in bytes (a container's memory limit, if lower), CPU cores."""

    ram_bytes: int
    ram_available_bytes: int
    physical_cores: int
    logical_cores: int
    cpu_name: str
    system: str
    notes: str = ""


@dataclass(frozen=True)
class GpuDetection:
    """NVIDIA GPUs as CUDA will number them, and one line saying how detection went."""

    gpus: tuple[GpuSpec, ...]
    status: str
    driver: str | None = None
    unified_memory: bool = False  # an NVIDIA machine whose GPU shares system RAM (DGX Spark / GB10)


@dataclass(frozen=True)
class RamSetup:
    """This machine's RAM bandwidth (GB/s), where it came from, and decode's share of it.

    ``known`` is False when the figure is the catalog's default guess, True when the user gave it
    or the hardware implies it (unified memory).
    """

    bandwidth_gbps: float
    label: str
    efficiency: float
    known: bool


def nvml_bandwidth_gbps(max_memory_clock_mhz: float, bus_width_bits: float) -> float:
    """Peak memory bandwidth in GB/s from NVML's maximum memory clock (MHz) and bus width (bits).

    NVML reports the memory clock at half the data rate (GDDR6X 19.5 Gbps -> 9751 MHz; HBM2
    2.43 Gbps -> 1215 MHz), so transfers per second are twice the clock.
    """
    return max_memory_clock_mhz * 1e6 * 2 * bus_width_bits / 8 / 1e9


# ------------------------------------------------------------------ NVIDIA GPUs


def detect_gpus() -> list[GpuSpec]:
    """The NVIDIA GPUs CUDA will see, or [] when there are none or NVML is unavailable."""
    return list(probe_nvidia_gpus().gpus)


def probe_nvidia_gpus() -> GpuDetection:
    """Ask NVML for every visible GPU: name, total/free/used VRAM, driver and memory bandwidth."""
    try:
        import pynvml
    except ImportError:
        return GpuDetection((), "nvidia-ml-py is not installed")
    try:
        pynvml.nvmlInit()
    except (pynvml.NVMLError, OSError) as exc:
        return GpuDetection((), f"NVML unavailable: {exc}")
    try:
        driver = _text(_query(pynvml, "nvmlSystemGetDriverVersion"))
        count = pynvml.nvmlDeviceGetCount()
        visible = _cuda_visible_indices(pynvml, count)
        gpus: list[GpuSpec] = []
        skipped: list[str] = []
        unified = False
        for cuda_index, nvml_index in enumerate(visible):
            try:
                spec, match = _read_device(pynvml, nvml_index, len(gpus), driver)
            except pynvml.NVMLError:  # e.g. "GPU is lost": the others still count
                spec, match = None, None
            if spec is None:
                skipped.append(f"GPU {cuda_index}")
                continue
            unified = unified or bool(match and match.unified_memory)
            gpus.append(spec)
    except pynvml.NVMLError as exc:
        return GpuDetection((), f"NVML error: {exc}")
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    if not gpus:
        if count and not visible:
            status = f"CUDA_VISIBLE_DEVICES hides all {count} NVIDIA GPU(s)"
        elif skipped:
            status = f"NVML could not read {', '.join(skipped)}"
        else:
            status = "NVML found no NVIDIA GPU"
        return GpuDetection((), status, driver)
    status = f"{len(gpus)} NVIDIA GPU{'s' if len(gpus) > 1 else ''}" + (f", driver {driver}" if driver else "")
    if skipped:
        status += f" ({', '.join(skipped)} skipped: NVML could not read them)"
    return GpuDetection(tuple(gpus), status, driver, unified)


def _read_device(nvml: Any, nvml_index: int, cuda_index: int, driver: str | None
                 ) -> tuple[GpuSpec | None, CatalogDevice | None]:
    """One GPU as a ``GpuSpec`` plus its catalog entry; (None, None) when its memory size is unknowable.

    ``cuda_index`` is its position among the GPUs kept (CUDA's device number).
    """
    handle = nvml.nvmlDeviceGetHandleByIndex(nvml_index)
    name = _text(nvml.nvmlDeviceGetName(handle)) or f"NVIDIA GPU {nvml_index}"
    memory = _query(nvml, "nvmlDeviceGetMemoryInfo", handle)
    total = int(memory.total) if memory is not None and memory.total else None
    match = match_detected_name(name, total)
    notes = []
    free = used = None
    if total is None:
        if match is None:
            return None, None
        total = match.vram_bytes
        notes.append(f"memory size from the catalog's '{match.name}' (NVML does not report it)")
    else:
        free, used = int(memory.free), int(memory.used)
    clock = _query(nvml, "nvmlDeviceGetMaxClockInfo", handle, getattr(nvml, "NVML_CLOCK_MEM", 2))
    bus = _query(nvml, "nvmlDeviceGetMemoryBusWidth", handle)
    measured = nvml_bandwidth_gbps(clock, bus) if clock and bus else None
    bandwidth, note = _choose_bandwidth(name, measured, match, total)
    if note:
        notes.append(note)
    efficiency = match.efficiency if match else backend_efficiency("CUDA")
    spec = GpuSpec(name=name, vram_bytes=total, bandwidth_gbps=round(bandwidth, 1), free_bytes=free,
                   used_bytes=used, backend="CUDA", index=cuda_index, driver=driver, efficiency=efficiency,
                   notes="; ".join(notes), memory=match.memory if match else "",
                   fp16_tflops=match.fp16_tflops if match else None)
    return spec, match


def _choose_bandwidth(name: str, measured: float | None, match: CatalogDevice | None,
                      vram_bytes: int) -> tuple[float, str]:
    """NVML's bandwidth when it is plausible, else the catalog's, else a low guess; and a note why."""
    if measured and match:
        low, high = _PLAUSIBLE_RATIO
        same_card = abs(match.vram_bytes - vram_bytes) <= 0.15 * match.vram_bytes
        if not low <= measured / match.bandwidth_gbps <= high and same_card:
            return match.bandwidth_gbps, (f"NVML's {measured:.0f} GB/s is implausible for a {match.name}; "
                                          f"using the catalog's {match.bandwidth_gbps:g} GB/s")
        return measured, ""
    if measured:
        return measured, ""
    if match:
        return match.bandwidth_gbps, f"bandwidth from the catalog's '{match.name}' (NVML does not report it)"
    return UNKNOWN_GPU_BANDWIDTH_GBPS, (f"bandwidth unknown for '{name}': assumed {UNKNOWN_GPU_BANDWIDTH_GBPS:g} GB/s "
                                        "(save a custom profile with the real figure)")


def _cuda_visible_indices(nvml: Any, count: int) -> list[int]:
    """NVML indices of the GPUs CUDA will use, in CUDA's order, honouring CUDA_VISIBLE_DEVICES.

    Like CUDA, the list is read up to its first entry that names no device. (CUDA's default order
    is fastest-first; set CUDA_DEVICE_ORDER=PCI_BUS_ID for NVML's order on mixed machines.)
    """
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is None:
        return list(range(count))
    uuids = None
    picked: list[int] = []
    for item in (part.strip() for part in env.split(",")):
        if item.isdigit():
            index = int(item)
        elif item.startswith(("GPU-", "MIG-")):
            if uuids is None:
                uuids = [_text(_query(nvml, "nvmlDeviceGetUUID", nvml.nvmlDeviceGetHandleByIndex(i))) or ""
                         for i in range(count)]
            index = next((i for i, u in enumerate(uuids) if u and u.startswith(item)), -1)
        else:
            break
        if not 0 <= index < count or index in picked:
            break
        picked.append(index)
    return picked


def _query(nvml: Any, function: str, *args: object) -> Any:
    """Call an optional NVML query; None if this NVML or this GPU does not support it."""
    call = getattr(nvml, function, None)
    if call is None:
        return None
    try:
        return call(*args)
    except nvml.NVMLError:
        return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ------------------------------------------------------------------ the host


def detect_host() -> HostInfo:
    """RAM (total and available, bytes) and CPU cores of this machine, via psutil."""
    import psutil

    memory = psutil.virtual_memory()
    total, available = int(memory.total), int(memory.available)
    notes = ""
    limit = _cgroup_memory_limit()
    if limit is not None and limit < total:
        notes = f"container memory limit: {limit / GiB:.1f} GiB of the machine's {total / GiB:.1f} GiB"
        total, available = limit, min(available, limit)
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    return HostInfo(ram_bytes=total, ram_available_bytes=available, physical_cores=physical,
                    logical_cores=logical, cpu_name=_cpu_name(), system=platform.system(), notes=notes)


def _cgroup_memory_limit() -> int | None:
    """The container's memory limit in bytes (cgroup v2, then v1), None when unlimited or unknown."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
        return None
    return None


def _cpu_name() -> str:
    if sys.platform == "darwin":
        name = _sysctl("machdep.cpu.brand_string")
        if name:
            return name
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _sysctl(name: str) -> str | None:
    """A macOS sysctl value as text, None if unavailable."""
    try:
        done = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def _is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


# ------------------------------------------------------------------ profiles


def assumed_ram_setup() -> RamSetup:
    """This machine's RAM bandwidth: the user's figure from hardware.toml, else the catalog default."""
    from tui.core.hardware.profile_store import load_hardware_settings

    settings = load_hardware_settings()
    catalog = load_gpu_catalog()
    if settings.ram_bandwidth_gbps is not None:
        efficiency = backend_efficiency("CPU")
        label = settings.ram_setup or "your figure"
        if settings.ram_setup:
            try:
                efficiency = find_device(settings.ram_setup).efficiency
            except LocalAIError:
                pass
        return RamSetup(settings.ram_bandwidth_gbps, label, efficiency, True)
    default = catalog.default_ram_setup
    return RamSetup(default.bandwidth_gbps, default.name, default.efficiency, False)


def ram_setup_note(setup: RamSetup) -> str:
    if setup.known:
        return f"RAM bandwidth {setup.bandwidth_gbps:g} GB/s ({setup.label})"
    return (f"RAM bandwidth {setup.bandwidth_gbps:g} GB/s assumed ({setup.label}); "
            "set yours with 'localai-tui gpus --ram-bandwidth GBPS'")


def detect_profile(host: HostInfo | None = None, detection: GpuDetection | None = None) -> HardwareProfile:
    """This machine as a profile (``source="detected"``): its NVIDIA GPUs, or Apple silicon, or CPU-only.

    Speed terms measured here by ``localai-tui gpus --calibrate`` come with it (``calibration``), and
    the correction this machine's bench runs teach (``speed_correction``).
    """
    from tui.core.hardware.speed_store import load_calibration, machine_fingerprint

    host = host or detect_host()
    detection = detection or probe_nvidia_gpus()
    profile = _detected_profile(host, detection)
    fingerprint = machine_fingerprint(host.cpu_name, host.physical_cores, host.ram_bytes, profile.gpus)
    from tui.core.fit.cpu_amx import host_has_amx

    profile = profile.with_changes(calibration=load_calibration(fingerprint),
                                   extra={**profile.extra, "fingerprint": fingerprint, "cpu_amx": host_has_amx()})
    from tui.core.fit.bench_feedback import with_bench_correction

    return with_bench_correction(profile)


def _detected_profile(host: HostInfo, detection: GpuDetection) -> HardwareProfile:
    ram = assumed_ram_setup()
    common: dict[str, Any] = dict(ram_bytes=host.ram_bytes, ram_free_bytes=host.ram_available_bytes, source="detected",
                  cpu_threads=host.physical_cores, ram_bandwidth_gbps=ram.bandwidth_gbps,
                  ram_efficiency=ram.efficiency)
    host_notes = [host.notes] if host.notes else []
    if detection.gpus:
        gpus = detection.gpus
        if detection.unified_memory:  # one memory pool: the GPU's share fits in it, the CPU reads it as fast
            gpus = tuple(replace(g, vram_bytes=min(g.vram_bytes, host.ram_bytes)) for g in gpus)
            if not ram.known:
                common["ram_bandwidth_gbps"] = gpus[0].bandwidth_gbps
                ram = RamSetup(gpus[0].bandwidth_gbps, "unified memory: the GPU's", ram.efficiency, True)
        notes = [detection.status, *(f"{g.name}: {g.notes}" for g in gpus if g.notes), *host_notes,
                 ram_setup_note(ram)]
        return HardwareProfile(name=f"This machine: {summarize_gpu_names(gpus)}", gpus=gpus,
                               unified_memory=detection.unified_memory,
                               efficiency=gpus[0].efficiency or backend_efficiency("CUDA"),
                               notes="\n".join(n for n in notes if n), **common)
    apple = detect_apple_silicon(host, ram) if _is_apple_silicon() else None
    if apple is not None:
        return apple
    notes = [f"no NVIDIA GPU detected ({detection.status}): CPU-only", *host_notes, ram_setup_note(ram)]
    return HardwareProfile(name="This machine: CPU-only", efficiency=ram.efficiency, notes="\n".join(notes), **common)


def detect_apple_silicon(host: HostInfo, ram: RamSetup) -> HardwareProfile:
    """A Mac with Apple silicon: Metal's share of the unified RAM and the chip's bandwidth from the catalog.

    The GPU's share is ``iogpu.wired_limit_mb`` when the user raised it, else macOS's default rule.
    """
    wired_mb = _sysctl("iogpu.wired_limit_mb")
    notes = []
    if wired_mb and wired_mb.isdigit() and int(wired_mb) > 0:
        share = min(int(wired_mb) * MiB, host.ram_bytes)
        notes.append(f"GPU share {share / GiB:.1f} GiB from iogpu.wired_limit_mb")
    else:
        share = metal_working_set_bytes(host.ram_bytes)
        notes.append(f"GPU share {share / GiB:.1f} GiB: macOS's default Metal working-set limit")
    device = match_detected_name(host.cpu_name, host.ram_bytes)
    if device is not None and device.backend == "Metal":
        bandwidth, efficiency = device.bandwidth_gbps, device.efficiency
        if device.ram_bytes != host.ram_bytes:
            notes.append(f"bandwidth of the catalog's '{device.name}' (nearest RAM size); binned chips can be slower")
    else:
        bandwidth, efficiency = UNKNOWN_APPLE_BANDWIDTH_GBPS, backend_efficiency("Metal")
        notes.append(f"'{host.cpu_name}' is not in the catalog: bandwidth assumed {bandwidth:g} GB/s")
    gpu = GpuSpec(name=host.cpu_name, vram_bytes=share, bandwidth_gbps=bandwidth, backend="Metal",
                  efficiency=efficiency)
    return HardwareProfile(name=f"This machine: {host.cpu_name} {host.ram_bytes / GiB:.0f} GB", gpus=(gpu,),
                           ram_bytes=host.ram_bytes, ram_free_bytes=host.ram_available_bytes,
                           ram_bandwidth_gbps=ram.bandwidth_gbps if ram.known else bandwidth,
                           unified_memory=True, source="detected", efficiency=efficiency,
                           ram_efficiency=ram.efficiency, cpu_threads=host.physical_cores,
                           notes="\n".join(notes))


def summarize_gpu_names(gpus: Iterable[GpuSpec]) -> str:
    """ "RTX 3090", "2x RTX 3090" or "RTX 3090 + RTX 3060 12GB": a profile's GPUs in a few words."""
    names = [g.name for g in gpus]
    if len(set(names)) == 1 and len(names) > 1:
        return f"{len(names)}x {names[0]}"
    return " + ".join(names)
