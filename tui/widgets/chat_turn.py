"""One turn of a conversation: who speaks (a coloured role line) and what they said (a marked body).

User turns are plain text, never parsed as Markdown; replies are Markdown that the chat screen
streams into. A model without a chat template only continues text ("plain completion"): its turn
shows the prompt in bold with the continuation flowing straight after it, so ``Once upon a time``
reads on as ``Once upon a time, there was...`` instead of starting a new line with a comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Collapsible, Label, Markdown, Static

from tui.units import format_duration

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

    def __init__(self, role: str, title: str, body: Widget, *, before: Widget | None = None,
                 name=None, id=None, classes=None) -> None:
        if role not in ROLES:
            raise ValueError(f"a chat turn's role is one of {', '.join(ROLES)}, not {role!r}")
        super().__init__(name=name, id=id, classes=classes)
        self.add_class(f"-{role}")
        self.role = role
        self.title = title
        self.body = body
        self.before = before
        body.add_class("chat-turn--body")

    def compose(self) -> ComposeResult:
        yield Label(f"▌ {self.title}", classes="chat-turn--role", markup=False)
        if self.before is not None:
            yield self.before
        yield self.body


def thinking_title(n_tokens: int, seconds: float, *, done: bool) -> str:
    """``thought for 3.2 s · 120 tokens`` (or ``thinking… 40 tokens`` while it streams)."""
    if not done:
        return f"thinking… {n_tokens} tokens"
    return f"thought for {format_duration(seconds)} · {n_tokens} tokens"


class ThinkingBlock(Collapsible):
    """A reasoning model's thinking, folded by default; hidden until there is some."""

    DEFAULT_CSS = """
    ThinkingBlock { height: auto; margin: 0; padding: 0; border: none; background: transparent; }
    ThinkingBlock > Contents { padding: 0 0 0 2; height: auto; }
    ThinkingBlock .thinking-text { color: $text-muted; text-style: italic; }
    """

    def __init__(self, text: str = "", title: str = "thinking…", collapsed: bool = True) -> None:
        self.text_view = Static(text, markup=False, classes="thinking-text")
        super().__init__(self.text_view, title=title, collapsed=collapsed, classes="thinking")
        self.display = bool(text)

    def show_text(self, text: str) -> None:
        self.text_view.update(text)
        self.display = bool(text)


def user_turn(text: str) -> ChatTurn:
    """What the person typed, as typed."""
    return ChatTurn("user", "You", Static(text, markup=False, classes="user"))


def saved_reply_turn(model_title: str, text: str, prompt: str | None = None, *, thinking: str = "",
                     thinking_title_text: str = "", thinking_collapsed: bool = True) -> ChatTurn:
    """A reply from a saved conversation: Rich's Markdown in one Static, far cheaper to mount than
    the streaming Markdown widget (one widget per block), so a long conversation opens at once."""
    from rich.markdown import Markdown as RichMarkdown

    body = Static(RichMarkdown(completion_prefix(prompt) + text if prompt is not None else text),
                  classes="reply saved")
    before = ThinkingBlock(thinking, title=thinking_title_text or "thinking", collapsed=thinking_collapsed) \
        if thinking else None
    if prompt is None:
        return ChatTurn("assistant", model_title, body, before=before)
    return ChatTurn("completion", f"You + {model_title} (no chat template: the model continues your text)", body,
                    before=before)


@dataclass(frozen=True)
class ReplyTurn:
    """A reply's widgets: the turn, the Markdown its answer streams into (after ``prefix``), its thinking."""

    turn: ChatTurn
    view: Markdown
    prefix: str
    thinking: ThinkingBlock


def reply_turn(model_title: str, prompt: str | None = None, *, text: str = "", thinking: str = "",
               thinking_collapsed: bool = True) -> ReplyTurn:
    """A reply to stream into (or, with ``text``, one already said).

    ``prompt`` given means plain completion: the turn starts with the prompt and the reply
    continues it (the prefix goes in front of the reply's text on every render).
    """
    prefix = completion_prefix(prompt) if prompt is not None else ""
    view = Markdown(prefix + text, classes="reply")
    block = ThinkingBlock(thinking, collapsed=thinking_collapsed)
    if prompt is None:
        return ReplyTurn(ChatTurn("assistant", model_title, view, before=block), view, prefix, block)
    title = f"You + {model_title} (no chat template: the model continues your text)"
    return ReplyTurn(ChatTurn("completion", title, view, before=block), view, prefix, block)
