"""``localai-tui chats`` and ``chat --resume``, and a process killed mid-reply: the user message and
the reply's text so far are in the store when it is opened again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("llama_cpp")


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=timeout)


def test_chats_lists_exports_renames_and_deletes(stories_model, tmp_path):
    empty = _cli("chats")
    assert empty.returncode == 0 and empty.stdout.startswith("no saved conversations yet")
    done = _cli("chat", str(stories_model), "-p", "Once upon a time", "-n", "12", "--temp", "0", "-t", "1", "--json")
    assert done.returncode == 0, done.stderr
    conversation_id = json.loads(done.stdout)["conversation_id"]
    listed = json.loads(_cli("chats", "--json").stdout)["conversations"]
    assert [(c["id"], c["title"], c["messages"], c["model"]) for c in listed] == [
        (conversation_id, "Once upon a time", 2, str(stories_model))]
    table = _cli("chats").stdout.splitlines()
    assert table[0].split() == ["ID", "UPDATED", "MSGS", "MODEL", "TITLE"] and table[1].endswith("Once upon a time")
    exported = _cli("chats", "--export", str(conversation_id), "--format", "json", "-o", str(tmp_path))
    assert exported.returncode == 0, exported.stderr
    path = exported.stdout.strip().rsplit(" ", 1)[-1]
    assert json.loads(open(path).read())["messages"][0]["content"] == "Once upon a time"
    assert _cli("chats", "--rename", str(conversation_id), "Stories").returncode == 0
    assert json.loads(_cli("chats", "--json").stdout)["conversations"][0]["title"] == "Stories"
    assert _cli("chats", "--delete", str(conversation_id)).returncode == 0
    missing = _cli("chats", "--delete", str(conversation_id))
    assert missing.returncode == 1 and missing.stderr.startswith(f"localai-tui: error: no saved conversation {conversation_id}")


def test_resume_continues_a_saved_conversation_with_its_model(stories_model):
    first = json.loads(_cli("chat", str(stories_model), "-p", "Once upon a time", "-n", "10", "--temp", "0",
                            "-t", "1", "--json").stdout)
    cid = first["conversation_id"]
    second = _cli("chat", "--resume", str(cid), "-p", "The end", "-n", "10", "--temp", "0", "-t", "1", "--json")
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["conversation_id"] == cid
    assert data["n_prompt_tokens"] > 5  # the saved turn is in the prompt
    assert json.loads(_cli("chats", "--json").stdout)["conversations"][0]["messages"] == 4
    unknown = _cli("chat", "--resume", "77", "-p", "hi")
    assert unknown.returncode == 1 and "no saved conversation 77" in unknown.stderr


def test_a_kill_mid_reply_loses_at_most_the_reply_in_flight(stories_model):
    from tui.core.chats.store import STATE_STREAMING, ChatStore

    command = [sys.executable, "-m", "tui", "chat", str(stories_model), "--prompt", "Once upon a time",
               "-n", "-1", "-c", "8192", "-t", "1"]  # thousands of tokens: still running at the kill
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        streamed = b""
        while len(streamed) < 200:  # well into the reply, and past the first save
            streamed += os.read(proc.stdout.fileno(), 4096)
        deadline = time.monotonic() + 60
        while True:  # a chunk of the reply has been committed (its first piece is saved at once, then every 0.5 s)
            with ChatStore() as store:
                summaries = store.list()
                reply = store.load(summaries[0].id).messages[-1] if summaries else None
            if reply is not None and len(reply.content) >= 100:
                break
            assert time.monotonic() < deadline, "no reply text saved while streaming"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with ChatStore() as store:
        (summary,) = store.list()
        user, reply = store.load(summary.id).messages
    assert user.role == "user" and user.content == "Once upon a time"
    assert reply.state == STATE_STREAMING and reply.interrupted and reply.content
    assert streamed.decode(errors="ignore").startswith(reply.content[:100])  # what was saved is what was shown
    # Reopened and continued: the interrupted reply is part of the history.
    done = _cli("chat", "--resume", str(summary.id), "-p", "The end", "-n", "5", "-c", "8192", "-t", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_prompt_tokens"] > 20
