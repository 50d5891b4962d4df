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


async def settle(pilot, timeout: float = 20.0) -> None:
    """What a person sees a moment later: every worker finished, the answers they posted handled, animations done.

    Event-driven (no fixed sleep), so a loaded machine only makes it take longer.
    """
    from textual.widgets import Input, TextArea

    app = pilot.app
    await wait_for(pilot, lambda: all(w.is_finished for w in app.workers), timeout=timeout, what="the workers")
    for box in [*app.screen.query(Input), *app.screen.query(TextArea)]:
        box.cursor_blink = False  # a blinking cursor is shown or not depending on when the picture is taken
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()  # the messages the workers posted
    await pilot.pause()  # and what handling them queued


def notifications(messages: list) -> list[str]:
    """The texts of the notifications posted among ``messages`` (a ``run_test(message_hook=...)`` log)."""
    from textual.notifications import Notify

    return [str(m.notification.message) for m in messages if isinstance(m, Notify)]


def screen_text(app) -> str:
    """Everything on screen as plain text (the SVG export, stripped), for 'is it shown' assertions."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def log_dir_for_snapshots() -> Path:
    """A fixed, absent log folder: the log screen's 'no log yet' line then reads the same everywhere."""
    return Path("/nonexistent/localai-tui/log")


#: Key names for the characters a burst may hold (Textual's names for keys that are not letters or digits).
_KEY_NAMES = {"\t": "tab", "\r": "enter", "\n": "enter", " ": "space", "/": "slash", ".": "full_stop",
              ",": "comma", "-": "minus", ":": "colon", "_": "underscore", "\x1b": "escape"}


async def burst(pilot, text: str) -> None:
    """Deliver ``text`` as one read from a terminal (a paste, or keys over SSH arriving together).

    ``pilot.press`` waits for the app to go idle after every key, which no terminal does; here
    every ``Key`` event is queued on the app before the first is handled, then the app settles.
    Tab is ``\\t``, Enter ``\\r``, Escape ``\\x1b``.
    """
    from textual import events

    for char in text:
        key = _KEY_NAMES.get(char, char)
        pilot.app.post_message(events.Key(key, char))
    await pilot.pause()
    await pilot.pause()
