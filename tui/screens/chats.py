"""Saved conversations: open (resume), rename, delete, export to Markdown or JSON. Keyboard first.

Everything comes from ``tui.core.chats``; the list is read in a worker so a big store never
holds the event loop.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label


class ChatsScreen(ModalScreen[int | None]):
    """Returns the id of the conversation to open, or None."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="chats-close"),
        Binding("enter", "open", "Open", id="chats-open", show=True),
        Binding("r", "rename", "Rename", id="chats-rename"),
        Binding("delete,x", "delete", "Delete", id="chats-delete"),
        Binding("m", "export('md')", "Export .md", id="chats-export-md"),
        Binding("j", "export('json')", "Export .json", id="chats-export-json"),
    ]

    def __init__(self, store: Any) -> None:
        super().__init__()
        self._store = store
        self._renaming: int | None = None
        self._confirm_delete: int | None = None

    def compose(self) -> ComposeResult:
        from tui.core.chats.export import default_export_dir

        with Vertical(id="chats-dialog", classes="chat-dialog"):
            yield Label(Text("Saved conversations", "bold"))
            yield DataTable(id="chats-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="chats-note")
            yield Label(Text("enter opens · r renames · x deletes · m/j export to:", "dim"))
            yield Input(str(default_export_dir()), id="chats-export-dir")
            yield Input(placeholder="new title, enter saves", id="chats-title")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "updated", "msgs", "model", "title")
        self.query_one("#chats-title", Input).display = False
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _list(self) -> None:
        summaries = self._store.list()
        self.app.call_from_thread(self._show, summaries)

    def _show(self, summaries: list[Any]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for s in summaries:
            when = datetime.fromtimestamp(s.updated).strftime("%Y-%m-%d %H:%M")
            table.add_row(str(s.id), when, str(s.n_messages), Text(Path(s.model).name), Text(s.title), key=str(s.id))
        if not summaries:
            self._note("No saved conversations yet: each chat is saved as you go.")
        table.focus()

    def _note(self, text: str, style: str = "") -> None:
        self.query_one("#chats-note", Label).update(Text(text, style))

    def _selected(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value or 0)

    def action_close(self) -> None:
        if self._renaming is not None:
            self._renaming = None
            self.query_one("#chats-title", Input).display = False
            self.query_one(DataTable).focus()
            return
        self.dismiss(None)

    def action_open(self) -> None:
        chosen = self._selected()
        if chosen is not None:
            self.dismiss(chosen)

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_rename(self) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        self._renaming = chosen
        box = self.query_one("#chats-title", Input)
        box.display = True
        box.value = self._store.load(chosen).summary.title
        box.focus()

    @on(Input.Submitted, "#chats-title")
    def _renamed(self, event: Input.Submitted) -> None:
        if self._renaming is None:
            return
        self._store.rename(self._renaming, event.value.strip() or "untitled")
        self._note(f"conversation {self._renaming} renamed")
        self._renaming = None
        event.input.display = False
        self._list()

    def action_delete(self) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        if self._confirm_delete != chosen:
            self._confirm_delete = chosen
            self._note(f"press x again to delete conversation {chosen}", "bold yellow")
            return
        self._confirm_delete = None
        self._store.delete(chosen)
        self._note(f"conversation {chosen} deleted")
        self._list()

    def action_export(self, fmt: str) -> None:
        from tui.core.chats.export import export_conversation
        from tui.core.errors import LocalAIError

        chosen = self._selected()
        if chosen is None:
            return
        folder = self.query_one("#chats-export-dir", Input).value.strip()
        try:
            path = export_conversation(self._store.load(chosen), fmt, Path(folder).expanduser() if folder else None)
        except LocalAIError as exc:
            self._note(str(exc), "bold red")
            return
        self._note(f"written to {path}", "green")
        self.notify(f"Conversation {chosen} written to {path}", title="Export", timeout=6)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rename", "delete", "export", "open") and self.focused is not None \
                and isinstance(self.focused, Input):
            return False  # typing a title or a folder: letters are letters
        return True
