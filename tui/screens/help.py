"""The key table: every key that works where you are, read from the live bindings, so it never goes stale."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

#: Keys that are not bindings but matter everywhere (typing into sliders, moving focus).
GENERAL_KEYS = (
    ("tab / shift+tab", "move between controls"),
    ("←/→", "slider: one step"),
    ("shift+←/→, pgup/pgdn", "slider: big step"),
    ("home/end, [ / ]", "slider: minimum / maximum"),
    ("0-9 then enter", "slider: type a value"),
    ("ctrl+j", "chat: a new line in the message (enter sends; works over SSH)"),
    ("ctrl+p", "command palette: every action by name"),
)


@dataclass(frozen=True)
class KeyAction:
    """One binding of a screen or the app: its keys as shown, what it does, and whether it works now."""

    keys: str
    description: str
    node: DOMNode
    action: str
    usable: bool
    tooltip: str = ""


def screen_actions(screen: Screen) -> list[KeyAction]:
    """Every binding of ``screen`` and of the app (their classes' ``BINDINGS``, bases included), also
    those that do nothing at the moment (Stop while nothing streams) or are hidden there, with a
    description; the first binding of each action wins (a subclass overrides its base)."""
    from textual.actions import parse

    app = screen.app
    out: list[KeyAction] = []
    seen: set[tuple[int, str]] = set()
    for node in (screen, app):
        for cls in type(node).__mro__:
            for item in cls.__dict__.get("BINDINGS", ()):
                binding = item if isinstance(item, Binding) else Binding(*item)
                target: DOMNode = node
                action = binding.action
                if action.startswith("app."):
                    target, action = app, action[4:]
                elif action.startswith("screen."):
                    target, action = screen, action[7:]
                if not binding.description or (id(target), action) in seen:
                    continue
                seen.add((id(target), action))
                _, name, params = parse(action)
                keys = [k.strip() for k in binding.key.split(",") if not k.strip().startswith("super+")]
                shown = ", ".join(app.get_key_display(Binding(k, binding.action)) for k in keys)
                out.append(KeyAction(shown, binding.description, target, action,
                                     bool(target.check_action(name, params)), binding.tooltip))
    return out


def key_rows(screen: Screen) -> list[tuple[str, str, bool]]:
    """(keys, what they do, usable now) for every key of the screen and the app (``screen_actions``)
    after the screen's ``EXTRA_KEYS`` (keys a widget handles for it, such as Enter sending a message)."""
    rows = [(key, description, True) for key, description in getattr(screen, "EXTRA_KEYS", ())]
    rows += [(a.keys, a.description, a.usable) for a in screen_actions(screen)]
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
        for key, description, usable in self._rows:
            if usable:
                table.add_row(key, description)
            else:
                table.add_row(Text(key, style="dim bold"), Text(f"{description} (not now)", style="dim"))
        table.add_row("", "")
        for key, description in GENERAL_KEYS:
            table.add_row(Text(key, style="dim bold"), Text(description, style="dim"))
        with Vertical(id="help-dialog"):
            yield Label(f"Keys · {self._title}", id="help-title")
            with VerticalScroll(id="help-keys"):
                yield Static(table)
            yield Label("escape closes · over SSH every action has a plain key", id="help-hint")
