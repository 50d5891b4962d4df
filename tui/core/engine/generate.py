"""The token loop: evaluate a prompt, then sample, deliver and feed back one token at a time.

It runs on whatever thread calls it (a UI runs it in a worker thread) and checks the
stop event after every token, so a stop takes effect within one token. Text is
delivered through ``on_text`` as soon as a token completes a UTF-8 character; each token goes
through ``ReplyChannels``, which keeps template markers (``<|im_end|>``, ``<start_of_image>``) out
of the text and sends a reasoning model's thinking to ``on_thinking`` instead.
"""

from __future__ import annotations

import codecs
import ctypes
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tui.core.engine.errors import GenerationError
from tui.core.engine.metrics import (
    FINISH_CANCELLED,
    FINISH_CONTEXT_FULL,
    FINISH_LENGTH,
    FINISH_STOP,
    LiveRate,
    ReplyStats,
    read_perf_counters,
    reset_perf_counters,
)
from tui.core.engine.reply_channels import ReplyChannels, is_marker
from tui.core.engine.runtime import Engine
from tui.core.engine.sampling import SamplerChain, SamplingSettings


@dataclass(frozen=True)
class Generation:
    """A finished (or stopped) reply: its answer, its thinking, the sampled token ids, and what it cost."""

    text: str
    tokens: tuple[int, ...]
    stats: ReplyStats
    thinking: str = ""

    @property
    def finish_reason(self) -> str:
        return self.stats.finish_reason


def generate(
    engine: Engine,
    prompt_tokens: Sequence[int],
    sampling: SamplingSettings | None = None,
    *,
    stop: threading.Event | None = None,
    on_text: Callable[[str], object] | None = None,
    live: LiveRate | None = None,
    t_request: float | None = None,
    channels: ReplyChannels | None = None,
) -> Generation:
    """Generate a continuation of ``prompt_tokens`` (which must fit the context).

    ``t_request`` (``time.perf_counter()``) is when the user asked, for time-to-first-token;
    it defaults to now. Reuses the KV cache prefix the engine already holds. ``channels`` sorts
    the tokens into answer and thinking (default: everything but markers is answer, to ``on_text``).
    """
    import llama_cpp

    sampling = sampling or SamplingSettings()
    t_request = time.perf_counter() if t_request is None else t_request
    if channels is None:
        channels = ReplyChannels(on_text)
    if not engine.busy.acquire(blocking=False):
        raise GenerationError("the engine is already generating a reply")
    try:
        if len(prompt_tokens) >= engine.n_ctx:
            raise GenerationError(f"the prompt ({len(prompt_tokens)} tokens) does not fit the {engine.n_ctx}-token context")
        model = engine.model
        ctx = engine.ctx
        sampler = SamplerChain(sampling, model.vocab)
        try:
            if sampling.repeat_penalty != 1.0:
                sampler.accept(prompt_tokens[-sampling.repeat_last_n:] if sampling.repeat_last_n else ())
            if live is not None:
                live.reset()
            reset_perf_counters(ctx)

            n_cached = engine.keep_prefix(prompt_tokens)
            to_evaluate = prompt_tokens[n_cached:]
            prompt = engine.evaluate(to_evaluate, stop)
            if not prompt.completed:
                now = time.perf_counter()
                return _result(engine, channels, [], n_cached, len(engine.kv_tokens) - n_cached, prompt.seconds,
                               t_request, now, now, 0, 0.0, FINISH_CANCELLED)

            # The hot loop: local names, one ctypes call per step, no per-token allocation.
            sample = llama_cpp.llama_sampler_sample
            decode = llama_cpp.llama_decode
            synchronize = llama_cpp.llama_synchronize
            is_eog = llama_cpp.llama_vocab_is_eog
            to_piece = llama_cpp.llama_token_to_piece
            token_attr = llama_cpp.llama_vocab_get_attr
            markers: dict[int, bool] = {}  # token id -> is a template marker, learnt on first sight
            feed = channels.token
            clock = time.perf_counter
            vocab = model.vocab
            chain = sampler.ptr
            piece_buf = ctypes.create_string_buffer(256)
            token_array = (llama_cpp.llama_token * 1)()
            batch = llama_cpp.llama_batch_get_one(token_array, 1)
            utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
            kv_tokens = engine.kv_tokens
            n_ctx = engine.n_ctx
            max_tokens = sampling.max_tokens if sampling.max_tokens > 0 else None
            tokens: list[int] = []
            t_first = t_last = 0.0
            n_decoded = 0
            decode_seconds = 0.0
            finish = FINISH_STOP
            while True:
                token = sample(chain, ctx, -1)
                t_last = clock()
                if not tokens:
                    t_first = t_last
                tokens.append(token)
                if live is not None:
                    live.mark(t_last)
                if is_eog(vocab, token):
                    finish = FINISH_STOP
                    break
                n = to_piece(vocab, token, piece_buf, 256, 0, True)
                raw = piece_buf.raw[:n] if n > 0 else (_long_piece(vocab, token, -n) if n < 0 else b"")
                marker = markers.get(token)
                if marker is None:
                    marker = markers[token] = is_marker(token_attr(vocab, token), raw.decode("utf-8", "replace"))
                if marker:
                    feed(raw.decode("utf-8", "replace"), True, t_last)
                else:
                    feed(utf8.decode(raw), False, t_last)
                if max_tokens is not None and len(tokens) >= max_tokens:
                    finish = FINISH_LENGTH
                    break
                if stop is not None and stop.is_set():
                    finish = FINISH_CANCELLED
                    break
                if len(kv_tokens) >= n_ctx:
                    finish = FINISH_CONTEXT_FULL
                    break
                token_array[0] = token
                t_decode = clock()
                code = decode(ctx, batch)
                synchronize(ctx)
                decode_seconds += clock() - t_decode
                if code == 1:
                    finish = FINISH_CONTEXT_FULL
                    break
                if code != 0:
                    raise GenerationError(f"llama_decode failed with code {code} after {len(tokens)} tokens (see the log)")
                kv_tokens.append(token)
                n_decoded += 1
            tail = utf8.decode(b"", final=True)
            if tail:
                feed(tail, False, t_last)
            return _result(engine, channels, tokens, n_cached, len(to_evaluate), prompt.seconds,
                           t_request, t_first, t_last, n_decoded, decode_seconds, finish)
        finally:
            sampler.close()
    finally:
        engine.busy.release()


def _long_piece(vocab: object, token: int, size: int) -> bytes:
    """A token whose text is longer than the usual buffer (llama_token_to_piece returned -size)."""
    import llama_cpp

    buffer = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_token_to_piece(vocab, token, buffer, size, 0, True)
    return buffer.raw[:n] if n > 0 else b""


def _result(engine: Engine, channels: ReplyChannels, tokens: list[int], n_cached: int, n_evaluated: int, prompt_seconds: float,
            t_request: float, t_first: float, t_last: float, n_decoded: int, decode_seconds: float,
            finish: str) -> Generation:
    stats = ReplyStats(
        n_prompt_tokens=n_evaluated,
        n_cached_tokens=n_cached,
        prompt_seconds=prompt_seconds,
        ttft_s=(t_first - t_request) if tokens else 0.0,
        n_gen_tokens=len(tokens),
        n_decoded_tokens=n_decoded,
        decode_seconds=decode_seconds,
        stream_seconds=t_last - t_first if tokens else 0.0,
        total_seconds=time.perf_counter() - t_request,
        finish_reason=finish,
        n_ctx=engine.n_ctx,
        n_ctx_used=len(engine.kv_tokens),
        perf=read_perf_counters(engine.ctx),
        n_thinking_tokens=channels.n_thinking_tokens,
        thinking_seconds=channels.thinking_seconds,
    )
    return Generation(text=channels.answer, tokens=tuple(tokens), stats=stats, thinking=channels.thinking)
