"""A modal form of text fields: Enter moves to the next field, and on the last one submits.

The app handles Enter in a text box before it reads the next key (``LocalAIApp.on_event``), and
focus moves with ``focus_now``: keys typed right after Enter (a paste, keys over SSH arriving
together) land in the next field, not the one just left.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.screen import ModalScreen
from textual.widgets import Input


class FormScreen(ModalScreen[Any]):
    """Subclasses name their last field in ``LAST_FIELD`` and implement ``action_save``."""

    LAST_FIELD = ""

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter: the last field saves, any other moves to the next one."""
        event.stop()
        if event.input.id == self.LAST_FIELD:
            self.action_save()
        else:
            self.focus_next()

    def action_save(self) -> None:
        raise NotImplementedError
