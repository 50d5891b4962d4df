"""A saved conversation as Markdown (to read or share) or JSON (everything the store holds).

Files go where the person says, or to ``exports/`` in the data dir; the path is returned so
the caller can tell it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tui.core.chats.store import Conversation, StoredMessage
from tui.core.errors import LocalAIError

FORMATS = ("md", "json")


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def reply_figures(stats: dict[str, Any] | None) -> str:
    """``128 tokens · 456.0 t/s · first token 0.02 s``: a reply's measurements in one line."""
    if not stats:
        return ""
    parts = [f"{stats.get('n_gen_tokens', 0)} tokens"]
    rate = stats.get("stream_tokens_per_s") or 0.0
    if rate:
        parts.append(f"{rate:,.1f} t/s")
    ttft = stats.get("ttft_s")
    if ttft:
        parts.append(f"first token {ttft:.2f} s")
    if stats.get("n_thinking_tokens"):
        parts.append(f"thinking {stats['n_thinking_tokens']} tokens")
    return " · ".join(parts)


def to_markdown(conversation: Conversation) -> str:
    summary = conversation.summary
    lines = [f"# {summary.title}", "", f"- model: `{summary.model}`", f"- started: {_when(summary.created)}"]
    if conversation.system_prompt:
        lines.append(f"- system prompt: {conversation.system_prompt}")
    for message in conversation.messages:
        lines += ["", f"## {'You' if message.role == 'user' else summary.model}", ""]
        if message.thinking:
            lines += ["<details><summary>Thinking</summary>", "", message.thinking.strip(), "", "</details>", ""]
        lines.append(message.content)
        figures = _message_note(message)
        if figures:
            lines += ["", f"_{figures}_"]
    return "\n".join(lines) + "\n"


def _message_note(message: StoredMessage) -> str:
    note = reply_figures(message.stats) if message.role == "assistant" else ""
    if message.interrupted:
        note = "interrupted: the app ended while this reply was written" + (f" · {note}" if note else "")
    return note


def to_json(conversation: Conversation) -> dict[str, Any]:
    summary = conversation.summary
    return {
        "id": summary.id, "title": summary.title, "model": summary.model, "model_path": conversation.model_path,
        "created": summary.created, "updated": summary.updated, "settings": conversation.settings,
        "system_prompt": conversation.system_prompt,
        "messages": [{"role": m.role, "content": m.content, "thinking": m.thinking, "state": m.state,
                      "stats": m.stats, "created": m.created} for m in conversation.messages],
    }


def export_file_name(conversation: Conversation, fmt: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", conversation.summary.title.lower()).strip("-")[:40] or "chat"
    return f"chat-{conversation.id}-{slug}.{fmt}"


def default_export_dir() -> Path:
    from tui.core.paths import data_dir

    return data_dir() / "exports"


def export_conversation(conversation: Conversation, fmt: str, target: Path | None = None) -> Path:
    """Write the conversation as ``fmt`` (md or json) to ``target`` (a file, or a folder for the
    default name), or to the data dir's ``exports/``; returns the file written."""
    if fmt not in FORMATS:
        raise LocalAIError(f"export format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if target is None:
        target = default_export_dir()
    if target.is_dir() or target.suffix == "":
        target = target / export_file_name(conversation, fmt)
    text = to_markdown(conversation) if fmt == "md" else json.dumps(to_json(conversation), indent=2, ensure_ascii=False)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LocalAIError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
