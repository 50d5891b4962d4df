"""Outside text for Textual widgets: controls made visible (``tui.core.safe_text``), markup never parsed.

A ``str`` given to a ``DataTable`` cell, a ``Static``/``Label`` or a notification is read as
Rich/Textual markup: ``[/]`` in a Hub field raises ``MarkupError`` and ``weird[/x].gguf``
loses its brackets. And Textual writes a string's characters to the terminal as they are, so
an ``ESC`` in a model name reaches it. These helpers make a value from outside safe for both:
``plain`` for one-line cells and labels, ``plain_block`` for multi-line text, ``markup_escaped``
where a value is spliced into a markup string of the app's own.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from tui.core.safe_text import one_line, printable


def plain(value: object, style: str = "") -> Text:
    """``value`` as one line of literal text (no markup, controls shown as ``␛``)."""
    return Text(one_line(value), style)


def plain_block(value: object, style: str = "") -> Text:
    """``value`` as literal text that keeps its newlines and tabs."""
    return Text(printable(value), style)


def markup_escaped(value: object) -> str:
    """``value`` ready to splice into a markup string: controls shown, ``[`` escaped."""
    return escape(printable(value))
