"""Per-reply measurements, defined so they can be checked against llama.cpp's own counters.

llama.cpp counts (``llama_perf_context``): prompt tokens evaluated in batches
(``n_p_eval`` over ``t_p_eval_ms``) and single-token decodes (``n_eval`` over
``t_eval_ms``). A reply of N sampled tokens makes N-1 single-token decodes (the last
token is not fed back), so generation speed here is (N-1) tokens over the time from the
first token to the last. Two figures come out of it: ``gen_tokens_per_s`` times only
llama_decode (what llama.cpp's counter measures, so the two can be checked against each
other), ``stream_tokens_per_s`` the whole step the reader sees (sampling and delivery too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_cpp import llama_context_p

#: Why a reply ended.
FINISH_STOP = "stop"                  # the model produced an end-of-generation token
FINISH_LENGTH = "length"              # max_tokens reached
FINISH_CANCELLED = "cancelled"        # the stop event was set
FINISH_CONTEXT_FULL = "context_full"  # no room left in the context window

#: How each finish reason reads to a person (the raw names stay in ``--json``).
FINISH_WORDS = {
    FINISH_STOP: "done",
    FINISH_LENGTH: "reached the token limit (-n)",
    FINISH_CANCELLED: "stopped",
    FINISH_CONTEXT_FULL: "context window full",
}


def describe_finish(reason: str) -> str:
    return FINISH_WORDS.get(reason, reason)


@dataclass(frozen=True)
class PerfCounters:
    """llama.cpp's ``llama_perf_context_data`` for one reply (times in milliseconds).

    llama.cpp reports at least 1 for the counts even when nothing ran.
    """

    n_p_eval: int
    t_p_eval_ms: float
    n_eval: int
    t_eval_ms: float

    @property
    def prompt_tokens_per_s(self) -> float:
        return 1e3 * self.n_p_eval / self.t_p_eval_ms if self.t_p_eval_ms > 0 else 0.0

    @property
    def gen_tokens_per_s(self) -> float:
        return 1e3 * self.n_eval / self.t_eval_ms if self.t_eval_ms > 0 else 0.0


def read_perf_counters(ctx_ptr: llama_context_p) -> PerfCounters:
    import llama_cpp

    data = llama_cpp.llama_perf_context(ctx_ptr)
    return PerfCounters(n_p_eval=data.n_p_eval, t_p_eval_ms=data.t_p_eval_ms,
                        n_eval=data.n_eval, t_eval_ms=data.t_eval_ms)


def reset_perf_counters(ctx_ptr: llama_context_p) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(ctx_ptr)


@dataclass(frozen=True)
class ReplyStats:
    """What one reply cost. Seconds are wall-clock (``time.perf_counter``).

    - ``n_prompt_tokens``: tokens evaluated for this reply's prompt; ``n_cached_tokens``
      more were reused from the previous turn's KV cache.
    - ``prompt_seconds``: time inside llama_decode (+ synchronize) for them, the span
      llama.cpp's ``t_p_eval`` covers.
    - ``ttft_s``: from the request (before templating) to the first sampled token.
    - ``n_gen_tokens``: every sampled token, an end-of-generation token included;
      ``n_decoded_tokens`` of them were fed back (all but the last), taking
      ``decode_seconds`` inside llama_decode (+ synchronize): llama.cpp's ``n_eval`` /
      ``t_eval``. ``n_thinking_tokens`` of them were a reasoning model's thinking
      (``thinking_seconds`` from its first to its last); the rates count every token.
    - ``stream_seconds``: first to last token as the consumer saw them (adds sampling
      and delivery to the decode time).
    """

    n_prompt_tokens: int
    n_cached_tokens: int
    prompt_seconds: float
    ttft_s: float
    n_gen_tokens: int
    n_decoded_tokens: int
    decode_seconds: float
    stream_seconds: float
    total_seconds: float
    finish_reason: str
    n_ctx: int
    n_ctx_used: int
    perf: PerfCounters | None = None
    n_thinking_tokens: int = 0     # of n_gen_tokens, those a reasoning model spent thinking
    thinking_seconds: float = 0.0  # first to last thinking token

    @property
    def prompt_tokens_per_s(self) -> float:
        return self.n_prompt_tokens / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def gen_tokens_per_s(self) -> float:
        """Generation speed as llama.cpp defines it: fed-back tokens over decode time."""
        return self.n_decoded_tokens / self.decode_seconds if self.decode_seconds > 0 else 0.0

    @property
    def stream_tokens_per_s(self) -> float:
        """Tokens/s the reader saw: (N-1) over first-to-last-token time (what ``LiveRate`` shows)."""
        if self.n_gen_tokens < 2 or self.stream_seconds <= 0:
            return 0.0
        return (self.n_gen_tokens - 1) / self.stream_seconds

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["prompt_tokens_per_s"] = self.prompt_tokens_per_s
        data["gen_tokens_per_s"] = self.gen_tokens_per_s
        data["stream_tokens_per_s"] = self.stream_tokens_per_s
        return data


class LiveRate:
    """Tokens/s while a reply streams, for a UI to poll a few times a second.

    Written by the generating thread (``mark``), read by any thread; plain floats and
    ints, so no lock is needed. The rate is (n-1) over first-to-latest-token time,
    the same definition as ``ReplyStats.stream_tokens_per_s``, so the live figure ends
    where the final one does.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n_tokens = 0
        self.t_first = 0.0
        self.t_last = 0.0

    def mark(self, now: float) -> None:
        if self.n_tokens == 0:
            self.t_first = now
        self.t_last = now
        self.n_tokens += 1

    @property
    def tokens_per_s(self) -> float:
        span = self.t_last - self.t_first
        return (self.n_tokens - 1) / span if self.n_tokens >= 2 and span > 0 else 0.0
