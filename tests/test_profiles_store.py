"""Custom profiles and remembered settings on disk: TOML round trips, atomic writes, never losing the user's file."""

from __future__ import annotations

import os
import stat

import pytest

from tui.core import toml_io
from tui.core.errors import LocalAIError
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.hardware.profile_store import (
    HardwareSettings,
    check_profile_name,
    custom_profiles_path,
    delete_custom_profile,
    find_custom_profile,
    hardware_settings_path,
    load_custom_profiles,
    load_hardware_settings,
    save_custom_profile,
    save_hardware_settings,
)
from tui.core.paths import config_dir
from tui.core.sizes import GiB
from tui.core.toml_io import parse_toml, write_toml_atomically

HOMELAB = HardwareProfile(
    "homelab",
    gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0, efficiency=0.75, index=0),
          GpuSpec("Tesla P40", 24 * GiB, 346.0, efficiency=0.6, index=1)),
    ram_bytes=128 * GiB, ram_bandwidth_gbps=89.6, efficiency=0.75, ram_efficiency=0.55, source="custom",
    notes="two cards in an old workstation",
)


def write(text: str) -> None:
    path = custom_profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_files_live_in_the_platformdirs_config_dir(isolated_app_dirs):
    assert custom_profiles_path() == config_dir() / "profiles.toml"
    assert hardware_settings_path() == config_dir() / "hardware.toml"
    assert str(config_dir()).startswith(str(isolated_app_dirs))


def test_round_trip(isolated_app_dirs):
    assert load_custom_profiles() == []
    path = save_custom_profile(HOMELAB)
    assert path == custom_profiles_path() and path.exists()
    (loaded,) = load_custom_profiles()
    assert loaded == HOMELAB
    assert parse_toml(path.read_text())["profile"][0]["ram_gib"] == 128.0


def test_saving_the_same_name_replaces_and_keeps_a_backup():
    save_custom_profile(HOMELAB)
    save_custom_profile(HOMELAB.with_changes(name="HomeLab", ram_bytes=64 * GiB))
    profiles = load_custom_profiles()
    assert [(p.name, p.ram_bytes) for p in profiles] == [("HomeLab", 64 * GiB)]
    backup = custom_profiles_path().with_name("profiles.toml.bak")
    assert "ram_gib = 128.0" in backup.read_text()


def test_written_files_are_readable_by_others_not_0600():
    path = save_custom_profile(HOMELAB)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    os.chmod(path, 0o600)
    save_custom_profile(HOMELAB.with_changes(name="second"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # the user's choice is kept


def test_delete():
    save_custom_profile(HOMELAB)
    save_custom_profile(HOMELAB.with_changes(name="other"))
    assert delete_custom_profile("HOMELAB") is True
    assert [p.name for p in load_custom_profiles()] == ["other"]
    assert delete_custom_profile("homelab") is False
    assert find_custom_profile("Other").name == "other"
    assert find_custom_profile("missing") is None


def test_hand_written_profile_with_catalog_references():
    write("""
[[profile]]
name = "two cards"
ram_gib = 64
ram_setup = "DDR5-5600 dual"

[[profile.gpu]]
catalog = "RTX 3090"

[[profile.gpu]]
catalog = "3060 12gb"
vram_gib = 11.5
""")
    (profile,) = load_custom_profiles()
    assert [g.name for g in profile.gpus] == ["RTX 3090", "RTX 3060 12GB"]
    assert profile.gpus[1].vram_bytes == int(11.5 * GiB) and profile.gpus[1].bandwidth_gbps == 360
    assert [g.index for g in profile.gpus] == [0, 1]
    assert profile.ram_bandwidth_gbps == 89.6 and profile.efficiency == 0.75 and profile.source == "custom"


def test_cpu_only_and_unified_custom_profiles():
    write("""
[[profile]]
name = "old server"
ram_gib = 256
ram_bandwidth_gbps = 150

[[profile]]
name = "my mac"
ram_gib = 64
ram_bandwidth_gbps = 400
unified_memory = true
[[profile.gpu]]
name = "M1 Max GPU"
vram_gib = 56
bandwidth_gbps = 400
backend = "Metal"
""")
    server, mac = load_custom_profiles()
    assert server.is_cpu_only and server.efficiency == server.ram_efficiency == 0.6
    assert mac.unified_memory and mac.gpus[0].vram_bytes == 56 * GiB and mac.efficiency == 0.65


@pytest.mark.parametrize("text,message", [
    ("[[profile]\nname = 'x'", "is not valid TOML"),
    ("profile = 3", "must be an array of tables"),
    ("[[profile]]\nram_gib = 8\nram_bandwidth_gbps = 50", "profile #1: needs a name"),
    ("[[profile]]\nname = 'a'\nram_bandwidth_gbps = 50", "needs ram_gib"),
    ("[[profile]]\nname = 'a'\nram_gib = -8\nram_bandwidth_gbps = 50", "ram_gib must be a positive number"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_bandwidth_gbps = 50\nvram = 3", "unknown key"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_bandwidth_gbps = 50\n[[profile.gpu]]\nname = 'g'\nvram_gib = 8\n"
     "bandwidth_gbps = 100\nbackend = 'CPU'", "gpu #1: backend must be one of"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_bandwidth_gbps = 50\n[[profile.gpu]]\ncatalog = 'rtx 9999'",
     "no device called 'rtx 9999'"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_bandwidth_gbps = 50\nefficiency = 2", "between 0 and 1"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_bandwidth_gbps = 50\n[[profile]]\nname = 'A'\nram_gib = 8\n"
     "ram_bandwidth_gbps = 50", "two profiles are called 'A'"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_bandwidth_gbps = 50\nunified_memory = true", "exactly one GPU"),
    ("[[profile]]\nname = 'a'\nram_gib = 8\nram_setup = 'RTX 3090'", "not a RAM setup"),
])
def test_malformed_files_name_the_file_and_the_problem(text, message):
    write(text)
    with pytest.raises(LocalAIError, match=message) as info:
        load_custom_profiles()
    assert str(custom_profiles_path()) in str(info.value)


def test_a_malformed_file_is_never_overwritten():
    broken = "[[profile]]\nname = 'mine'\nram_gib = 'lots'\n# my notes\n"
    write(broken)
    with pytest.raises(LocalAIError, match="ram_gib must be a positive number"):
        save_custom_profile(HOMELAB)
    with pytest.raises(LocalAIError):
        delete_custom_profile("mine")
    assert custom_profiles_path().read_text() == broken
    assert not custom_profiles_path().with_name("profiles.toml.bak").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temp_files(monkeypatch):
    save_custom_profile(HOMELAB)
    before = custom_profiles_path().read_text()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(toml_io.os, "replace", fail)
    with pytest.raises(LocalAIError, match="cannot write .*No space left"):
        save_custom_profile(HOMELAB.with_changes(name="second"))
    assert custom_profiles_path().read_text() == before
    assert sorted(p.name for p in custom_profiles_path().parent.iterdir()) == ["profiles.toml", "profiles.toml.bak"]


def test_write_toml_atomically_creates_folders(tmp_path):
    target = tmp_path / "a" / "b" / "x.toml"
    write_toml_atomically(target, {"k": {"v": 1.5}}, header="# hi\n")
    assert target.read_text().startswith("# hi\n")
    assert parse_toml(target.read_text()) == {"k": {"v": 1.5}}


@pytest.mark.parametrize("name,message", [
    ("", "needs a name"), ("auto", "reserved"), ("CPU", "reserved"), ("12", "reserved"),
    ("rtx 3090", "catalog's 'RTX 3090'"), ("x" * 65, "up to 64"), ("tab\there", "printable"),
])
def test_profile_names_that_would_confuse_the_gpu_flag(name, message):
    with pytest.raises(LocalAIError, match=message):
        check_profile_name(name)


def test_good_profile_names_are_stripped():
    assert check_profile_name("  my box ") == "my box"
    assert check_profile_name("rtx 3090 rig") == "rtx 3090 rig"


def test_hardware_settings_round_trip():
    assert load_hardware_settings() == HardwareSettings()
    settings = HardwareSettings(("3090", "P40"), 20.0, 64.0, 89.6, "DDR5-5600 dual channel")
    save_hardware_settings(settings)
    assert load_hardware_settings() == settings


def test_hardware_settings_malformed():
    path = hardware_settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[host]\nram_bandwidth_gbps = 'fast'\n")
    with pytest.raises(LocalAIError, match="ram_bandwidth_gbps must be a positive number") as info:
        load_hardware_settings()
    assert str(path) in str(info.value)
    path.write_text("[selection]\ngpu = [1, 2]\n")
    with pytest.raises(LocalAIError, match="list of --gpu values"):
        load_hardware_settings()
