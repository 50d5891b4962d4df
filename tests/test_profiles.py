"""Profile resolution for --gpu/--vram/--ram: catalog cards in this machine, CPU-only, multi-GPU, custom, what-if."""

from __future__ import annotations

import pytest

from tui.core.errors import LocalAIError
from tui.core.hardware import detect, profiles
from tui.core.hardware.catalog import find_device, load_gpu_catalog
from tui.core.hardware.detect import GpuDetection, HostInfo
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.hardware.profile_store import (
    HardwareSettings,
    load_hardware_settings,
    save_custom_profile,
    save_hardware_settings,
)
from tui.core.hardware.profiles import (
    apply_what_if,
    catalog_profile,
    cpu_only_profile,
    load_selected_profile,
    numbered_entries,
    parse_ram_bandwidth,
    remember_selection,
    resolve_profile,
    set_host_ram_bandwidth,
)
from tui.core.sizes import GiB

HOST = HostInfo(ram_bytes=32 * GiB, ram_available_bytes=28 * GiB, physical_cores=6, logical_cores=12,
                cpu_name="Test CPU", system="Linux")
DETECTED_3090 = GpuSpec("NVIDIA GeForce RTX 3090", 24 * GiB, 936.1, free_bytes=23 * GiB, used_bytes=1 * GiB,
                        driver="550.54", efficiency=0.75)


@pytest.fixture
def host(monkeypatch):
    """A fixed 32 GiB, 6-core machine without NVIDIA GPUs (tests that need GPUs add them)."""
    monkeypatch.setattr(detect, "detect_host", lambda: HOST)
    monkeypatch.setattr(profiles, "detect_host", lambda: HOST)
    monkeypatch.setattr(detect, "probe_nvidia_gpus", lambda: GpuDetection((), "NVML unavailable: test"))
    monkeypatch.setattr(detect, "_is_apple_silicon", lambda: False)
    return HOST


@pytest.fixture
def one_3090(host, monkeypatch):
    monkeypatch.setattr(detect, "probe_nvidia_gpus", lambda: GpuDetection((DETECTED_3090,), "1 NVIDIA GPU"))


def test_auto_is_the_detected_machine(host):
    for args in (None, [], ["auto"], ["AUTO"]):
        profile = resolve_profile(args)
        assert profile.source == "detected" and profile.is_cpu_only
        assert profile.ram_bytes == 32 * GiB and profile.ram_free_bytes == 28 * GiB
        assert profile.ram_bandwidth_gbps == 51.2


def test_cpu_drops_the_gpus(one_3090):
    assert resolve_profile(["auto"]).gpus == (DETECTED_3090,)
    profile = resolve_profile(["cpu"])
    assert profile.is_cpu_only and profile.ram_bytes == 32 * GiB and profile.cpu_threads == 6
    assert profile.efficiency == profile.ram_efficiency == 0.6


def test_catalog_card_in_this_machine(host):
    profile = resolve_profile(["RTX 3060"])
    (gpu,) = profile.gpus
    assert (gpu.name, gpu.vram_bytes, gpu.bandwidth_gbps, gpu.backend) == ("RTX 3060 12GB", 12 * GiB, 360, "CUDA")
    assert gpu.free_bytes is None and gpu.available_bytes == 12 * GiB
    assert profile.ram_bytes == 32 * GiB and profile.ram_free_bytes == 28 * GiB
    assert profile.source == "catalog" and profile.efficiency == 0.75 and profile.ram_efficiency == 0.6
    assert profile.extra["gpu_args"] == ["RTX 3060"]


def test_number_from_the_gpus_list(host):
    device = find_device("P40")
    assert resolve_profile([str(device.number)]).gpus[0].name == "Tesla P40 24GB"
    assert resolve_profile(["3090"]).gpus[0].name == "RTX 3090"  # a model number, not list entry 3090


def test_several_gpus_are_numbered_in_order(host):
    profile = resolve_profile(["3090", "3090", "rtx 3060 12gb"])
    assert [g.index for g in profile.gpus] == [0, 1, 2]
    assert profile.total_vram_bytes == 60 * GiB
    assert profile.name == "RTX 3090 + RTX 3090 + RTX 3060 12GB"
    assert resolve_profile(["3090", "3090"]).name == "2x RTX 3090"


def test_adding_a_card_to_this_machine(one_3090):
    profile = resolve_profile(["auto", "3060 12gb"])
    assert [g.name for g in profile.gpus] == ["NVIDIA GeForce RTX 3090", "RTX 3060 12GB"]
    assert profile.gpus[0].free_bytes == 23 * GiB  # the detected card keeps what NVML said
    assert profile.name.startswith("This machine (NVIDIA GeForce RTX 3090) + RTX 3060 12GB")


def test_mixed_backends_are_allowed_with_a_note(host):
    profile = resolve_profile(["3090", "7900 xtx"])
    assert [g.backend for g in profile.gpus] == ["CUDA", "ROCm"]
    assert profile.efficiency_for(profile.gpus[1]) == 0.6
    assert "mixed backends" in profile.notes


def test_ram_setup_entry_sets_the_ram_speed(host):
    profile = resolve_profile(["3090", "DDR5-6000 dual"])
    assert profile.ram_bandwidth_gbps == 96 and profile.ram_bytes == 32 * GiB
    server = resolve_profile(["ddr5-4800 12-channel"])
    assert server.is_cpu_only and server.ram_bytes == 384 * GiB and server.ram_free_bytes is None
    assert server.ram_bandwidth_gbps == 460.8 and server.efficiency == 0.5
    with pytest.raises(LocalAIError, match="several RAM setups"):
        resolve_profile(["DDR5-6000 dual", "DDR4-3200 dual"])


def test_apple_machine_brings_its_own_unified_ram(host):
    profile = resolve_profile(["M3 Max 128GB"])
    assert profile.unified_memory and profile.ram_bytes == 128 * GiB
    assert profile.gpus[0].vram_bytes == 96 * GiB and profile.gpus[0].backend == "Metal"
    assert profile.ram_bandwidth_gbps == 400


def test_what_if_vram_and_ram(one_3090):
    profile = resolve_profile(["auto"], vram_gib=16, ram_gib=128)
    (gpu,) = profile.gpus
    assert gpu.vram_bytes == 16 * GiB and gpu.free_bytes is None and gpu.used_bytes is None
    assert profile.ram_bytes == 128 * GiB and profile.ram_free_bytes is None
    assert "what-if: 16 GiB VRAM, 128 GiB RAM" in profile.name
    assert "this machine's 32.0 GiB" not in profile.notes


def test_what_if_ram_on_apple_moves_the_metal_share(host):
    profile = resolve_profile(["M2 Max 64GB"], ram_gib=32)
    assert profile.ram_bytes == 32 * GiB
    assert profile.gpus[0].vram_bytes == pytest.approx(32 * GiB * 2 / 3, rel=1e-6)
    profile = resolve_profile(["Ryzen AI Max+"], ram_gib=64)  # non-Metal: same fraction (96/128)
    assert profile.gpus[0].vram_bytes == 48 * GiB
    with pytest.raises(LocalAIError, match="more than the 64 GiB of unified memory"):
        resolve_profile(["M2 Max 64GB"], vram_gib=80)


@pytest.mark.parametrize("args,vram,ram,message", [
    (["cpu", "3090"], None, None, "cannot be combined"),
    (["auto", "auto"], None, None, "auto given twice"),
    (["M2 Max 64GB", "3090"], None, None, "whole machine"),
    (["rtx 3095"], None, None, "did you mean 'RTX 3090'"),
    (["quantum card"], None, None, "not 'auto', 'cpu', a catalog device or a custom profile"),
    (["4060 ti"], None, None, "matches several devices: RTX 4060 Ti 16GB, RTX 4060 Ti 8GB"),
    (["0"], None, None, "numbers its entries 1 to"),
    (["999"], None, None, "numbers its entries 1 to"),
    ([" "], None, None, "--gpu needs a value"),
    (["cpu"], 8, None, "this profile has no GPU"),
    (["3090"], -1, None, "--vram must be a positive size"),
    (["3090"], float("inf"), None, "--vram must be a positive size"),
    (["3090"], None, 0, "--ram must be a positive size"),
])
def test_bad_requests_get_one_clear_error(host, args, vram, ram, message):
    with pytest.raises(LocalAIError, match=message.replace("(", r"\(")):
        resolve_profile(args, vram, ram)


def test_custom_profiles_by_name_and_number(host):
    box = HardwareProfile("homelab", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0),), ram_bytes=128 * GiB,
                          ram_bandwidth_gbps=89.6, efficiency=0.75)
    save_custom_profile(box)
    profile = resolve_profile(["HomeLab"])
    assert profile.source == "custom" and profile.ram_bytes == 128 * GiB and profile.ram_bandwidth_gbps == 89.6
    number = len(load_gpu_catalog()) + 1
    assert numbered_entries()[-1].number == number
    assert resolve_profile([str(number)]).name == "homelab"
    assert resolve_profile(["homelab"], vram_gib=12).gpus[0].vram_bytes == 12 * GiB
    with pytest.raises(LocalAIError, match="whole machine: use it alone"):
        resolve_profile(["homelab", "3090"])
    with pytest.raises(LocalAIError, match="did you mean 'homelab'"):
        resolve_profile(["homelba"])


def test_builders_directly(host):
    assert cpu_only_profile(HOST).name == "CPU-only (this machine)"
    setup = find_device("DDR5-5600 dual")
    assert cpu_only_profile(HOST, setup).ram_bandwidth_gbps == 89.6
    two = catalog_profile([find_device("A100 80GB")] * 2, HOST)
    assert two.name == "2x A100 80GB" and two.total_vram_bytes == 160 * GiB
    with pytest.raises(LocalAIError, match="RAM setup, not a GPU"):
        setup.gpu_spec()


def test_what_if_without_changes_is_the_same_profile(host):
    profile = resolve_profile(["3090"])
    assert apply_what_if(profile) is profile


def test_parse_ram_bandwidth():
    assert parse_ram_bandwidth("89.6") == (89.6, None)
    assert parse_ram_bandwidth("120 GB/s") == (120.0, None)
    assert parse_ram_bandwidth("ddr5 5600 dual") == (89.6, "DDR5-5600 dual channel")
    for bad, message in (("0", "between 0 and"), ("3090", "between 0 and"), ("nan", "between 0 and"),
                         ("rtx 4090", "is a GPU"), ("warp speed", "no device called")):
        with pytest.raises(LocalAIError, match=message):
            parse_ram_bandwidth(bad)


def test_host_ram_bandwidth_is_remembered_and_used(host):
    set_host_ram_bandwidth("DDR5-6400 dual")
    assert load_hardware_settings().ram_bandwidth_gbps == 102.4
    assert resolve_profile(None).ram_bandwidth_gbps == 102.4
    assert resolve_profile(["3090"]).ram_bandwidth_gbps == 102.4
    set_host_ram_bandwidth(None)
    assert resolve_profile(None).ram_bandwidth_gbps == 51.2


def test_selected_profile_round_trip(host):
    assert load_selected_profile().source == "detected"
    remember_selection(["3090", "3090"], vram_gib=20)
    assert load_hardware_settings().selected_gpu == ("3090", "3090")
    profile = load_selected_profile()
    assert profile.name.startswith("2x RTX 3090") and profile.gpus[0].vram_bytes == 20 * GiB
    with pytest.raises(LocalAIError):
        remember_selection(["no such card"])
    assert load_hardware_settings().selected_gpu == ("3090", "3090")  # the bad choice was not stored
    remember_selection(["auto"])
    assert load_hardware_settings().selected_gpu == ()


def test_a_remembered_profile_that_vanished_falls_back_to_detected(host):
    save_hardware_settings(HardwareSettings(selected_gpu=("deleted-box",)))
    profile = load_selected_profile()
    assert profile.source == "detected"
    assert "the remembered profile no longer works" in profile.notes


def test_a_catalog_card_can_run_on_another_backend():
    from tui.core.errors import LocalAIError
    from tui.core.hardware.profiles import resolve_profile

    profile = resolve_profile(["RTX 3090@vulkan"])
    assert profile.gpus[0].backend == "Vulkan" and profile.gpus[0].name == "RTX 3090"
    with pytest.raises(LocalAIError, match="not a GPU backend"):
        resolve_profile(["RTX 3090@cobol"])
    with pytest.raises(LocalAIError, match="catalog GPU"):
        resolve_profile(["cpu@CUDA"])
