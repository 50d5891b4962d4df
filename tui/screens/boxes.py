"""Helper boxes: other machines lending their GPUs (or RAM) through llama.cpp's ``rpc-server``.

A keyboard form over ``tui.core.hardware.boxes``: the table lists the boxes in ``--rpc`` order
(llama.cpp counts their devices first); the fields below add one (address, devices in ``--rpc``
words, link, a name). The core checks every value, so a mistake reads the same here, on the
command line and in hardware.toml. Nothing is contacted: this describes a plan.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from tui.core.errors import LocalAIError
from tui.core.hardware.boxes import DEFAULT_LINK, LINKS, make_box
from tui.core.hardware.devices import RemoteBox
from tui.screens.focus import focus_now

#: (field id, label, placeholder) in the order the form shows them.
BOX_FIELDS = (
    ("address", "Address", "host or host:port, e.g. 192.168.1.20:50052"),
    ("devices", "Devices", "catalog GPUs joined by +, or cpu:GiB, e.g. RTX 3060 12GB"),
    ("link", "Link", " | ".join(LINKS)),
    ("name", "Name", "optional, e.g. gaming-pc"),
)


def box_from_form(values: dict[str, str]) -> RemoteBox:
    """The form's text as a box (``LocalAIError`` says what is wrong)."""
    devices = [d for d in values.get("devices", "").split("+") if d.strip()]
    return make_box(values.get("address", ""), devices, values.get("link", "").strip() or DEFAULT_LINK,
                    values.get("name", ""))


def describe_boxes(boxes: tuple[RemoteBox, ...]) -> Text:
    """The profile screen's 'Helper boxes' panel: one line per box, or how to add one."""
    if not boxes:
        return Text("none: b adds machines that lend their GPU or RAM over llama.cpp's RPC", style="dim")
    text = Text()
    for i, box in enumerate(boxes):
        if i:
            text.append("\n")
        text.append(box.name, style="bold")
        text.append(f"  {box.endpoint}  ")
        text.append(" + ".join(g.name for g in box.gpus))
        text.append(f"  · {box.link.label}", style="dim")
    return text


class BoxesScreen(ModalScreen[tuple[RemoteBox, ...] | None]):
    """Enter on the last field adds the box; delete removes the highlighted one; ctrl+s keeps; esc cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="boxes-cancel"),
        Binding("ctrl+s", "keep", "Keep", id="boxes-keep"),
        Binding("delete,ctrl+d", "remove", "Remove box", id="boxes-remove"),
    ]

    def __init__(self, boxes: tuple[RemoteBox, ...] = ()) -> None:
        super().__init__()
        self.boxes: list[RemoteBox] = list(boxes)

    def compose(self) -> ComposeResult:
        with Vertical(id="boxes-dialog"):
            yield Label("Helper boxes (llama.cpp rpc-server)", id="boxes-title")
            yield DataTable(id="boxes-table", cursor_type="row", zebra_stripes=True)
            with Grid(id="boxes-grid"):
                for field_id, label, placeholder in BOX_FIELDS:
                    yield Label(label)
                    yield Input(placeholder=placeholder, id=f"boxes-{field_id}")
            yield Label("tab moves · enter on Name adds · delete removes · ctrl+s keeps · esc cancels",
                        id="boxes-hint")
            yield Label("", id="boxes-error")

    def on_mount(self) -> None:
        table = self.query_one("#boxes-table", DataTable)
        for key, label in (("name", "Name"), ("address", "Address"), ("devices", "Devices"), ("link", "Link")):
            table.add_column(label, key=key)
        self._fill()
        focus_now(self.query_one("#boxes-address", Input))

    def _fill(self) -> None:
        table = self.query_one("#boxes-table", DataTable)
        table.clear()
        for i, box in enumerate(self.boxes):
            table.add_row(Text(box.name), Text(box.endpoint), Text(" + ".join(g.name for g in box.gpus)),
                          Text(box.link.label), key=str(i))

    def values(self) -> dict[str, str]:
        return {field_id: self.query_one(f"#boxes-{field_id}", Input).value for field_id, _, _ in BOX_FIELDS}

    def _error(self, message: str) -> None:
        self.query_one("#boxes-error", Label).update(Text(message))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == f"boxes-{BOX_FIELDS[-1][0]}":
            self.action_add()
        else:
            self.focus_next()

    def action_add(self) -> None:
        try:
            box = box_from_form(self.values())
        except LocalAIError as exc:
            self._error(str(exc))
            return
        if any(b.endpoint == box.endpoint for b in self.boxes):
            self._error(f"a box at {box.endpoint} is already listed")
            return
        self.boxes.append(box)
        self._fill()
        for field_id, _, _ in BOX_FIELDS:
            self.query_one(f"#boxes-{field_id}", Input).value = ""
        self._error("")
        focus_now(self.query_one("#boxes-address", Input))

    def action_remove(self) -> None:
        table = self.query_one("#boxes-table", DataTable)
        if not self.boxes or table.row_count == 0:
            return
        del self.boxes[min(table.cursor_row, len(self.boxes) - 1)]
        self._fill()

    def action_keep(self) -> None:
        self.dismiss(tuple(self.boxes))

    def action_cancel(self) -> None:
        self.dismiss(None)
