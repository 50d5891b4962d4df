"""The conversation store: schema and migrations, saving as a reply streams, regenerate/edit
bookkeeping, and Markdown/JSON export, with the real stories model where a reply is needed."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tui.core.chats.export import export_conversation, to_markdown
from tui.core.chats.store import (
    SCHEMA_VERSION,
    STATE_DONE,
    STATE_STREAMING,
    ChatStore,
    ChatStoreError,
)


def test_a_new_store_is_at_the_latest_schema_in_wal_mode(tmp_path):
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        assert store.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(tmp_path / "chats.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_from_a_newer_version_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "chats.sqlite3"
    ChatStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(ChatStoreError, match="newer localai-tui"):
        ChatStore(path)


def test_an_old_store_is_migrated_on_open(tmp_path, monkeypatch):
    from tui.core.chats import store as store_module

    path = tmp_path / "chats.sqlite3"
    ChatStore(path).close()
    later = store_module.MIGRATIONS + ("ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",)
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(later))
    with ChatStore(path) as store:
        assert store.schema_version == len(later)
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(conversations)")]
    assert "pinned" in columns


def test_conversations_list_rename_delete_and_unknown_ids(tmp_path):
    with ChatStore(tmp_path / "c.sqlite3") as store:
        first = store.create("first", "a.gguf")
        second = store.create("second", "b.gguf", settings={"x": 1})
        store.add_message(first, "user", "hi")  # the first is now the most recently updated
        assert [s.id for s in store.list()] == [first, second]
        assert store.list()[0].n_messages == 1
        store.rename(second, "renamed")
        assert store.load(second).summary.title == "renamed" and store.load(second).settings == {"x": 1}
        store.delete(first)
        assert [s.id for s in store.list()] == [second]
        with pytest.raises(ChatStoreError, match="no saved conversation 99"):
            store.load(99)


def test_export_writes_markdown_and_json_and_says_where(tmp_path):
    with ChatStore(tmp_path / "c.sqlite3") as store:
        cid = store.create("Cats & dogs", "m.gguf", system_prompt="Be brief.")
        store.add_message(cid, "user", "Why?")
        store.add_message(cid, "assistant", "Because.", thinking="They asked why.",
                          stats={"n_gen_tokens": 3, "stream_tokens_per_s": 12.5, "ttft_s": 0.25})
        store.add_message(cid, "user", "And?")
        store.add_message(cid, "assistant", "And th", state=STATE_STREAMING)
        conversation = store.load(cid)
    md = export_conversation(conversation, "md", tmp_path / "out")
    assert md == tmp_path / "out" / f"chat-{cid}-cats-dogs.md"
    text = md.read_text()
    assert text == to_markdown(conversation)
    assert "# Cats & dogs" in text and "## You\n\nWhy?" in text and "<summary>Thinking</summary>" in text
    assert "_3 tokens · 12.5 t/s · first token 0.25 s_" in text and "interrupted" in text
    data = json.loads(export_conversation(conversation, "json", tmp_path / "c.json").read_text())
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "user", "assistant"]
    assert data["messages"][1]["thinking"] == "They asked why." and data["messages"][3]["state"] == STATE_STREAMING


llama_cpp = pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def engine():
    from tests.conftest import STORIES_MODEL
    from tui.core.engine.runtime import Engine
    from tui.core.fit.settings import LlamaSettings

    if not STORIES_MODEL.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent")
    with Engine.load(STORIES_MODEL, LlamaSettings(n_ctx=512, n_threads=1)) as loaded:
        yield loaded


def test_the_recorder_saves_each_turn_and_take_back_removes_it(engine, tmp_path):
    from tui.core.chats.recorder import ConversationRecorder, session_messages
    from tui.core.engine.chat import ChatSession
    from tui.core.engine.sampling import SamplingSettings

    store = ChatStore(tmp_path / "c.sqlite3")
    session = ChatSession(engine, sampling=SamplingSettings(temperature=0.0, max_tokens=20))
    recorder = ConversationRecorder(store, model="stories260K.gguf", settings={"n_ctx": 512})
    assert store.list() == []  # nothing saved until the first message
    first = recorder.reply(session, "Once upon a time")
    recorder.reply(session, "The dog")
    saved = store.load(recorder.conversation_id)
    assert saved.summary.title == "Once upon a time"
    assert [(m.role, m.content) for m in saved.messages] == [(m.role, m.content) for m in session.messages]
    assert saved.messages[1].state == STATE_DONE and saved.messages[1].stats["n_gen_tokens"] == 20
    assert saved.messages[1].content == first.text
    # Regenerate: the last turn leaves the session and the store; the new reply takes its place.
    assert recorder.take_back_last_turn(session) == "The dog"
    assert len(store.load(recorder.conversation_id).messages) == 2
    recorder.reply(session, "The cat")
    assert [m.content for m in store.load(recorder.conversation_id).messages][2] == "The cat"
    # Resume in a fresh session: the history is what was saved.
    resumed = ChatSession(engine)
    resumed.restore(session_messages(store.load(recorder.conversation_id)))
    assert resumed.messages == session.messages
    store.close()
