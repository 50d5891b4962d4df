"""A form for a box the catalog does not describe: N identical GPUs, their memory and bandwidth, the RAM.

The form only gathers text; ``profile_store`` checks the numbers (as it checks profiles.toml)
and saves the profile, so a mistake reads the same here and in the file.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label

from tui.core.errors import LocalAIError
from tui.core.hardware.devices import HardwareProfile
from tui.core.sizes import GiB
from tui.screens.base import local_ai_app
from tui.screens.focus import focus_now
from tui.screens.form import FormScreen

#: (field id, label, placeholder) in the order the form shows them.
FIELDS = (
    ("name", "Name", "e.g. office box"),
    ("gpu_name", "GPU name", "e.g. RTX 3090 (leave empty for CPU only)"),
    ("gpu_count", "GPUs", "how many of that card, e.g. 2"),
    ("vram_gib", "VRAM GiB", "per GPU, e.g. 24"),
    ("bandwidth_gbps", "GPU GB/s", "memory bandwidth, e.g. 936"),
    ("ram_gib", "RAM GiB", "system RAM, e.g. 64"),
    ("ram_bandwidth_gbps", "RAM GB/s", "e.g. 51.2 (DDR4-3200 dual channel)"),
)


def _number(text: str, label: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise LocalAIError(f"{label}: '{text.strip()}' is not a number") from None


def form_to_entry(values: dict[str, str]) -> dict:
    """The form's text as a ``[[profile]]`` table (GiB, GB/s) for ``profile_from_toml`` to check."""
    entry: dict = {"name": values.get("name", "").strip()}
    entry["ram_gib"] = _number(values.get("ram_gib", ""), "RAM GiB")
    entry["ram_bandwidth_gbps"] = _number(values.get("ram_bandwidth_gbps", ""), "RAM GB/s")
    gpu_name = values.get("gpu_name", "").strip()
    if gpu_name:
        count_text = values.get("gpu_count", "").strip() or "1"
        if not count_text.isdigit() or not 1 <= int(count_text) <= 16:
            raise LocalAIError(f"GPUs: '{count_text}' is not a count from 1 to 16")
        gpu = {
            "name": gpu_name,
            "vram_gib": _number(values.get("vram_gib", ""), "VRAM GiB"),
            "bandwidth_gbps": _number(values.get("bandwidth_gbps", ""), "GPU GB/s"),
            "backend": "CUDA",
        }
        entry["gpu"] = [dict(gpu) for _ in range(int(count_text))]
    return entry


class CustomProfileScreen(FormScreen):
    """Enter on the last field (or ctrl+s) saves; Escape cancels. Dismisses with the saved profile or None."""

    LAST_FIELD = f"custom-{FIELDS[-1][0]}"
    app = local_ai_app()

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="custom-cancel"),
        Binding("ctrl+s", "save", "Save", id="custom-save"),
    ]

    def __init__(self, detected: HardwareProfile | None = None) -> None:
        super().__init__()
        self._detected = detected

    def compose(self) -> ComposeResult:
        with Vertical(id="custom-dialog"):
            yield Label("Custom hardware profile", id="custom-title")
            with Grid(id="custom-grid"):
                for field_id, label, placeholder in FIELDS:
                    yield Label(label)
                    yield Input(placeholder=placeholder, id=f"custom-{field_id}")
            yield Label("tab moves · enter on the last field or ctrl+s saves · esc cancels", id="custom-hint")
            yield Label("", id="custom-error")

    def on_mount(self) -> None:
        if self._detected is not None:
            self.query_one("#custom-ram_gib", Input).value = f"{self._detected.ram_bytes / GiB:.0f}"
            self.query_one("#custom-ram_bandwidth_gbps", Input).value = f"{self._detected.ram_bandwidth_gbps:g}"
        focus_now(self.query_one("#custom-name", Input))

    def values(self) -> dict[str, str]:
        return {field_id: self.query_one(f"#custom-{field_id}", Input).value for field_id, _, _ in FIELDS}

    def action_save(self) -> None:
        try:
            profile = self.app.services.save_custom_profile(form_to_entry(self.values()))
        except LocalAIError as exc:
            self.query_one("#custom-error", Label).update(str(exc))
            return
        self.dismiss(profile)

    def action_cancel(self) -> None:
        self.dismiss(None)
