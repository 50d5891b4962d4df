"""Save a conversation while it happens: the user message at once, the reply every half second
while it streams and in full when it ends. One path for the CLI and the chat screen.

The store keeps one row per message of ``ChatSession.messages`` (``message_ids`` runs alongside
it), so regenerate and edit, which take back the last turn, delete the same rows. The recorder
writes from whatever thread generates (the store serialises access).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any

from tui.core.chats.store import STATE_DONE, STATE_STOPPED, STATE_STREAMING, ChatStore, Conversation
from tui.core.engine.chat import ChatSession, Reply
from tui.core.engine.metrics import FINISH_CANCELLED
from tui.core.engine.template import ChatMessage

#: Longest time (seconds) a streaming reply's text waits before it is committed.
SAVE_INTERVAL_S = 0.5
#: Characters of the first message a new conversation takes as its title.
TITLE_CHARS = 60


def title_from(text: str) -> str:
    """The first line of the first message, shortened: a conversation's default title."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def settings_record(*parts: object) -> dict[str, Any]:
    """The settings a conversation ran with (llama.cpp settings, sampling), as JSON-ready dicts."""
    record: dict[str, Any] = {}
    for part in parts:
        if part is not None and is_dataclass(part) and not isinstance(part, type):
            record[type(part).__name__] = asdict(part)
    return record


def session_messages(conversation: Conversation) -> list[ChatMessage]:
    """A saved conversation as a session's history (an interrupted reply keeps its partial text)."""
    return [ChatMessage(m.role, m.content) for m in conversation.messages]


class _ChunkSaver:
    """Wraps the text callbacks: collects the reply and commits it at most every ``SAVE_INTERVAL_S``."""

    def __init__(self, store: ChatStore, message_id: int) -> None:
        self.store = store
        self.message_id = message_id
        self.answer: list[str] = []
        self.thinking: list[str] = []
        self._last = float("-inf")  # the first piece is committed at once, then every SAVE_INTERVAL_S

    def wrap(self, parts: list[str], then: Callable[[str], object] | None) -> Callable[[str], object]:
        def on_piece(text: str) -> None:
            parts.append(text)
            if then is not None:
                then(text)
            now = time.monotonic()
            if now - self._last >= SAVE_INTERVAL_S:
                self._last = now
                self.store.update_message(self.message_id, "".join(self.answer), thinking="".join(self.thinking))
        return on_piece


class ConversationRecorder:
    """One conversation in the store; created with its first message (an unused chat saves nothing)."""

    def __init__(self, store: ChatStore, *, model: str, model_path: str | None = None,
                 settings: dict[str, Any] | None = None, system_prompt: str | None = None,
                 conversation: Conversation | None = None) -> None:
        self.store = store
        self.model = model
        self.model_path = model_path
        self.settings = settings or {}
        self.system_prompt = system_prompt
        self.conversation_id: int | None = conversation.id if conversation is not None else None
        self.message_ids: list[int] = [m.id for m in conversation.messages] if conversation is not None else []
        if conversation is not None:
            store.update_conversation(conversation.id, model=model, model_path=model_path,
                                      settings=self.settings, system_prompt=system_prompt)

    def reply(self, session: ChatSession, text: str, *, stop: threading.Event | None = None,
              on_text: Callable[[str], object] | None = None, on_thinking: Callable[[str], object] | None = None,
              make_room: bool = False) -> Reply:
        """``session.reply`` with the turn saved as it streams. A reply that never started (the
        context needs a choice, the template failed) leaves no trace in the store."""
        store = self.store
        if self.conversation_id is None:
            self.conversation_id = store.create(title_from(text), self.model, model_path=self.model_path,
                                                settings=self.settings, system_prompt=self.system_prompt)
        conversation_id = self.conversation_id
        user_id = store.add_message(conversation_id, "user", text)
        reply_id = store.add_message(conversation_id, "assistant", "", state=STATE_STREAMING)
        saver = _ChunkSaver(store, reply_id)
        try:
            reply = session.reply(text, stop=stop, on_text=saver.wrap(saver.answer, on_text),
                                  on_thinking=saver.wrap(saver.thinking, on_thinking), make_room=make_room)
        except KeyboardInterrupt:  # ctrl+c in the CLI: keep what was said, as a stopped reply
            store.update_message(reply_id, "".join(saver.answer), thinking="".join(saver.thinking),
                                 state=STATE_STOPPED)
            raise
        except BaseException:
            store.delete_messages_from(conversation_id, user_id)  # the session did not keep the turn either
            raise
        state = STATE_STOPPED if reply.finish_reason == FINISH_CANCELLED else STATE_DONE
        store.update_message(reply_id, reply.text, thinking=reply.thinking, state=state, stats=reply.stats.to_dict())
        self.message_ids += [user_id, reply_id]
        return reply

    def take_back_last_turn(self, session: ChatSession) -> str | None:
        """Regenerate / edit: the last user message and its reply leave the session and the store."""
        n_before = len(session.messages)
        text = session.take_back_last_turn()
        if text is None:
            return None
        kept = len(session.messages)
        if self.conversation_id is not None and len(self.message_ids) == n_before and kept < n_before:
            self.store.delete_messages_from(self.conversation_id, self.message_ids[kept])
            del self.message_ids[kept:]
        return text
