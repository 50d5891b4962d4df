"""Profile the UI thread (cProfile) while the chat screen streams replies from stories260K.

Only the streamed replies are profiled (not start-up, not the quiet engine rounds), so the
output shows what the event loop spends per reply: flushes, Markdown, layout, the meter.

Usage: ``python scripts/profile_chat_stream.py [--rounds 6] [--tokens 400] [--top 40] [--out FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def profile(model: Path, tokens: int, rounds: int) -> cProfile.Profile:
    from scripts.bench_tui import PROMPT, sampling_for
    from tui.app import LocalAIApp
    from tui.core.hardware.devices import HardwareProfile

    profiler = cProfile.Profile()
    app = LocalAIApp(model=str(model), open_chat=True, profile=HardwareProfile("bench"))
    async with app.run_test(size=(120, 36)) as pilot:
        chat = app.screen
        while chat.session is None:
            await asyncio.sleep(0.02)
        for index in range(rounds):
            await chat.run_action("new_chat")
            await pilot.pause(0.1)
            chat.sampling = chat.session.sampling = sampling_for(tokens, 1000 + index)
            profiler.enable()
            chat.send(PROMPT)
            while chat.generating:
                await asyncio.sleep(0.01)
            while not chat.last_reply:
                await asyncio.sleep(0.01)
            await pilot.pause()
            profiler.disable()
    return profiler


def main(argv: list[str] | None = None) -> int:
    from scripts.bench_tui import DEFAULT_MODEL

    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--out", type=Path, help="also write the raw profile here (pstats format)")
    args = parser.parse_args(argv)
    from tui.core.engine.llama_log import ensure_llama_log

    ensure_llama_log()
    profiler = asyncio.run(profile(args.model, args.tokens, args.rounds))
    if args.out:
        profiler.dump_stats(str(args.out))
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
