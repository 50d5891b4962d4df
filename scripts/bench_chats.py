"""How long a saved 200-message conversation takes to open on the chat screen (goal: under 300 ms).

Builds a conversation of ``--messages`` messages (stories-like user turns, Markdown replies with a
list and a code block every fifth reply, some with thinking) in a temporary data dir, starts the
app headless with the stories260K model, then times ``open_conversation``: from the call to the
screen laid out and painted (``pilot.pause()`` returns after the refresh). Also times the store's
``load`` alone. Prints the median and max over ``--rounds``.

Usage: ``python scripts/bench_chats.py [--messages 200] [--rounds 5] [--model PATH] [--profile FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "stories260K.gguf"

REPLY = """Here is what happened next, in three parts:

1. The **cat** walked to the park.
2. It met a *dog* named Max.
3. They played until dinner.

{code}And that is the end of part {n}."""
CODE = "```python\nfor step in range({n}):\n    print('step', step)\n```\n\n"


def build(store, n_messages: int, model: str) -> int:
    cid = store.create("A long chat", model)
    for n in range(n_messages // 2):
        store.add_message(cid, "user", f"Tell me part {n} of the story about the cat and the dog, please.")
        store.add_message(cid, "assistant", REPLY.format(code=CODE.format(n=n) if n % 5 == 0 else "", n=n),
                          thinking="The user wants the next part." if n % 3 == 0 else "",
                          stats={"n_gen_tokens": 60, "stream_tokens_per_s": 900.0, "ttft_s": 0.01,
                                 "n_thinking_tokens": 6 if n % 3 == 0 else 0, "thinking_seconds": 0.01})
    return cid


async def run(model: Path, n_messages: int, rounds: int, profile_to: Path | None = None) -> dict:
    from tui.app import LocalAIApp
    from tui.core.chats.store import ChatStore
    from tui.core.hardware.devices import HardwareProfile

    store = ChatStore()
    cid = build(store, n_messages, str(model))
    loads = []
    for _ in range(rounds):
        started = time.perf_counter()
        store.load(cid)
        loads.append(time.perf_counter() - started)
    app = LocalAIApp(model=str(model), open_chat=True, profile=HardwareProfile("bench"))
    opens = []
    idle = []
    async with app.run_test(size=(120, 36)) as pilot:
        chat = app.screen
        while chat.session is None:
            await asyncio.sleep(0.02)
        for _ in range(rounds):  # what a pause costs with nothing to do: the floor of the figure below
            await pilot.pause()
            started = time.perf_counter()
            await pilot.pause()
            idle.append(time.perf_counter() - started)
        profiler = cProfile.Profile() if profile_to is not None else None
        for _ in range(rounds):
            await pilot.pause()
            if profiler is not None:
                profiler.enable()
            started = time.perf_counter()
            chat.open_conversation(cid)
            await pilot.pause()
            opens.append(time.perf_counter() - started)
            if profiler is not None:
                profiler.disable()
            assert len(chat.session.messages) == n_messages
    store.close()
    if profiler is not None and profile_to is not None:
        profiler.dump_stats(str(profile_to))
    return {"messages": n_messages, "rounds": rounds,
            "store_load_ms_median": round(1e3 * statistics.median(loads), 1),
            "idle_pause_ms_median": round(1e3 * statistics.median(idle), 1),
            "open_ms_median": round(1e3 * statistics.median(opens), 1),
            "open_ms_max": round(1e3 * max(opens), 1), "open_ms_each": [round(1e3 * x) for x in opens]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="cProfile the opens (the event loop's thread) into FILE (pstats format)")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"bench_chats: no model at {args.model} (see ../shared/README.md)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as home:
        os.environ["XDG_DATA_HOME"] = home  # never the person's own store
        from tui.core.engine.llama_log import ensure_llama_log

        ensure_llama_log()
        result = asyncio.run(run(args.model, args.messages, args.rounds, args.profile))
    for key, value in result.items():
        print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
