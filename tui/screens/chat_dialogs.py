"""The chat's small questions: what to do when the context is full, and what to copy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

#: Fenced code blocks in Markdown (```lang ... ```), the usual way models write code.
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)

NEW_CHAT, DROP_OLDEST = "new", "drop"


class ContextFullScreen(ModalScreen[str | None]):
    """The conversation no longer fits: a new chat, or the oldest turns left out (a marker shows where)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="ctx-cancel"),
        Binding("n", "dismiss('new')", "New chat", id="ctx-new"),
        Binding("d", "dismiss('drop')", "Drop oldest", id="ctx-drop"),
    ]

    def __init__(self, n_droppable: int, n_ctx: int) -> None:
        super().__init__()
        self._n_droppable = n_droppable
        self._n_ctx = n_ctx

    def compose(self) -> ComposeResult:
        with Vertical(id="ctx-full-dialog", classes="chat-dialog"):
            yield Label(Text(f"The conversation no longer fits the {self._n_ctx}-token context", "bold"))
            yield OptionList(
                Option("n  Start a new chat with this message (this one stays saved)", id=NEW_CHAT),
                Option(f"d  Drop the {self._n_droppable} oldest messages from what the model sees "
                       "(they stay on screen and saved)", id=DROP_OLDEST),
                id="ctx-full-options",
            )
            yield Label(Text("escape keeps your message in the box; a larger context (-c) is on the Fit screen (F4)",
                             "dim"))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


@dataclass(frozen=True)
class Copyable:
    label: str
    text: str


def copyables(messages: list[tuple[str, str]]) -> list[Copyable]:
    """Every message (newest first) and every fenced code block in it, each with a one-line label."""
    items: list[Copyable] = []
    for index in range(len(messages) - 1, -1, -1):
        who, text = messages[index]
        preview = " ".join(text.split())[:50]
        items.append(Copyable(f"{who}: {preview}", text))
        for number, block in enumerate(_FENCE.findall(text), start=1):
            first = next((line for line in block.splitlines() if line.strip()), "")
            items.append(Copyable(f"  code block {number}: {first.strip()[:44]}", block))
    return items


class CopyScreen(ModalScreen[str | None]):
    """Pick a message or a code block; enter copies it (OSC 52, so it works over SSH)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="copy-cancel")]

    def __init__(self, items: list[Copyable]) -> None:
        super().__init__()
        self._items = items

    def compose(self) -> ComposeResult:
        with Vertical(id="copy-dialog", classes="chat-dialog"):
            yield Label(Text("Copy which? (enter copies, escape cancels)", "bold"))
            yield OptionList(*[Option(Text(item.label), id=str(i)) for i, item in enumerate(self._items)],
                             id="copy-options")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._items[int(event.option.id or 0)].text)
