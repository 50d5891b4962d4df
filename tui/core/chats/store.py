"""Saved conversations in SQLite (``chats.sqlite3`` in the data dir).

Why SQLite: one file, atomic commits, and in WAL mode a kill at any moment leaves the last
committed state readable; the recorder commits the user message at once and the reply in
chunks while it streams, so a crash loses at most the text of the last half second.

The schema has a version (table ``schema_version``) and ``MIGRATIONS``: migration N brings a
version N database to N+1, applied in one transaction on open; a database newer than this
code is refused with a clear message rather than guessed at.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.errors import LocalAIError

#: File name of the store inside the data dir.
STORE_FILE = "chats.sqlite3"

#: Message states: streaming (a reply being written; after a crash, an interrupted one), or done.
STATE_STREAMING = "streaming"
STATE_DONE = "done"
STATE_STOPPED = "stopped"
STATE_FAILED = "failed"

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: conversations and their messages, each reply with its measurements (JSON).
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        model TEXT NOT NULL,
        model_path TEXT,
        settings TEXT NOT NULL DEFAULT '{}',
        system_prompt TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        thinking TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT 'done',
        stats TEXT,
        created REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    CREATE INDEX conversations_by_update ON conversations (updated);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class ChatStoreError(LocalAIError):
    """The conversation store cannot be opened or does not hold what was asked for."""


@dataclass(frozen=True)
class StoredMessage:
    id: int
    role: str
    content: str
    thinking: str = ""
    state: str = STATE_DONE
    stats: dict[str, Any] | None = None
    created: float = 0.0

    @property
    def interrupted(self) -> bool:
        """Still "streaming" in the store: the process ended while this reply was written."""
        return self.state == STATE_STREAMING


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    model: str
    updated: float
    created: float
    n_messages: int


@dataclass(frozen=True)
class Conversation:
    summary: ConversationSummary
    model_path: str | None
    settings: dict[str, Any]
    system_prompt: str | None
    messages: list[StoredMessage] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.summary.id


def default_store_path() -> Path:
    from tui.core.paths import data_dir

    return data_dir() / STORE_FILE


class ChatStore:
    """One connection shared by the UI thread and the generating thread (a lock serialises them)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
            self._db.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.Error) as exc:
            raise ChatStoreError(f"cannot open the conversation store {self.path}: {exc}") from None
        self._lock = threading.Lock()
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ChatStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise ChatStoreError(f"conversation store {self.path}: {exc}") from None
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self._transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (0)")
            if version > SCHEMA_VERSION:
                raise ChatStoreError(f"{self.path} was written by a newer localai-tui (schema {version}, "
                                     f"this one knows {SCHEMA_VERSION})")
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (step + 1,))

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT version FROM schema_version").fetchone()[0])

    # -- conversations -----------------------------------------------------------------

    def create(self, title: str, model: str, *, model_path: str | None = None,
               settings: dict[str, Any] | None = None, system_prompt: str | None = None) -> int:
        now = time.time()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO conversations (title, model, model_path, settings, system_prompt, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, model, model_path, json.dumps(settings or {}), system_prompt, now, now))
            return int(cursor.lastrowid or 0)

    def list(self) -> list[ConversationSummary]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.title, c.model, c.updated, c.created, "
                "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) "
                "FROM conversations c ORDER BY c.updated DESC, c.id DESC").fetchall()
        return [ConversationSummary(*row) for row in rows]

    def load(self, conversation_id: int) -> Conversation:
        with self._lock:
            row = self._db.execute(
                "SELECT id, title, model, updated, created, model_path, settings, system_prompt "
                "FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                raise ChatStoreError(f"no saved conversation {conversation_id}",
                                     hint="`localai-tui chats` lists them")
            messages = self._db.execute(
                "SELECT id, role, content, thinking, state, stats, created FROM messages "
                "WHERE conversation_id = ? ORDER BY id", (conversation_id,)).fetchall()
        stored = [StoredMessage(m[0], m[1], m[2], m[3], m[4], json.loads(m[5]) if m[5] else None, m[6])
                  for m in messages]
        summary = ConversationSummary(row[0], row[1], row[2], row[3], row[4], len(stored))
        return Conversation(summary, row[5], json.loads(row[6] or "{}"), row[7], stored)

    def rename(self, conversation_id: int, title: str) -> None:
        with self._transaction() as db:
            changed = db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)).rowcount
        if not changed:
            raise ChatStoreError(f"no saved conversation {conversation_id}")

    def delete(self, conversation_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def update_conversation(self, conversation_id: int, *, model: str | None = None, model_path: str | None = None,
                            settings: dict[str, Any] | None = None, system_prompt: str | None = None) -> None:
        """What the conversation continues with now (another model, new settings)."""
        with self._transaction() as db:
            if model is not None:
                db.execute("UPDATE conversations SET model = ?, model_path = ? WHERE id = ?",
                           (model, model_path, conversation_id))
            if settings is not None:
                db.execute("UPDATE conversations SET settings = ?, system_prompt = ? WHERE id = ?",
                           (json.dumps(settings), system_prompt, conversation_id))

    # -- messages ----------------------------------------------------------------------

    def add_message(self, conversation_id: int, role: str, content: str, *, thinking: str = "",
                    state: str = STATE_DONE, stats: dict[str, Any] | None = None) -> int:
        now = time.time()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO messages (conversation_id, role, content, thinking, state, stats, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, thinking, state, json.dumps(stats) if stats else None, now))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            return int(cursor.lastrowid or 0)

    def update_message(self, message_id: int, content: str, *, thinking: str = "", state: str | None = None,
                       stats: dict[str, Any] | None = None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE messages SET content = ?, thinking = ?, state = COALESCE(?, state), "
                       "stats = COALESCE(?, stats) WHERE id = ?",
                       (content, thinking, state, json.dumps(stats) if stats else None, message_id))

    def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Remove ``message_id`` and every later message (regenerate and edit replace the last turn)."""
        with self._transaction() as db:
            db.execute("DELETE FROM messages WHERE conversation_id = ? AND id >= ?", (conversation_id, message_id))
