"""Shared pieces for the TUI tests: fixed hardware (so screens are deterministic) and waiting helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tui.core.hardware.devices import HardwareProfile
from tui.core.sizes import GiB
from tui.services import Services

#: A headless box with no GPU and a round amount of RAM: what the profile screen "detects" in tests.
FIXED_BOX = HardwareProfile(
    name="CPU-only (this machine)", gpus=(), ram_bytes=32 * GiB, ram_free_bytes=28 * GiB,
    ram_bandwidth_gbps=51.2, source="detected", cpu_threads=8,
)


class FixedServices(Services):
    """The real services, except that "this machine" is ``FIXED_BOX`` (no NVML, no /proc reads)."""

    def detect_profile(self) -> HardwareProfile:
        return FIXED_BOX

    def load_selected_profile(self) -> HardwareProfile:
        return FIXED_BOX


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until ``condition()`` is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def screen_text(app) -> str:
    """Everything on screen as plain text (the SVG export, stripped), for 'is it shown' assertions."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def log_dir_for_snapshots() -> Path:
    """A fixed, absent log folder: the log screen's 'no log yet' line then reads the same everywhere."""
    return Path("/nonexistent/localai-tui/log")
