"""``localai-tui gpus``: the listing, --json, showing/saving/deleting profiles, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.hardware import detect
from tui.core.hardware.catalog import find_device, load_gpu_catalog
from tui.core.hardware.detect import GpuDetection
from tui.core.hardware.devices import GpuSpec
from tui.core.hardware.profile_store import load_custom_profiles, load_hardware_settings
from tui.core.sizes import GiB

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["gpus", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(detect, "probe_nvidia_gpus", lambda: GpuDetection((), "NVML unavailable: test"))
    monkeypatch.setattr(detect, "_is_apple_silicon", lambda: False)


def test_listing_without_gpu(capsys, no_gpu):
    code, out, err = run_cli(capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "This machine"
    assert lines[1] == "  no NVIDIA GPU detected (NVML unavailable: test): CPU-only"
    assert lines[2].startswith("  RAM ") and "physical cores" in lines[2]
    assert "51.2 GB/s assumed (DDR4-3200 dual channel)" in out
    for device in load_gpu_catalog().devices:
        assert any(line.split()[:1] == [str(device.number)] and device.name in line for line in lines), device.name
    row = next(line for line in lines if " RTX 3090 " in line and "Ti" not in line)
    assert row.split()[-5:] == ["24.0", "-", "936", "CUDA", "used"]
    assert "none yet" in out


def test_listing_with_detected_gpus(capsys, monkeypatch):
    gpu = GpuSpec("NVIDIA GeForce RTX 3090", 24 * GiB, 936.1, free_bytes=20 * GiB, used_bytes=4 * GiB,
                  driver="550.54", efficiency=0.75)
    monkeypatch.setattr(detect, "probe_nvidia_gpus",
                        lambda: GpuDetection((gpu,), "1 NVIDIA GPU, driver 550.54"))
    code, out, _ = run_cli(capsys)
    assert code == 0
    assert out.splitlines()[1] == "  GPU 0  NVIDIA GeForce RTX 3090  24.0 GiB (20.0 free)  936.1 GB/s  CUDA  driver 550.54"
    assert "1 NVIDIA GPU, driver 550.54" in out
    data = json.loads(run_cli(capsys, "--json")[1])
    assert data["detected"]["profile"]["gpus"][0]["free_bytes"] == 20 * GiB


def test_json_listing(capsys, no_gpu):
    code, out, _ = run_cli(capsys, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"detected", "catalog", "custom"}
    assert data["detected"]["profile"]["gpus"] == []
    assert data["detected"]["profile"]["source"] == "detected"
    assert data["detected"]["host"]["ram_bytes"] > 0
    assert len(data["catalog"]) == len(load_gpu_catalog())
    p40 = next(d for d in data["catalog"] if d["name"] == "Tesla P40 24GB")
    assert p40 == {"number": find_device("P40").number, "name": "Tesla P40 24GB", "vram_gib": 24.0,
                   "bandwidth_gbps": 346.0, "backend": "CUDA", "category": "used", "note": find_device("P40").note,
                   "aliases": [], "unified_memory": False, "ram_gib": None, "efficiency": 0.6}
    assert data["custom"] == []


def test_show_a_resolved_profile(capsys, no_gpu):
    code, out, _ = run_cli(capsys, "--gpu", "3090", "--gpu", "3090", "--ram", "128")
    assert code == 0
    assert out.splitlines()[0] == "2x RTX 3090 (what-if: 128 GiB RAM)  [catalog]"
    assert "  GPU 1  RTX 3090  24.0 GiB  936 GB/s  CUDA" in out
    data = json.loads(run_cli(capsys, "--gpu", "p40", "--json")[1])
    assert data["gpus"][0]["bandwidth_gbps"] == 346.0 and data["efficiency"] == 0.6


def test_save_list_use_and_delete_a_custom_profile(capsys, no_gpu):
    code, out, _ = run_cli(capsys, "--save", "rig", "--gpu", "3090", "--gpu", "p40", "--ram", "96",
                           "--ram-bandwidth", "ddr4-2400 quad")
    assert code == 0 and "saved to" in out
    (rig,) = load_custom_profiles()
    assert rig.ram_bytes == 96 * GiB and rig.ram_bandwidth_gbps == 76.8 and len(rig.gpus) == 2
    assert all(g.free_bytes is None for g in rig.gpus)
    number = len(load_gpu_catalog()) + 1
    code, out, _ = run_cli(capsys)
    assert f"  {number}  rig" in out and "RTX 3090 + Tesla P40 24GB" in out
    data = json.loads(run_cli(capsys, "--json")[1])
    assert data["custom"][0]["number"] == number and data["custom"][0]["name"] == "rig"
    code, out, _ = run_cli(capsys, "--gpu", str(number))
    assert out.startswith("rig  [custom]")
    assert run_cli(capsys, "--delete", "rig")[0] == 0
    assert load_custom_profiles() == []
    code, _, err = run_cli(capsys, "--delete", "rig")
    assert code == 1 and err == "localai-tui: error: no custom profile called 'rig' ('localai-tui gpus' lists them)\n"


def test_ram_bandwidth_for_this_machine(capsys, no_gpu):
    code, out, _ = run_cli(capsys, "--ram-bandwidth", "89.6")
    assert code == 0 and "89.6 GB/s" in out
    assert load_hardware_settings().ram_bandwidth_gbps == 89.6
    assert "RAM bandwidth 89.6 GB/s (your figure)" in run_cli(capsys)[1]
    run_cli(capsys, "--ram-bandwidth", "default")
    assert load_hardware_settings().ram_bandwidth_gbps is None


@pytest.mark.parametrize("argv,message", [
    (["--gpu", "rtx 3095"], "did you mean 'RTX 3090'"),
    (["--gpu", "cpu", "--vram", "8"], "this profile has no GPU"),
    (["--save", "auto"], "reserved"),
    (["--delete", "x", "--save", "y"], "--delete takes no other options"),
    (["--gpu", "3090", "--ram-bandwidth", "50"], "only makes sense with --save"),
    (["--ram-bandwidth", "fast"], "no device called 'fast'"),
])
def test_errors_are_one_line_with_exit_code_1(capsys, no_gpu, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("localai-tui: error: ") and message in err
    assert err.count("\n") == 1


def test_real_command_line(tmp_path):
    """The installed entry point, in a fresh process, on this machine's real hardware."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "tui", "gpus", "--json"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(data["catalog"]) >= 40
    assert data["detected"]["host"]["ram_bytes"] > 0
