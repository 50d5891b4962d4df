"""Broken configuration: one clear line, the file named, nothing dropped or overwritten, the app usable."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.tui_fixtures import FixedServices, wait_for
from tui.app import LocalAIApp
from tui.core.hardware.profile_store import custom_profiles_path, hardware_settings_path

CUSTOM = """[[profile]]
name = "Big box"
ram_gib = {ram}
ram_bandwidth_gbps = 80

[[profile.gpu]]
catalog = "RTX 3090"
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ})


def test_an_absurd_number_in_profiles_toml_is_one_line(stories_model):
    path = custom_profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CUSTOM.format(ram="1e308"))
    done = run_cli("fit", str(stories_model), "--gpu", "Big box")
    assert done.returncode == 1, done.stderr
    assert "unexpected error" not in done.stderr and "Overflow" not in done.stderr
    assert str(path) in done.stderr and "ram_gib" in done.stderr and done.stderr.count("\n") == 1


def record_notices(monkeypatch) -> list[str]:
    """What the app notifies (the toast layer is not part of headless screenshots)."""
    from textual.app import App

    notices: list[str] = []
    shown = App.notify

    def notify(self, message, **kw):
        notices.append(f"{kw.get('title', '')}: {message}")
        return shown(self, message, **kw)

    monkeypatch.setattr(App, "notify", notify)
    return notices


async def test_a_broken_profiles_toml_is_reported_and_kept(monkeypatch):
    notices = record_notices(monkeypatch)
    path = custom_profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CUSTOM.format(ram="64"))
    hardware_settings_path().write_text('[selection]\ngpu = ["Big box"]\n')
    path.write_text(CUSTOM.format(ram="64") + "\nthis is [not toml\n")  # broken after the profile was chosen
    before = path.read_text()
    app = LocalAIApp(services=FixedServices(hub_endpoint="http://127.0.0.1:9"))  # loopback only
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.profile is not None, timeout=30, what="a profile")
        await wait_for(pilot, lambda: any("profiles.toml" in n for n in notices), timeout=10, what="the notice")
        assert "this machine's profile is used for now" in notices[-1]
    assert path.read_text() == before  # never dropped or rewritten


async def test_a_broken_hardware_toml_is_reported_and_the_app_still_has_a_profile(monkeypatch):
    notices = record_notices(monkeypatch)
    path = hardware_settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[selection\n")
    app = LocalAIApp(services=FixedServices(hub_endpoint="http://127.0.0.1:9"))  # loopback only
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.profile is not None, timeout=30, what="a profile")
        await wait_for(pilot, lambda: any("hardware.toml" in n for n in notices), timeout=10, what="the notice")
    assert path.read_text() == "[selection\n"


def test_an_unwritable_config_still_allows_a_profile_for_the_session(monkeypatch):
    from tui.core import toml_io
    from tui.core.errors import LocalAIError
    from tui.core.hardware import profile_store
    from tui.core.hardware.profiles import choose_profile

    def read_only(path, data, header=""):
        raise LocalAIError(f"cannot write {path}: [Errno 30] Read-only file system")

    monkeypatch.setattr(toml_io, "write_toml_atomically", read_only)
    monkeypatch.setattr(profile_store, "write_toml_atomically", read_only)
    choice = choose_profile(["RTX 3090"])
    assert choice.profile.gpus and "3090" in choice.profile.gpus[0].name
    assert choice.problem and "this session only" in choice.problem
