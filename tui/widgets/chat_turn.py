"""One turn of a conversation: who speaks (a coloured role line) and what they said (a marked body).

User turns are plain text, never parsed as Markdown; replies are Markdown that the chat screen
streams into. A model without a chat template only continues text ("plain completion"): its turn
shows the prompt in bold with the continuation flowing straight after it, so ``Once upon a time``
reads on as ``Once upon a time, there was...`` instead of starting a new line with a comma.
"""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, Markdown, Static

from tui.core.safe_text import one_line, printable

#: Roles a turn can have (also its CSS class, ``-user`` ...).
ROLES = ("user", "assistant", "completion")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders exactly ``text`` (special characters backslash-escaped)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def completion_prefix(prompt: str) -> str:
    """Markdown for the prompt a plain-completion reply continues: bold, without a line break after it.

    Each line is emphasised on its own (emphasis cannot span paragraphs); the trailing line
    break of the prompt, if any, is kept so the continuation starts where the model did.
    """
    lines = prompt.split("\n")
    marked = [f"**{escape_markdown(line)}**" if line.strip() else line for line in lines]
    return "\n".join(marked)


class ChatTurn(Vertical):
    """``▌ You`` / ``▌ model.gguf`` above the body; the body carries a bar in the role's colour."""

    DEFAULT_CSS = """
    ChatTurn {
        height: auto;
        margin: 1 0 0 0;
    }
    ChatTurn > .chat-turn--role {
        height: 1;
        text-style: bold;
    }
    ChatTurn > .chat-turn--body {
        height: auto;
        margin: 0;
        padding: 0 1;
        background: transparent;
    }
    ChatTurn.-user > .chat-turn--role { color: $primary; }
    ChatTurn.-user > .chat-turn--body { border-left: outer $primary; background: $boost; }
    ChatTurn.-assistant > .chat-turn--role { color: $success; }
    ChatTurn.-assistant > .chat-turn--body { border-left: outer $success; }
    ChatTurn.-completion > .chat-turn--role { color: $accent; }
    ChatTurn.-completion > .chat-turn--body { border-left: outer $accent; }
    """

    def __init__(self, role: str, title: str, body: Widget, *, name=None, id=None, classes=None) -> None:
        if role not in ROLES:
            raise ValueError(f"a chat turn's role is one of {', '.join(ROLES)}, not {role!r}")
        super().__init__(name=name, id=id, classes=classes)
        self.add_class(f"-{role}")
        self.role = role
        self.title = title
        self.body = body
        body.add_class("chat-turn--body")

    def compose(self) -> ComposeResult:
        yield Label(f"▌ {one_line(self.title)}", classes="chat-turn--role", markup=False)
        yield self.body


def user_turn(text: str) -> ChatTurn:
    """What the person typed, as typed."""
    return ChatTurn("user", "You", Static(printable(text), markup=False, classes="user"))


def reply_turn(model_title: str, prompt: str | None = None) -> tuple[ChatTurn, Markdown, str]:
    """A reply to stream into: its turn, the Markdown to append to, and the Markdown it starts with.

    ``prompt`` given means plain completion: the turn starts with the prompt and the reply
    continues it (the returned prefix goes in front of the reply's text on the final render).
    """
    prefix = completion_prefix(printable(prompt)) if prompt is not None else ""
    view = Markdown(prefix, classes="reply")
    if prompt is None:
        return ChatTurn("assistant", model_title, view), view, prefix
    title = f"You + {model_title} (no chat template: the model continues your text)"
    return ChatTurn("completion", title, view), view, prefix
