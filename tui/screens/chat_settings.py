"""The chat's system prompt and sampling knobs, as a small form; the engine's ``SamplingSettings`` checks them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label

from tui.core.errors import LocalAIError
from tui.screens.focus import focus_now
from tui.screens.form import FormScreen

if TYPE_CHECKING:
    from tui.core.engine.sampling import SamplingSettings

#: (SamplingSettings field, label, how to read the text) in the order the form shows them.
SAMPLING_FIELDS = (
    ("temperature", "Temperature", float),
    ("top_p", "Top-p", float),
    ("top_k", "Top-k", int),
    ("min_p", "Min-p", float),
    ("repeat_penalty", "Repeat pen.", float),
    ("max_tokens", "Max tokens", int),
    ("seed", "Seed", int),
)


def read_sampling(base: SamplingSettings, values: dict[str, str]) -> SamplingSettings:
    """``base`` with the form's values (empty seed: a new seed per reply); bad numbers raise LocalAIError."""
    changes: dict[str, Any] = {}
    for name, label, kind in SAMPLING_FIELDS:
        text = values.get(name, "").strip()
        if name == "seed" and not text:
            changes[name] = None
            continue
        try:
            changes[name] = kind(text)
        except ValueError:
            raise LocalAIError(f"{label}: '{text}' is not a {'whole ' if kind is int else ''}number") from None
    sampling = base.with_changes(**changes)
    sampling.validate()
    return sampling


class ChatSettingsScreen(FormScreen):
    """Returns ``(system_prompt or None, SamplingSettings)``; Escape cancels."""

    LAST_FIELD = f"cs-{SAMPLING_FIELDS[-1][0]}"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="chat-settings-cancel"),
        Binding("ctrl+s", "save", "Apply", id="chat-settings-save"),
    ]

    def __init__(self, system_prompt: str | None, sampling) -> None:
        super().__init__()
        self._system_prompt = system_prompt or ""
        self._sampling = sampling

    def compose(self) -> ComposeResult:
        with Vertical(id="chat-settings-dialog"):
            yield Label("Chat settings", id="chat-settings-title")
            yield Label("System prompt")
            yield Input(self._system_prompt, placeholder="e.g. You are a concise assistant.", id="cs-system")
            with Grid(id="chat-settings-grid"):
                for name, label, _ in SAMPLING_FIELDS:
                    value = getattr(self._sampling, name)
                    yield Label(label)
                    yield Input("" if value is None else str(value), id=f"cs-{name}")
            yield Label("enter on the last field or ctrl+s applies · escape cancels", id="chat-settings-hint")
            yield Label("", id="chat-settings-error")

    def on_mount(self) -> None:
        focus_now(self.query_one("#cs-system", Input))

    def action_save(self) -> None:
        values = {name: self.query_one(f"#cs-{name}", Input).value for name, _, _ in SAMPLING_FIELDS}
        try:
            sampling = read_sampling(self._sampling, values)
        except LocalAIError as exc:
            self.query_one("#chat-settings-error", Label).update(str(exc))
            return
        system = self.query_one("#cs-system", Input).value.strip() or None
        self.dismiss((system, sampling))

    def action_cancel(self) -> None:
        self.dismiss(None)
