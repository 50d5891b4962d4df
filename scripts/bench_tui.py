"""Benchmark the chat screen headless with the stories260K model.

Reports, on this machine:

* the tokens/s a person sees while the chat screen streams a reply (``stream_tokens_per_s``:
  first to last token as delivered, what the live meter shows) against the engine's own rate for
  the same reply with nothing on screen; the two are measured in pairs, back to back on the same
  loaded engine, so a shared box's drift hits both alike (goal: at least 90%). llama.cpp's own
  decode-only rate (``gen_tokens_per_s``) is given for both too;
* key latency during streaming: a key posted to the prompt box every 100 ms until the box shows
  it, in separate replies (typing costs UI time of its own, so it stays out of the rate pairs);
* the event loop's CPU while streaming, as a share of one core;
* time to first paint: from launching ``python`` to the first screen composed and refreshed.

Every figure is the median over rounds (and runs); ``--json`` prints each round.

Usage: ``python scripts/bench_tui.py [--model PATH] [--tokens N] [--rounds R] [--runs N] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "stories260K.gguf"
PROMPT = "Once upon a time"

FIRST_PAINT_SCRIPT = """
import sys, time
started = float(sys.argv[1])
from tui.app import LocalAIApp
from tui.core.hardware.devices import HardwareProfile

async def painted(pilot):
    await pilot.pause()
    print(time.time() - started)
    pilot.app.exit()

LocalAIApp(profile=HardwareProfile("bench")).run(headless=True, size=(80, 24), auto_pilot=painted)
"""


def sampling_for(tokens: int, seed: int):
    from tui.core.engine.sampling import SamplingSettings

    return SamplingSettings(temperature=0.8, seed=seed, max_tokens=tokens)


async def _streamed_round(pilot, chat, tokens: int, seed: int, probe_keys: bool) -> dict:
    """One reply through the chat screen; with ``probe_keys``, a key posted to the prompt box every 100 ms."""
    from textual import events

    await chat.run_action("new_chat")
    await pilot.pause(0.1)  # the old turns' removal finishes before the clock starts
    chat.sampling = chat.session.sampling = sampling_for(tokens, seed)
    box = chat.query_one("#chat-input")
    latencies: list[float] = []
    cpu_start, wall_start = time.thread_time(), time.perf_counter()
    chat.send(PROMPT)
    while chat.generating:
        await asyncio.sleep(0.1 if probe_keys else 0.01)
        if not chat.generating or not probe_keys:
            continue
        before = box.value
        started = time.perf_counter()
        box.post_message(events.Key("x", "x"))
        while box.value == before and time.perf_counter() - started < 2:
            await asyncio.sleep(0.001)
        latencies.append(time.perf_counter() - started)
    cpu, wall = time.thread_time() - cpu_start, time.perf_counter() - wall_start
    while not chat.last_reply:
        await asyncio.sleep(0.01)
    box.value = ""
    await pilot.pause()
    stats = chat.last_stats
    return {"stream_tokens_per_s": stats.stream_tokens_per_s, "gen_tokens_per_s": stats.gen_tokens_per_s,
            "n_gen_tokens": stats.n_gen_tokens, "key_latencies_ms": [1000 * x for x in latencies],
            "ui_cpu_share": cpu / wall if wall else None}


def _quiet_round(engine, tokens: int, seed: int) -> dict:
    """The same reply on the same engine with the event loop blocked: nothing drawn, no other Python thread."""
    from tui.core.engine.chat import ChatSession

    stats = ChatSession(engine, sampling=sampling_for(tokens, seed)).reply(PROMPT, on_text=lambda _: None).stats
    return {"stream_tokens_per_s": stats.stream_tokens_per_s, "gen_tokens_per_s": stats.gen_tokens_per_s,
            "n_gen_tokens": stats.n_gen_tokens}


async def run_rounds(model: Path, tokens: int, rounds: int, latency_rounds: int) -> tuple[list[dict], list[dict]]:
    """``rounds`` pairs (screen, quiet), alternating which goes first, then ``latency_rounds`` replies
    with keys typed while they stream (kept apart: a reader does not type ten keys a second)."""
    from tui.app import LocalAIApp
    from tui.core.hardware.devices import HardwareProfile

    app = LocalAIApp(model=str(model), open_chat=True, profile=HardwareProfile("bench"))
    results = []
    async with app.run_test(size=(120, 36)) as pilot:
        chat = app.screen
        while chat.session is None:
            await asyncio.sleep(0.02)
        for index in range(rounds):
            seed = 1000 + index
            if index % 2:
                quiet = _quiet_round(chat.engine, tokens, seed)
                shown = await _streamed_round(pilot, chat, tokens, seed, probe_keys=False)
            else:
                shown = await _streamed_round(pilot, chat, tokens, seed, probe_keys=False)
                quiet = _quiet_round(chat.engine, tokens, seed)
            results.append({"screen": shown, "quiet": quiet,
                            "ratio": shown["stream_tokens_per_s"] / quiet["stream_tokens_per_s"]})
        typed = [await _streamed_round(pilot, chat, tokens, 2000 + index, probe_keys=True)
                 for index in range(latency_rounds)]
    return results, typed


def first_paint_s() -> float:
    out = subprocess.run([sys.executable, "-c", FIRST_PAINT_SCRIPT, repr(time.time())], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def summarize(rounds: list[dict], typed: list[dict], paints: list[float]) -> dict:
    def median(values) -> float:
        return round(statistics.median(values), 3)

    latencies = sorted(x for r in typed for x in r["key_latencies_ms"])
    return {
        "rounds": len(rounds),
        "quiet_stream_tokens_per_s": median(r["quiet"]["stream_tokens_per_s"] for r in rounds),
        "screen_stream_tokens_per_s": median(r["screen"]["stream_tokens_per_s"] for r in rounds),
        "ratio_median": median(r["ratio"] for r in rounds),
        "ratio_min": round(min(r["ratio"] for r in rounds), 3),
        "quiet_gen_tokens_per_s": median(r["quiet"]["gen_tokens_per_s"] for r in rounds),
        "screen_gen_tokens_per_s": median(r["screen"]["gen_tokens_per_s"] for r in rounds),
        "key_latency_ms_median": median(latencies) if latencies else None,
        "key_latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "key_latency_ms_max": round(latencies[-1], 1) if latencies else None,
        "key_samples": len(latencies),
        "typing_stream_tokens_per_s": median(r["stream_tokens_per_s"] for r in typed) if typed else None,
        "ui_cpu_share_median": median(r["screen"]["ui_cpu_share"] for r in rounds),
        "first_paint_s_median": median(paints),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=400, help="reply length in tokens (default 400)")
    parser.add_argument("--rounds", type=int, default=6, help="screen/quiet pairs per run (default 6)")
    parser.add_argument("--latency-rounds", type=int, default=2,
                        help="replies per run with keys typed while they stream (default 2)")
    parser.add_argument("--runs", type=int, default=2, help="app launches, each with its rounds (default 2)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"bench_tui: no model at {args.model} (see ../shared/README.md)", file=sys.stderr)
        return 1
    from tui.core.engine.llama_log import ensure_llama_log

    ensure_llama_log()
    rounds: list[dict] = []
    typed: list[dict] = []
    paints: list[float] = []
    for _ in range(args.runs):
        paired, with_keys = asyncio.run(run_rounds(args.model, args.tokens, args.rounds, args.latency_rounds))
        rounds += paired
        typed += with_keys
        paints.append(first_paint_s())
    summary = summarize(rounds, typed, paints)
    if args.json:
        print(json.dumps({"summary": summary, "rounds": rounds, "typed": typed, "first_paint_s": paints}, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:30} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
