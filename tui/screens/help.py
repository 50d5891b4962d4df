"""The key table: every key that works where you are, read from the live bindings, so it never goes stale."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

#: Keys that are not bindings but matter everywhere (typing into sliders, moving focus).
GENERAL_KEYS = (
    ("tab / shift+tab", "move between controls"),
    ("←/→", "slider: one step"),
    ("shift+←/→, pgup/pgdn", "slider: big step"),
    ("home/end, [ / ]", "slider: minimum / maximum"),
    ("0-9 then enter", "slider: type a value"),
    ("ctrl+p", "command palette: every action by name"),
)


def key_rows(screen: Screen) -> list[tuple[str, str]]:
    """(key, what it does) for the screen's and the app's active bindings (widgets' own keys are general)."""
    from textual.app import App

    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    app = screen.app
    for active in screen.active_bindings.values():
        if not isinstance(active.node, (Screen, App)) or not active.enabled:
            continue
        binding: Binding = active.binding
        description = binding.description or binding.action
        if not description:
            continue
        if binding.key.startswith("super+"):
            continue  # macOS's command key: never arrives over SSH, and ctrl+ does the same
        entry = (app.get_key_display(binding), description)
        if entry not in seen:
            seen.add(entry)
            rows.append(entry)
    return rows


class HelpScreen(ModalScreen[None]):
    """A modal key table for the screen underneath; Escape, F1 or q closes it."""

    BINDINGS = [Binding("escape,f1,q,question_mark", "dismiss", "Close", id="close-help")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self._rows = key_rows(under)
        self._title = getattr(under, "WHERE", "") or "localai-tui"

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False, expand=True)
        table.add_column("key", style="bold", no_wrap=True, ratio=1)
        table.add_column("action", ratio=2)
        for key, description in self._rows:
            table.add_row(key, description)
        table.add_row("", "")
        for key, description in GENERAL_KEYS:
            table.add_row(Text(key, style="dim bold"), Text(description, style="dim"))
        with Vertical(id="help-dialog"):
            yield Label(f"Keys · {self._title}", id="help-title")
            with VerticalScroll(id="help-keys"):
                yield Static(table)
            yield Label("escape closes · over SSH every action has a plain key", id="help-hint")
