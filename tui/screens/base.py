"""What every full screen shares: the header with the profile, a body, the footer of keys, and a typed ``app``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import getters
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from tui.widgets.profile_header import NO_PROFILE_TEXT, ProfileHeader

if TYPE_CHECKING:
    from tui.app import LocalAIApp


def _local_ai_app() -> type[LocalAIApp]:
    # Imported when a screen class is defined, not when this module is: tui.app imports screens lazily.
    from tui.app import LocalAIApp

    return LocalAIApp


def local_ai_app() -> getters.app[LocalAIApp]:
    """``app = local_ai_app()`` in a screen class: ``self.app`` is the ``LocalAIApp`` (Textual's ``getters.app``),
    so the type checker knows its reactives (``profile``, ``model``, ``settings``) and ``services``."""
    return getters.app(_local_ai_app)


class AppScreen(Screen[None]):
    """A main screen: ``WHERE`` names it in the header; subclasses yield their body from ``compose_body``."""

    app = local_ai_app()

    WHERE: ClassVar[str] = ""
    #: The header's words while no hardware profile is chosen.
    NO_PROFILE: ClassVar[str] = NO_PROFILE_TEXT

    def compose(self) -> ComposeResult:
        yield ProfileHeader(self.WHERE, empty_text=self.NO_PROFILE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()
