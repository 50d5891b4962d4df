"""Throughput like ``llama-bench``: prompt processing (pp) and generation (tg) tokens/s.

Same method as tools/llama-bench: each test clears the KV cache; pp decodes
``n_prompt`` random tokens (BOS first when the model adds one) in ``n_batch`` chunks;
tg decodes ``n_gen`` single tokens one after another (no sampling), synchronizing
after each; one warmup run first; tokens/s per repetition, then mean and sample
standard deviation. It runs on an ``Engine``, so with the settings the fit engine
planned (context, offload, cache types, flash attention, MoE overrides).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from tui.core.engine.errors import EngineError, GenerationError
from tui.core.engine.metrics import read_perf_counters, reset_perf_counters

if TYPE_CHECKING:  # the CLI reads this module's defaults without loading the engine
    from tui.core.engine.runtime import Engine

DEFAULT_N_PROMPT = 512
DEFAULT_N_GEN = 128
DEFAULT_REPETITIONS = 5


@dataclass(frozen=True)
class BenchResult:
    """One test ("pp512" or "tg128"): tokens/s per repetition, with mean and spread."""

    test: str
    n_prompt: int
    n_gen: int
    samples_seconds: tuple[float, ...]
    llama_tokens_per_s: float  # llama.cpp's own counter over the same repetitions

    @property
    def n_tokens(self) -> int:
        return self.n_prompt + self.n_gen

    @property
    def samples_tokens_per_s(self) -> tuple[float, ...]:
        return tuple(self.n_tokens / s for s in self.samples_seconds)

    @property
    def mean_tokens_per_s(self) -> float:
        return statistics.fmean(self.samples_tokens_per_s)

    @property
    def stddev_tokens_per_s(self) -> float:
        """Sample standard deviation (n-1), as llama-bench prints after the ±."""
        samples = self.samples_tokens_per_s
        return statistics.stdev(samples) if len(samples) > 1 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "test": self.test, "n_prompt": self.n_prompt, "n_gen": self.n_gen,
            "avg_ts": self.mean_tokens_per_s, "stddev_ts": self.stddev_tokens_per_s,
            "samples_ts": list(self.samples_tokens_per_s), "samples_ns": [round(s * 1e9) for s in self.samples_seconds],
            "llama_ts": self.llama_tokens_per_s,
        }


def run_bench(
    engine: Engine,
    *,
    n_prompt: int = DEFAULT_N_PROMPT,
    n_gen: int = DEFAULT_N_GEN,
    repetitions: int = DEFAULT_REPETITIONS,
    warmup: bool = True,
    seed: int = 0,
    cancel: threading.Event | None = None,
    on_progress: Callable[[str, int, int], object] | None = None,
) -> list[BenchResult]:
    """pp``n_prompt`` and tg``n_gen`` (a test is skipped when its count is 0).

    ``on_progress(test, repetition, repetitions)`` is called before each run.
    """
    if repetitions < 1:
        raise EngineError("repetitions (-r) must be at least 1")
    if n_prompt < 0 or n_gen < 0 or n_prompt + n_gen == 0:
        raise EngineError("give a positive prompt (-p) or generation (-n) length")
    for count, flag in ((n_prompt, "-p"), (n_gen, "-n")):
        if count > engine.n_ctx:
            raise EngineError(f"{flag} {count} does not fit the {engine.n_ctx}-token context", hint="raise -c")
    rng = random.Random(seed)
    results = []
    if not engine.busy.acquire(blocking=False):
        raise GenerationError("the engine is busy generating a reply")
    try:
        tests = [("pp", n_prompt, 0), ("tg", 0, n_gen)]
        for kind, p, n in tests:
            if p + n == 0:
                continue
            run = partial(_prompt_run, engine, p, rng) if kind == "pp" else partial(_gen_run, engine, n, rng)
            name = f"{kind}{p or n}"
            if warmup:
                engine.clear_kv()
                _prompt_run(engine, p, rng) if kind == "pp" else _gen_run(engine, 1, rng)
            samples = []
            reset_perf_counters(engine.ctx)
            for rep in range(repetitions):
                if cancel is not None and cancel.is_set():
                    raise EngineError("benchmark cancelled")
                if on_progress is not None:
                    on_progress(name, rep + 1, repetitions)
                engine.clear_kv()
                start = time.perf_counter()
                run()
                samples.append(time.perf_counter() - start)
            perf = read_perf_counters(engine.ctx)
            llama_rate = perf.prompt_tokens_per_s if kind == "pp" else perf.gen_tokens_per_s
            results.append(BenchResult(name, p, n, tuple(samples), llama_rate))
        engine.clear_kv()
        return results
    finally:
        engine.busy.release()


def _random_tokens(engine: Engine, count: int, rng: random.Random, *, first: bool) -> list[int]:
    n_vocab = engine.model.n_vocab
    tokens = [rng.randrange(n_vocab) for _ in range(count)]
    if first and tokens and engine.model.adds_bos:
        tokens[0] = engine.model.bos_token
    return tokens


def _prompt_run(engine: Engine, n_prompt: int, rng: random.Random) -> None:
    import llama_cpp

    n_batch = engine.context.n_batch
    done = 0
    while done < n_prompt:
        count = min(n_batch, n_prompt - done)
        tokens = _random_tokens(engine, count, rng, first=done == 0)
        array = (llama_cpp.llama_token * count)(*tokens)
        code = llama_cpp.llama_decode(engine.ctx, llama_cpp.llama_batch_get_one(array, count))
        if code != 0:
            raise GenerationError(f"prompt batch failed to decode (code {code}; see the log)")
        done += count
    llama_cpp.llama_synchronize(engine.ctx)


def _gen_run(engine: Engine, n_gen: int, rng: random.Random) -> None:
    import llama_cpp

    decode = llama_cpp.llama_decode
    synchronize = llama_cpp.llama_synchronize
    ctx = engine.ctx
    array = (llama_cpp.llama_token * 1)()
    array[0] = engine.model.bos_token if engine.model.adds_bos else rng.randrange(engine.model.n_vocab)
    batch = llama_cpp.llama_batch_get_one(array, 1)
    n_vocab = engine.model.n_vocab
    for _ in range(n_gen):
        code = decode(ctx, batch)
        if code != 0:
            raise GenerationError(f"generation step failed to decode (code {code}; see the log)")
        synchronize(ctx)
        array[0] = rng.randrange(n_vocab)
