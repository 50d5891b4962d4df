"""What the person has chosen so far in the app: the model, as the core opened it.

``ChosenModel`` lives with the resolver that makes it (``tui.core.hub.model_spec``); the app
keeps one and every screen reads it.
"""

from __future__ import annotations

from tui.core.hub.model_spec import ChosenModel

__all__ = ["ChosenModel"]
