#!/usr/bin/env python3
"""How much the engine costs on top of llama.cpp, measured on a model fast enough to show it.

Three figures, printed as a small report:

1. Streaming overhead: tokens/s of the engine's stream (``ChatSession.stream``: a worker
   thread and a queue, as the TUI uses it; and ``ChatSession.reply`` with a callback on the
   calling thread) against a bare llama-cpp-python loop (llama_decode, llama_sampler_sample,
   llama_token_to_piece; nothing else) and against llama-cpp-python's own
   ``Llama.create_completion(stream=True)``, same model, settings, sampler and seed, in the
   same run, alternating, median over repetitions. Goal: engine >= 90% of the bare loop.
2. Reported tokens/s against llama.cpp's counters (``llama_perf_context``). Goal: within 5%.
3. Startup of ``localai-tui chat MODEL --prompt ...`` to its first token on stdout, and the
   process's peak RSS (``wait4`` rusage).

Usage: .venv/bin/python scripts/bench_engine.py [--model PATH] [--tokens N] [--reps R] [--threads T]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "stories260K.gguf"
PROMPT = "Once upon a time"
LONG_PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. " * 12


def bare_loop(model_path: Path, n_ctx: int, n_threads: int, n_tokens: int, seed: int) -> tuple[float, str]:
    """llama-cpp-python's low-level API and nothing else: tokens/s (first to last token) and the text."""
    import llama_cpp

    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), mparams)
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = n_ctx, 2048, 512
    cparams.n_threads = cparams.n_threads_batch = n_threads
    cparams.no_perf = False
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    vocab = llama_cpp.llama_model_get_vocab(model)
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    for sampler in (llama_cpp.llama_sampler_init_top_k(40), llama_cpp.llama_sampler_init_top_p(0.95, 1),
                    llama_cpp.llama_sampler_init_min_p(0.05, 1), llama_cpp.llama_sampler_init_temp(0.8),
                    llama_cpp.llama_sampler_init_dist(seed)):
        llama_cpp.llama_sampler_chain_add(chain, sampler)
    text = PROMPT.encode()
    prompt = (llama_cpp.llama_token * 64)()
    n_prompt = llama_cpp.llama_tokenize(vocab, text, len(text), prompt, 64, True, False)
    # llama.cpp's warmup, as the engine does at load
    warm = (llama_cpp.llama_token * 2)(llama_cpp.llama_vocab_bos(vocab), llama_cpp.llama_vocab_eos(vocab))
    llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(warm, 2))
    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)

    llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(prompt, n_prompt))
    buf = ctypes.create_string_buffer(256)
    one = (llama_cpp.llama_token * 1)()
    batch = llama_cpp.llama_batch_get_one(one, 1)
    pieces = []
    t_first = t_last = 0.0
    for i in range(n_tokens):
        token = llama_cpp.llama_sampler_sample(chain, ctx, -1)
        t_last = time.perf_counter()
        if i == 0:
            t_first = t_last
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, 256, 0, False)
        pieces.append(buf.raw[:n])
        if i == n_tokens - 1:
            break
        one[0] = token
        llama_cpp.llama_decode(ctx, batch)
    count = i + 1
    llama_cpp.llama_sampler_free(chain)
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    return (count - 1) / (t_last - t_first), b"".join(pieces).decode("utf-8", errors="replace")


def high_level_loop(model_path: Path, n_ctx: int, n_threads: int, n_tokens: int, seed: int) -> float:
    """``llama_cpp.Llama.create_completion(stream=True)``: tokens/s first to last chunk."""
    import llama_cpp

    with contextlib.redirect_stderr(io.StringIO()):  # Llama prints its metadata with print()
        # flash_attn=True: what "auto" resolves to on this CPU for the engine and the bare loop.
        llm = llama_cpp.Llama(str(model_path), n_ctx=n_ctx, n_batch=2048, n_threads=n_threads, n_threads_batch=n_threads,
                              seed=seed, flash_attn=True, verbose=True)
        times = []
        for _chunk in llm.create_completion(PROMPT, max_tokens=n_tokens, stream=True, temperature=0.8, top_k=40,
                                            top_p=0.95, min_p=0.05, repeat_penalty=1.0, seed=seed):
            times.append(time.perf_counter())
        llm.close()
    return (len(times) - 1) / (times[-1] - times[0])


def engine_runs(model_path: Path, n_ctx: int, n_threads: int, n_tokens: int, seed: int):
    """The engine: a streamed reply (worker thread + queue) and a reply with a callback; their stats."""
    from tui.core.engine.chat import ChatSession
    from tui.core.engine.runtime import Engine
    from tui.core.engine.sampling import SamplingSettings
    from tui.core.fit.settings import LlamaSettings

    with Engine.load(model_path, LlamaSettings(n_ctx=n_ctx, n_threads=n_threads)) as engine:
        sampling = SamplingSettings(seed=seed, max_tokens=n_tokens)
        stream = ChatSession(engine, sampling=sampling).stream(PROMPT)
        times, pieces = [], []
        for piece in stream:
            times.append(time.perf_counter())
            pieces.append(piece)
        streamed = stream.result
        consumer_rate = (len(times) - 1) / (times[-1] - times[0])
        engine.clear_kv()
        called = ChatSession(engine, sampling=sampling).reply(PROMPT, on_text=lambda text: None)
        engine.clear_kv()
        long_prompt = ChatSession(engine, sampling=sampling.with_changes(max_tokens=2)).reply(LONG_PROMPT)
    return consumer_rate, streamed, called, long_prompt, "".join(pieces)


def startup_to_first_token(model_path: Path, n_threads: int) -> tuple[float, int]:
    """Seconds from spawning ``localai-tui chat`` to its first byte on stdout, and its peak RSS (bytes)."""
    command = [sys.executable, "-m", "tui", "chat", str(model_path), "--prompt", PROMPT, "-n", "16",
               "-t", str(n_threads), "--seed", "1"]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    proc.stdout.read(1)
    first = time.perf_counter() - start
    proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"localai-tui chat failed with exit code {proc.returncode}")
    peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return first, peak


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=1000, help="tokens per reply (default: 1000)")
    parser.add_argument("--reps", type=int, default=7, help="repetitions, alternating (default: 7)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1; steadier on a busy box)")
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args()
    if not args.model.exists():
        raise SystemExit(f"{args.model} is absent (see shared/README.md)")

    from tui.core.engine.llama_log import install_llama_log

    log = install_llama_log(Path(tempfile.gettempdir()) / "bench_engine_llama.log")
    rates: dict[str, list[float]] = {"bare": [], "llama_cpp.Llama stream": [], "engine stream (thread+queue)": [],
                                     "engine reply (callback)": []}
    agree: dict[str, list[float]] = {"gen decode vs llama n_eval/t_eval": [], "prompt vs llama n_p_eval/t_p_eval": [],
                                     "long prompt vs llama n_p_eval/t_p_eval": [], "stream vs llama n_eval/t_eval": []}
    same_text = True
    for rep in range(args.reps):
        seed = 1000 + rep
        order = ["bare", "engine", "high"] if rep % 2 == 0 else ["engine", "high", "bare"]
        for which in order:
            if which == "bare":
                rate, bare_text = bare_loop(args.model, args.ctx, args.threads, args.tokens, seed)
                rates["bare"].append(rate)
            elif which == "high":
                rates["llama_cpp.Llama stream"].append(high_level_loop(args.model, args.ctx, args.threads, args.tokens, seed))
            else:
                consumer_rate, streamed, called, long_prompt, engine_text = engine_runs(
                    args.model, args.ctx, args.threads, args.tokens, seed)
                agree["long prompt vs llama n_p_eval/t_p_eval"].append(
                    long_prompt.stats.prompt_tokens_per_s / long_prompt.stats.perf.prompt_tokens_per_s)
                rates["engine stream (thread+queue)"].append(consumer_rate)
                rates["engine reply (callback)"].append(called.stats.stream_tokens_per_s)
                for stats in (streamed.stats, called.stats):
                    agree["gen decode vs llama n_eval/t_eval"].append(stats.gen_tokens_per_s / stats.perf.gen_tokens_per_s)
                    agree["prompt vs llama n_p_eval/t_p_eval"].append(stats.prompt_tokens_per_s / stats.perf.prompt_tokens_per_s)
                    agree["stream vs llama n_eval/t_eval"].append(stats.stream_tokens_per_s / stats.perf.gen_tokens_per_s)
        same_text = same_text and bare_text == engine_text

    startups = [startup_to_first_token(args.model, args.threads) for _ in range(5)]

    bare = statistics.median(rates["bare"])
    print(f"model {args.model.name}, {args.tokens} tokens per reply, {args.reps} repetitions, "
          f"{args.threads} thread(s), context {args.ctx}; llama.cpp log: {log}")
    print("\n1. streaming: tokens/s, first to last token (median; min-max)")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"   {name:<30} {median:10,.0f}  ({min(values):,.0f}-{max(values):,.0f})  {100 * median / bare:5.1f}% of bare")
    print(f"   same text from the bare loop and the engine (same sampler and seed): {same_text}")
    print("\n2. reported / llama.cpp's own counter (median; min-max)")
    for name, values in agree.items():
        median = statistics.median(values)
        print(f"   {name:<41} {median:6.3f}  ({min(values):.3f}-{max(values):.3f})  -> {100 * (median - 1):+.1f}%")
    first = [s for s, _ in startups]
    peak = [p for _, p in startups]
    print("\n3. `localai-tui chat MODEL --prompt ...` (5 runs)")
    print(f"   start to first token on stdout: median {statistics.median(first):.3f} s ({min(first):.3f}-{max(first):.3f})")
    print(f"   peak RSS: median {statistics.median(peak) / 2**20:.1f} MiB ({min(peak) / 2**20:.1f}-{max(peak) / 2**20:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
