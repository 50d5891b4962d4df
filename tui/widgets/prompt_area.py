"""The chat's message box: several lines, enter sends, ctrl+j starts a new line.

Over SSH and in most terminals shift+enter arrives as a plain enter (only terminals speaking the
kitty keyboard protocol tell them apart), so the new-line key is ctrl+j, which every terminal
sends as a line feed (shift+enter and alt+enter work too where they arrive). TextArea's own keys
are kept except those the app uses elsewhere: f6/f7 (log, Advisor), ctrl+y (copy), ctrl+e (edit).

Enter and ctrl+j are handled as key events, in order with the characters typed before them, not as
priority bindings: a binding runs when the key is read, before earlier characters of the same burst
(a paste, fast typing over SSH) reach the box, so "Once upon⏎" could send "O".
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

#: TextArea keys the chat screen needs for itself.
_TAKEN = {"f6", "f7", "ctrl+y", "ctrl+e"}


def _kept_bindings() -> list[Binding]:
    kept = []
    for binding in TextArea.BINDINGS:
        assert isinstance(binding, Binding)
        keys = [k for k in binding.key.split(",") if k not in _TAKEN]
        if keys:
            kept.append(Binding(",".join(keys), binding.action, binding.description, show=False))
    return kept


class PromptArea(TextArea, inherit_bindings=False):
    """Posts ``PromptArea.Submitted`` on enter with the text; the box keeps it until the screen clears it."""

    BINDINGS: ClassVar[list[BindingType]] = list(_kept_bindings())

    #: Keys that start a new line instead of sending.
    NEWLINE_KEYS = frozenset({"ctrl+j", "shift+enter", "alt+enter"})

    class Submitted(Message):
        def __init__(self, area: PromptArea, value: str) -> None:
            super().__init__()
            self.area = area
            self.value = value

        @property
        def control(self) -> PromptArea:
            return self.area

    def __init__(self, *, placeholder: str = "", id: str | None = None, disabled: bool = False) -> None:
        super().__init__("", id=id, disabled=disabled, soft_wrap=True, show_line_numbers=False,
                         tab_behavior="focus", placeholder=placeholder, compact=True)

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    async def on_key(self, event: events.Key) -> None:
        """Runs before TextArea's own key handling (which would insert a newline on enter)."""
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.action_submit()
        elif event.key in self.NEWLINE_KEYS:
            event.prevent_default()
            event.stop()
            self.action_newline()

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        self.insert("\n")
