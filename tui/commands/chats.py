"""``localai-tui chats``: the saved conversations (newest first), and export, rename, delete.

``chat MODEL --resume ID`` continues one (``--prompt`` for one more reply here, or the chat screen).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chats",
        help="list saved conversations; export, rename or delete one",
        description="The conversations the chat screen and `chat --prompt` saved (newest first). "
                    "Continue one with `localai-tui chat MODEL --resume ID`.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--export", type=int, metavar="ID", help="write conversation ID as Markdown or JSON")
    action.add_argument("--rename", nargs=2, metavar=("ID", "TITLE"), help="give conversation ID a new title")
    action.add_argument("--delete", type=int, metavar="ID", help="delete conversation ID")
    parser.add_argument("--format", choices=("md", "json"), default="md", help="export format (default: md)")
    parser.add_argument("--output", "-o", type=Path, default=None, metavar="PATH",
                        help="export to this file or folder (default: the data dir's exports/)")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(func=run)


def _printable(text: str) -> str:
    """One line without control characters: titles come from what people typed and models wrote."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def run(args: argparse.Namespace) -> int:
    from tui.core.chats.store import ChatStore
    from tui.core.errors import LocalAIError

    with ChatStore() as store:
        if args.export is not None:
            from tui.core.chats.export import export_conversation

            path = export_conversation(store.load(args.export), args.format, args.output)
            print(f"conversation {args.export} written to {path}")
            return 0
        if args.rename is not None:
            try:
                conversation_id = int(args.rename[0])
            except ValueError:
                raise LocalAIError(f"--rename needs a conversation id, not {args.rename[0]!r}") from None
            store.rename(conversation_id, args.rename[1].strip() or "untitled")
            print(f"conversation {conversation_id} renamed")
            return 0
        if args.delete is not None:
            store.load(args.delete)  # a clear error for an unknown id
            store.delete(args.delete)
            print(f"conversation {args.delete} deleted")
            return 0
        summaries = store.list()
        path = store.path
    if args.json:
        print(json.dumps({"store": str(path), "conversations": [
            {"id": s.id, "title": s.title, "model": s.model, "messages": s.n_messages,
             "created": s.created, "updated": s.updated} for s in summaries]}, ensure_ascii=True))
        return 0
    if not summaries:
        print(f"no saved conversations yet ({path})")
        return 0
    from datetime import datetime

    print(f"{'ID':>4}  {'UPDATED':16}  {'MSGS':>4}  {'MODEL':28}  TITLE")
    for s in summaries:
        when = datetime.fromtimestamp(s.updated).strftime("%Y-%m-%d %H:%M")
        model = _printable(Path(s.model).name if s.model.lower().endswith(".gguf") else s.model)
        model = model if len(model) <= 28 else "…" + model[-27:]
        print(f"{s.id:>4}  {when:16}  {s.n_messages:>4}  {model:28}  {_printable(s.title)}")
    print(f"continue one: localai-tui chat MODEL --resume ID   (store: {path})", file=sys.stderr)
    return 0
