"""Hardware detection: NVML through a fake ``pynvml`` module (real detect.py code paths), psutil for real.

The fake follows nvidia-ml-py's API: nvmlInit/nvmlShutdown, handles by index, memory info with
total/free/used, NVML_CLOCK_MEM max clock in MHz, bus width in bits, NVMLError on failure.
"""

from __future__ import annotations

import ctypes.util
import sys
import types
from dataclasses import dataclass

import psutil
import pytest

from tui.core.hardware import detect
from tui.core.hardware.catalog import find_device
from tui.core.hardware.detect import (
    UNKNOWN_GPU_BANDWIDTH_GBPS,
    HostInfo,
    detect_gpus,
    detect_host,
    detect_profile,
    nvml_bandwidth_gbps,
    probe_nvidia_gpus,
)
from tui.core.hardware.profile_store import HardwareSettings, save_hardware_settings
from tui.core.sizes import GiB, MiB


class FakeNVMLError(Exception):
    pass


class FakeNotSupported(FakeNVMLError):
    pass


@dataclass
class FakeGpu:
    name: str | bytes
    total: int | None          # bytes; None: nvmlDeviceGetMemoryInfo is "Not Supported" (GB10)
    mem_clock_mhz: int | None  # None: max clock query not supported
    bus_width_bits: int | None
    used: int = 512 * MiB
    uuid: str = "GPU-00000000"


def fake_nvml(gpus: list[FakeGpu], driver: str | bytes = "550.54.15", init_error: Exception | None = None,
              fail_on_count: bool = False) -> types.ModuleType:
    module = types.ModuleType("pynvml")
    module.NVMLError = FakeNVMLError
    module.NVML_CLOCK_MEM = 2
    module.calls = {"init": 0, "shutdown": 0}

    def nvmlInit():
        if init_error is not None:
            raise init_error
        module.calls["init"] += 1

    def nvmlShutdown():
        module.calls["shutdown"] += 1

    def nvmlDeviceGetCount():
        if fail_on_count:
            raise FakeNVMLError("Unknown Error")
        return len(gpus)

    def nvmlDeviceGetHandleByIndex(index):
        if not 0 <= index < len(gpus):
            raise FakeNVMLError("Invalid Argument")
        return gpus[index]

    def nvmlDeviceGetMemoryInfo(gpu):
        if gpu.total is None:
            raise FakeNotSupported("Not Supported")
        return types.SimpleNamespace(total=gpu.total, used=gpu.used, free=gpu.total - gpu.used)

    def nvmlDeviceGetMaxClockInfo(gpu, clock_type):
        assert clock_type == module.NVML_CLOCK_MEM, "detect.py must ask for the memory clock"
        if gpu.mem_clock_mhz is None:
            raise FakeNotSupported("Not Supported")
        return gpu.mem_clock_mhz

    def nvmlDeviceGetMemoryBusWidth(gpu):
        if gpu.bus_width_bits is None:
            raise FakeNotSupported("Not Supported")
        return gpu.bus_width_bits

    module.nvmlInit, module.nvmlShutdown, module.nvmlDeviceGetCount = nvmlInit, nvmlShutdown, nvmlDeviceGetCount
    module.nvmlDeviceGetHandleByIndex = nvmlDeviceGetHandleByIndex
    module.nvmlDeviceGetName = lambda gpu: gpu.name
    module.nvmlDeviceGetUUID = lambda gpu: gpu.uuid
    module.nvmlDeviceGetMemoryInfo = nvmlDeviceGetMemoryInfo
    module.nvmlDeviceGetMaxClockInfo = nvmlDeviceGetMaxClockInfo
    module.nvmlDeviceGetMemoryBusWidth = nvmlDeviceGetMemoryBusWidth
    module.nvmlSystemGetDriverVersion = lambda: driver
    return module


RTX_3090 = FakeGpu("NVIDIA GeForce RTX 3090", 24 * GiB, 9751, 384, uuid="GPU-3090aaaa")
RTX_3060 = FakeGpu("NVIDIA GeForce RTX 3060", 12 * GiB, 7501, 192, uuid="GPU-3060bbbb")
A100 = FakeGpu("NVIDIA A100-SXM4-80GB", 80 * GiB, 1593, 5120, uuid="GPU-a100cccc")


@pytest.fixture
def install_nvml(monkeypatch):
    """Put a fake pynvml in sys.modules, where detect.py's lazy ``import pynvml`` finds it."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def install(module):
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module

    return install


HOST = HostInfo(ram_bytes=64 * GiB, ram_available_bytes=60 * GiB, physical_cores=8, logical_cores=16,
                cpu_name="Test CPU", system="Linux")


@pytest.mark.parametrize("clock_mhz,bus_bits,catalog_name", [
    (9751, 384, "RTX 3090"),            # GDDR6X 19.5 Gbps
    (10501, 384, "RTX 4090"),           # GDDR6X 21 Gbps
    (7501, 192, "RTX 3060 12GB"),       # GDDR6 15 Gbps
    (14001, 512, "RTX 5090"),           # GDDR7 28 Gbps
    (3615, 384, "Tesla P40 24GB"),      # GDDR5 7.2 Gbps
    (5505, 352, "GTX 1080 Ti"),         # GDDR5X 11 Gbps
    (1215, 5120, "A100 40GB"),          # HBM2
    (2619, 5120, "H100 SXM 80GB"),      # HBM3
])
def test_nvml_bandwidth_formula_agrees_with_the_catalog(clock_mhz, bus_bits, catalog_name):
    assert nvml_bandwidth_gbps(clock_mhz, bus_bits) == pytest.approx(find_device(catalog_name).bandwidth_gbps, rel=0.01)


def test_rtx_3090_worked_example():
    assert nvml_bandwidth_gbps(9751, 384) == pytest.approx(936.1, abs=0.05)


def test_detects_gpus_with_memory_driver_and_bandwidth(install_nvml):
    nvml = install_nvml(fake_nvml([RTX_3090, RTX_3060], driver=b"550.54.15"))
    gpus = detect_gpus()
    assert [g.name for g in gpus] == ["NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3060"]
    first, second = gpus
    assert (first.index, second.index) == (0, 1)
    assert first.vram_bytes == 24 * GiB and first.used_bytes == 512 * MiB
    assert first.free_bytes == 24 * GiB - 512 * MiB and first.available_bytes == first.free_bytes
    assert first.driver == "550.54.15" and first.backend == "CUDA"
    assert first.bandwidth_gbps == pytest.approx(936.1)
    assert second.bandwidth_gbps == pytest.approx(360.0, abs=0.1)
    assert first.efficiency == 0.75 and not first.notes
    assert nvml.calls == {"init": 1, "shutdown": 1}


def test_bytes_names_are_decoded(install_nvml):
    install_nvml(fake_nvml([FakeGpu(b"Tesla P40", 24 * GiB, 3615, 384)]))
    (gpu,) = detect_gpus()
    assert gpu.name == "Tesla P40"
    assert gpu.efficiency == find_device("P40").efficiency  # the catalog's per-card figure


def test_missing_bus_width_falls_back_to_the_catalog(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA GeForce RTX 4060 Ti", 16 * GiB, 9001, None)]))
    (gpu,) = detect_gpus()
    assert gpu.bandwidth_gbps == 288
    assert "RTX 4060 Ti 16GB" in gpu.notes and "NVML does not report" in gpu.notes


def test_old_nvml_without_the_query_falls_back_too(install_nvml):
    module = fake_nvml([RTX_3090])
    del module.nvmlDeviceGetMemoryBusWidth
    install_nvml(module)
    assert detect_gpus()[0].bandwidth_gbps == 936


def test_implausible_nvml_bandwidth_is_replaced_by_the_catalog(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA GeForce RTX 3090", 24 * GiB, 405, 384)]))  # idle clock, not max
    (gpu,) = detect_gpus()
    assert gpu.bandwidth_gbps == 936
    assert "implausible" in gpu.notes


def test_unknown_card_without_clock_gets_the_documented_guess(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA Mystery 9000", 20 * GiB, None, 320)]))
    (gpu,) = detect_gpus()
    assert gpu.bandwidth_gbps == UNKNOWN_GPU_BANDWIDTH_GBPS
    assert "bandwidth unknown" in gpu.notes


def test_unknown_card_with_nvml_numbers_uses_them(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA Mystery 9000", 20 * GiB, 10000, 320)]))
    assert detect_gpus()[0].bandwidth_gbps == pytest.approx(800.0)


def test_memory_size_from_the_catalog_when_nvml_cannot_tell(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA GB10", None, None, None)]))
    detection = probe_nvidia_gpus()
    (gpu,) = detection.gpus
    assert detection.unified_memory
    assert gpu.vram_bytes == find_device("DGX Spark").vram_bytes and gpu.free_bytes is None
    assert gpu.bandwidth_gbps == 273


def test_a_gpu_nobody_can_size_is_skipped(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA Mystery 9000", None, None, None), RTX_3090]))
    detection = probe_nvidia_gpus()
    assert [g.name for g in detection.gpus] == ["NVIDIA GeForce RTX 3090"]
    assert detection.gpus[0].index == 0
    assert "GPU 0 skipped" in detection.status


@pytest.mark.parametrize("visible,expected", [
    ("1", ["NVIDIA GeForce RTX 3060"]),
    ("2,0", ["NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 3090"]),
    ("GPU-a100", ["NVIDIA A100-SXM4-80GB"]),
    ("0,7,1", ["NVIDIA GeForce RTX 3090"]),  # CUDA stops at the first invalid entry
    ("", []),
])
def test_cuda_visible_devices_is_honoured(install_nvml, monkeypatch, visible, expected):
    install_nvml(fake_nvml([RTX_3090, RTX_3060, A100]))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    detection = probe_nvidia_gpus()
    assert [g.name for g in detection.gpus] == expected
    assert [g.index for g in detection.gpus] == list(range(len(expected)))
    if not expected:
        assert "CUDA_VISIBLE_DEVICES hides all 3" in detection.status


def test_nvml_init_failure_means_no_gpus(install_nvml):
    install_nvml(fake_nvml([RTX_3090], init_error=FakeNVMLError("Driver Not Loaded")))
    detection = probe_nvidia_gpus()
    assert detection.gpus == ()
    assert detection.status == "NVML unavailable: Driver Not Loaded"


def test_nvml_error_while_listing_means_no_gpus_and_still_shuts_down(install_nvml):
    nvml = install_nvml(fake_nvml([RTX_3090], fail_on_count=True))
    assert detect_gpus() == []
    assert nvml.calls["shutdown"] == 1


def test_pynvml_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes ``import pynvml`` raise ImportError
    detection = probe_nvidia_gpus()
    assert detection.gpus == () and "not installed" in detection.status


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has NVML")
def test_real_nvml_is_absent_here():
    detection = probe_nvidia_gpus()
    assert detection.gpus == ()
    assert detection.status.startswith("NVML unavailable")
    assert detect_gpus() == []


def test_detect_host_reads_psutil():
    host = detect_host()
    memory = psutil.virtual_memory()
    assert 0 < host.ram_bytes <= memory.total
    assert 0 < host.ram_available_bytes <= host.ram_bytes
    assert host.physical_cores >= 1 and host.logical_cores >= host.physical_cores
    assert host.cpu_name and host.system


def test_cgroup_limit_lowers_the_ram(monkeypatch):
    total = psutil.virtual_memory().total
    monkeypatch.setattr(detect, "_cgroup_memory_limit", lambda: total // 4)
    host = detect_host()
    assert host.ram_bytes == total // 4
    assert host.ram_available_bytes <= total // 4
    assert "container memory limit" in host.notes


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has NVML")
def test_detect_profile_on_this_machine_is_cpu_only():
    profile = detect_profile()
    assert profile.is_cpu_only and profile.source == "detected"
    assert profile.ram_bytes == detect_host().ram_bytes
    assert profile.ram_bandwidth_gbps == 51.2  # the documented default: DDR4-3200 dual channel
    assert profile.efficiency == profile.ram_efficiency == 0.6
    assert profile.notes.splitlines()[0].startswith("no NVIDIA GPU detected (NVML unavailable")
    assert "DDR4-3200 dual channel" in profile.notes


def test_detect_profile_with_gpus(install_nvml):
    install_nvml(fake_nvml([RTX_3090, RTX_3090]))
    profile = detect_profile(HOST)
    assert profile.name == "This machine: 2x NVIDIA GeForce RTX 3090"
    assert profile.total_vram_bytes == 48 * GiB
    assert profile.ram_bytes == 64 * GiB and profile.ram_free_bytes == 60 * GiB
    assert profile.cpu_threads == 8 and profile.efficiency == 0.75
    assert not profile.unified_memory
    assert profile.notes.splitlines()[0] == "2 NVIDIA GPUs, driver 550.54.15"


def test_user_ram_bandwidth_replaces_the_default():
    save_hardware_settings(HardwareSettings(ram_bandwidth_gbps=89.6, ram_setup="DDR5-5600 dual channel"))
    profile = detect_profile(HOST, detect.GpuDetection((), "NVML unavailable: test"))
    assert profile.ram_bandwidth_gbps == 89.6
    assert "assumed" not in profile.notes and "DDR5-5600" in profile.notes


def test_unified_nvidia_machine_caps_the_gpu_at_the_ram(install_nvml):
    install_nvml(fake_nvml([FakeGpu("NVIDIA GB10", None, None, None)]))
    small = HostInfo(100 * GiB, 90 * GiB, 20, 20, "Grace", "Linux")
    profile = detect_profile(small)
    assert profile.unified_memory and profile.gpus[0].vram_bytes == 100 * GiB
    assert profile.ram_bandwidth_gbps == 273  # the CPU reads the same LPDDR5X, not a DDR4 guess


def test_a_lost_gpu_does_not_hide_the_others(install_nvml):
    nvml = fake_nvml([RTX_3090, RTX_3060])

    def get_name(gpu):
        if gpu is RTX_3090:
            raise FakeNVMLError("GPU is lost")
        return gpu.name

    nvml.nvmlDeviceGetName = get_name
    install_nvml(nvml)
    detection = probe_nvidia_gpus()
    assert [(g.name, g.index) for g in detection.gpus] == [("NVIDIA GeForce RTX 3060", 0)]
    assert "GPU 0 skipped" in detection.status


def test_apple_silicon(monkeypatch):
    monkeypatch.setattr(detect, "_is_apple_silicon", lambda: True)
    monkeypatch.setattr(detect, "_sysctl", lambda name: None)
    mac = HostInfo(32 * GiB, 20 * GiB, 10, 10, "Apple M2 Pro", "Darwin")
    profile = detect_profile(mac, detect.GpuDetection((), "nvidia-ml-py is not installed"))
    (gpu,) = profile.gpus
    assert profile.unified_memory and gpu.backend == "Metal"
    assert gpu.vram_bytes == pytest.approx(32 * GiB * 2 / 3, rel=1e-6)
    assert gpu.bandwidth_gbps == 200 and profile.ram_bandwidth_gbps == 200
    assert profile.efficiency == find_device("M2 Pro 32").efficiency


def test_apple_silicon_with_a_raised_wired_limit(monkeypatch):
    monkeypatch.setattr(detect, "_is_apple_silicon", lambda: True)
    monkeypatch.setattr(detect, "_sysctl", lambda name: "57344" if name == "iogpu.wired_limit_mb" else None)
    mac = HostInfo(64 * GiB, 40 * GiB, 12, 12, "Apple M4 Max", "Darwin")
    profile = detect_profile(mac, detect.GpuDetection((), "nvidia-ml-py is not installed"))
    assert profile.gpus[0].vram_bytes == 56 * GiB
    assert profile.gpus[0].bandwidth_gbps == 546
    assert "iogpu.wired_limit_mb" in profile.notes
