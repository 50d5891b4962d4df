"""The device catalog (tui/data/gpus.toml): every entry sane, names resolvable, bad files rejected clearly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.errors import LocalAIError
from tui.core.hardware.catalog import (
    BACKENDS,
    CATEGORIES,
    AmbiguousDeviceError,
    UnknownDeviceError,
    backend_efficiency,
    catalog_text,
    find_device,
    load_gpu_catalog,
    match_detected_name,
    metal_working_set_bytes,
    name_tokens,
    parse_gpu_catalog,
)
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

CATALOG = load_gpu_catalog()
DEVICES = CATALOG.devices


def test_catalog_has_at_least_40_devices_with_unique_names():
    assert len(DEVICES) >= 40
    names = [d.name.casefold() for d in DEVICES]
    assert len(names) == len(set(names))
    spellings = [name_tokens(s) for d in DEVICES for s in d.spellings]
    assert len(spellings) == len(set(spellings)), "two entries would be indistinguishable"


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.name)
def test_every_entry_is_complete_and_positive(device):
    assert device.backend in BACKENDS
    assert device.category in CATEGORIES
    assert device.note and len(device.note) < 160
    assert device.bandwidth_gbps > 0
    assert 0 < device.efficiency <= 1
    assert device.number == DEVICES.index(device) + 1
    if device.is_cpu:
        assert device.vram_gib == 0 and device.category == "cpu"
    else:
        assert device.vram_gib > 0
        assert device.gpu_spec().vram_bytes == device.vram_bytes
    if device.unified_memory:
        assert device.ram_gib and device.vram_gib <= device.ram_gib


def test_every_category_and_backend_is_represented():
    assert {d.category for d in DEVICES} == set(CATEGORIES)
    assert {d.backend for d in DEVICES} == set(BACKENDS)


@pytest.mark.parametrize("name,vram,bandwidth", [
    ("RTX 3060 12GB", 12, 360), ("RTX 3060 Ti", 8, 448), ("RTX 3070", 8, 448), ("RTX 3080 10GB", 10, 760),
    ("RTX 3080 12GB", 12, 912), ("RTX 3090", 24, 936), ("RTX 3090 Ti", 24, 1008), ("RTX 4060 8GB", 8, 272),
    ("RTX 4060 Ti 8GB", 8, 288), ("RTX 4060 Ti 16GB", 16, 288), ("RTX 4070", 12, 504), ("RTX 4070 Super", 12, 504),
    ("RTX 4070 Ti Super", 16, 672), ("RTX 4080", 16, 716.8), ("RTX 4090", 24, 1008), ("RTX 5060 Ti 16GB", 16, 448),
    ("RTX 5070", 12, 672), ("RTX 5070 Ti", 16, 896), ("RTX 5080", 16, 960), ("RTX 5090", 32, 1792),
    ("RTX 2080 Ti", 11, 616), ("GTX 1080 Ti", 11, 484), ("RTX 2060 12GB", 12, 336),
    ("Tesla P40 24GB", 24, 346), ("Tesla P100 16GB", 16, 732), ("Tesla V100 16GB", 16, 900),
    ("Tesla V100 32GB", 32, 900), ("Tesla T4 16GB", 16, 320), ("Instinct MI50 16GB", 16, 1024),
    ("Instinct MI50 32GB", 32, 1024), ("Instinct MI60 32GB", 32, 1024), ("A100 40GB", 40, 1555),
    ("A100 80GB", 80, 1935), ("H100 SXM 80GB", 80, 3350), ("RTX A4000", 16, 448), ("RTX A5000", 24, 768),
    ("RTX A6000", 48, 768), ("RTX 6000 Ada", 48, 960), ("L4", 24, 300), ("L40S", 48, 864),
    ("RX 7900 XTX", 24, 960), ("RX 7900 XT", 20, 800), ("RX 6800", 16, 512), ("Arc A770 16GB", 16, 560),
])
def test_public_spec_numbers(name, vram, bandwidth):
    device = find_device(name)
    assert device.name == name
    assert (device.vram_gib, device.bandwidth_gbps) == (vram, bandwidth)


def test_unified_machines():
    strix = find_device("Ryzen AI Max+ 395 128GB")
    spark = find_device("DGX Spark")
    assert strix.unified_memory and strix.ram_gib == 128 and strix.bandwidth_gbps == 256
    assert spark.unified_memory and spark.ram_gib == 128 and spark.bandwidth_gbps == 273 and spark.backend == "CUDA"


@pytest.mark.parametrize("device", [d for d in DEVICES if d.is_cpu], ids=lambda d: d.name)
def test_ram_setup_bandwidth_is_channels_times_8_bytes_times_transfer_rate(device):
    """The name says it: 'DDR5-5600 dual channel' is 2 x 8 bytes x 5600 MT/s = 89.6 GB/s."""
    match = re.match(r"DDR[45]-(\d+) (dual|quad|\d+)[- ]channel", device.name)
    assert match, device.name
    channels = {"dual": 2, "quad": 4}.get(match.group(2)) or int(match.group(2))
    assert device.bandwidth_gbps == pytest.approx(channels * 8 * int(match.group(1)) / 1000, abs=0.05)


def test_apple_gpu_share_follows_the_documented_metal_rule():
    apple = [d for d in DEVICES if d.category == "apple"]
    assert len(apple) >= 20
    generations = {name_tokens(d.name)[1] for d in apple}
    assert generations == {"1", "2", "3", "4", "5"}
    tiers = {t for d in apple for t in name_tokens(d.name) if t in ("pro", "max", "ultra")}
    assert tiers == {"pro", "max", "ultra"}
    for device in apple:
        assert device.unified_memory and device.backend == "Metal"
        fraction = 2 / 3 if device.ram_gib <= 36 else 3 / 4
        assert device.vram_gib == pytest.approx(device.ram_gib * fraction, rel=1e-4), device.name
    assert metal_working_set_bytes(16 * GiB) == pytest.approx(16 * GiB * 2 / 3, rel=1e-6)
    assert metal_working_set_bytes(192 * GiB) == 144 * GiB


def test_backend_efficiencies_are_documented_and_plausible():
    assert backend_efficiency("CUDA") == 0.75
    assert backend_efficiency("CPU") == 0.6
    for backend in BACKENDS:
        assert 0.3 <= backend_efficiency(backend) <= 0.9
    with pytest.raises(LocalAIError, match="unknown backend"):
        backend_efficiency("OpenCL")
    assert find_device("P40").efficiency == 0.6  # a per-device override
    assert find_device("RTX 4090").efficiency == 0.75  # the backend's


def test_default_ram_setup_is_dual_channel_ddr4_3200():
    assert CATALOG.default_ram_setup.name == "DDR4-3200 dual channel"
    assert CATALOG.default_ram_setup.bandwidth_gbps == 51.2


@pytest.mark.parametrize("query,expected", [
    ("rtx 3060", "RTX 3060 12GB"), ("3060 12gb", "RTX 3060 12GB"), ("RTX3060 12 GB", "RTX 3060 12GB"),
    ("P40", "Tesla P40 24GB"), ("tesla p40", "Tesla P40 24GB"), ("3090", "RTX 3090"), ("3090 ti", "RTX 3090 Ti"),
    ("NVIDIA GeForce RTX 4090", "RTX 4090"), ("4060 ti 16", "RTX 4060 Ti 16GB"), ("a6000", "RTX A6000"),
    ("7900xtx", "RX 7900 XTX"), ("m2 ultra 192", "Apple M2 Ultra 192GB"), ("ddr5-5600", "DDR5-5600 dual channel"),
    ("T4", "Tesla T4 16GB"), ("a100 80", "A100 80GB"), ("strix halo", "Ryzen AI Max+ 395 128GB"),
])
def test_find_device_is_forgiving(query, expected):
    assert find_device(query).name == expected


@pytest.mark.parametrize("query,candidates", [
    ("4060 ti", {"RTX 4060 Ti 8GB", "RTX 4060 Ti 16GB"}),
    ("a100", {"A100 40GB", "A100 80GB"}),
    ("h100", {"H100 PCIe 80GB", "H100 SXM 80GB"}),
    ("m2 max", {"Apple M2 Max 32GB", "Apple M2 Max 64GB", "Apple M2 Max 96GB"}),
])
def test_ambiguous_names_list_the_candidates(query, candidates):
    with pytest.raises(AmbiguousDeviceError) as info:
        find_device(query)
    assert {d.name for d in info.value.candidates} == candidates
    for name in candidates:
        assert name in str(info.value)


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownDeviceError) as info:
        find_device("rtx 3095")
    assert "RTX 3090" in info.value.suggestions
    assert "did you mean" in str(info.value)
    with pytest.raises(LocalAIError, match="no device name"):
        find_device("  ")


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.name)
def test_every_name_and_alias_finds_its_own_entry(device):
    for spelling in device.spellings:
        assert find_device(spelling) is device


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DEVICES), st.randoms(use_true_random=False))
def test_case_and_spacing_do_not_matter(device, rnd):
    mangled = "".join(ch.upper() if rnd.random() < 0.5 else ch.lower() for ch in device.name)
    mangled = mangled.replace(" ", rnd.choice([" ", "  ", "_", "-"]))
    assert find_device(mangled) is device


@pytest.mark.parametrize("nvml_name,memory_gib,expected", [
    ("NVIDIA GeForce RTX 3090", 24, "RTX 3090"),
    ("NVIDIA GeForce RTX 3090 Ti", 24, "RTX 3090 Ti"),
    ("NVIDIA GeForce RTX 4060 Ti", 16, "RTX 4060 Ti 16GB"),
    ("NVIDIA GeForce RTX 4060 Ti", 8, "RTX 4060 Ti 8GB"),
    ("NVIDIA GeForce RTX 3060", 12, "RTX 3060 12GB"),
    ("NVIDIA A100-SXM4-80GB", 80, "A100 SXM 80GB"),
    ("NVIDIA A100-PCIE-40GB", 40, "A100 40GB"),
    ("NVIDIA H100 80GB HBM3", 80, "H100 SXM 80GB"),
    ("NVIDIA H100 PCIe", 80, "H100 PCIe 80GB"),
    ("Tesla V100-SXM2-32GB", 32, "Tesla V100 32GB"),
    ("Tesla P40", 24, "Tesla P40 24GB"),
    ("NVIDIA RTX 6000 Ada Generation", 48, "RTX 6000 Ada"),
    ("NVIDIA L40S", 48, "L40S"),
    ("NVIDIA GB10", None, "DGX Spark"),
    ("Apple M2 Pro", 32, "Apple M2 Pro 32GB"),
])
def test_driver_names_map_back_to_the_catalog(nvml_name, memory_gib, expected):
    memory = None if memory_gib is None else memory_gib * GiB
    assert match_detected_name(nvml_name, memory).name == expected


def test_unknown_and_laptop_parts_do_not_match_desktop_entries():
    assert match_detected_name("Quadro RTX 8000", 48 * GiB) is None
    assert match_detected_name("NVIDIA GeForce RTX 4090 Laptop GPU", 16 * GiB) is None


VALID_DEVICE = """
[[device]]
name = "Card"
vram_gib = 8
bandwidth_gbps = 100
backend = "CUDA"
category = "consumer"
note = "a card"

[[device]]
name = "DDR4 slow"
vram_gib = 0
bandwidth_gbps = 20
backend = "CPU"
category = "cpu"
note = "ram"
"""
HEADER = """
[defaults]
ram_setup = "DDR4 slow"
[efficiency]
CUDA = 0.75
ROCm = 0.6
Metal = 0.65
Vulkan = 0.55
SYCL = 0.4
CPU = 0.6
[metal_working_set]
threshold_gib = 36
fraction_up_to_threshold = 0.6667
fraction_above_threshold = 0.75
"""


def test_parse_catalog_accepts_a_minimal_file():
    catalog = parse_gpu_catalog(HEADER + VALID_DEVICE)
    assert [d.name for d in catalog.devices] == ["Card", "DDR4 slow"]
    assert catalog.by_number(2).is_cpu
    with pytest.raises(LocalAIError, match="from 1 to 2"):
        catalog.by_number(3)


@pytest.mark.parametrize("change,message", [
    (("vram_gib = 8", "vram_gib = -8"), "vram_gib must be a positive number"),
    (("bandwidth_gbps = 100", 'bandwidth_gbps = "fast"'), "bandwidth_gbps must be a positive number"),
    (('backend = "CUDA"', 'backend = "OpenCL"'), "backend must be one of"),
    (('category = "consumer"', 'category = "gaming"'), "category must be one of"),
    (('name = "DDR4 slow"', 'name = "Card"'), "already the name of 'Card'"),
    (('note = "a card"', 'note = "a card"\nvram = 3'), "unknown key"),
    (('note = "a card"', 'note = ""'), "needs a short note"),
    (("vram_gib = 0", "vram_gib = 4"), "a CPU entry has vram_gib = 0"),
    (('note = "a card"', 'note = "a card"\nunified_memory = true'), "needs ram_gib"),
])
def test_parse_catalog_rejects_bad_entries_by_name(change, message):
    text = (HEADER + VALID_DEVICE).replace(*change, 1)
    with pytest.raises(LocalAIError, match=message) as info:
        parse_gpu_catalog(text, source="test.toml")
    assert str(info.value).startswith("test.toml:")


def test_parse_catalog_rejects_broken_toml_and_missing_rules():
    with pytest.raises(LocalAIError, match="not valid TOML"):
        parse_gpu_catalog("[[device]\nname=", source="x.toml")
    with pytest.raises(LocalAIError, match="ram_setup"):
        parse_gpu_catalog(HEADER.replace('"DDR4 slow"', '"Card"') + VALID_DEVICE)
    with pytest.raises(LocalAIError, match=r"\[efficiency\] Metal"):
        parse_gpu_catalog(HEADER.replace("Metal = 0.65", "Metal = 1.5") + VALID_DEVICE)


def test_shipped_file_parses_and_is_cached():
    assert "[[device]]" in catalog_text()
    assert load_gpu_catalog() is load_gpu_catalog()


def test_profile_efficiency_for_a_gpu():
    own = GpuSpec("a", 8 * GiB, 100.0, efficiency=0.5)
    inherited = GpuSpec("b", 8 * GiB, 100.0)
    profile = HardwareProfile("box", gpus=(own, inherited), efficiency=0.8)
    assert profile.efficiency_for(own) == 0.5
    assert profile.efficiency_for(inherited) == 0.8
