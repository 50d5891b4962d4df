"""What every full screen shares: the header with the profile, a body, and the footer of keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from tui.widgets.profile_header import NO_PROFILE_TEXT, ProfileHeader


class AppScreen(Screen):
    """A main screen: ``WHERE`` names it in the header; subclasses yield their body from ``compose_body``."""

    WHERE: ClassVar[str] = ""
    #: The header's words while no hardware profile is chosen.
    NO_PROFILE: ClassVar[str] = NO_PROFILE_TEXT

    def compose(self) -> ComposeResult:
        yield ProfileHeader(self.WHERE, empty_text=self.NO_PROFILE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()
