"""Move focus now, not after the keys already waiting.

``Wfocus_now(idget)`` defers the change with ``call_later``; keys that arrived in the same burst
(a paste, keys over SSH) are routed before it, to the widget being left. Screens focus through
``focus_now`` instead, which changes ``screen.focused`` before the handler returns.
"""

from __future__ import annotations

from textual.widget import Widget


def focus_now(widget: Widget) -> None:
    """Give ``widget`` focus before the next key is routed (``Screen.set_focus`` is synchronous)."""
    widget.screen.set_focus(widget)
