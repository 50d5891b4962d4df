"""The one exception family the app shows to people.

Anything raised as ``LocalAIError`` carries a message written for the user (and
optionally what to do next); the CLI prints it on one line and the TUI shows it
in a notification. Anything else is a bug and goes to the log with its traceback.
"""

from __future__ import annotations


class LocalAIError(Exception):
    """A failure with a message meant for the user; ``hint`` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
