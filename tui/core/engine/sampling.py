"""How the next token is chosen: llama.cpp's sampler chain, with llama.cpp's flag names and defaults.

The chain is built in the order llama.cpp's common sampler uses (penalties, top-k,
top-p, min-p, temperature, then a seeded draw), so a reply here matches what
llama-cli would sample with the same settings and seed.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tui.core.engine.errors import EngineError

if TYPE_CHECKING:
    from llama_cpp import llama_vocab_p

#: llama.cpp's ``LLAMA_DEFAULT_SEED``: "pick a random seed".
RANDOM_SEED = 0xFFFFFFFF


@dataclass(frozen=True)
class SamplingSettings:
    """Sampling knobs (``--temp``, ``--top-p``, ``--top-k``, ``--min-p``, ``--repeat-penalty``, ``--seed``, ``-n``).

    ``temperature`` <= 0 means greedy. ``top_k`` 0 and ``top_p``/``min_p`` at their
    neutral values (1.0 / 0.0) switch those filters off. ``repeat_penalty`` 1.0 is off;
    it looks at the last ``repeat_last_n`` tokens. ``seed`` None draws a new seed per
    reply. ``max_tokens`` -1 generates until an end-of-generation token or a full context.
    """

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    seed: int | None = None
    max_tokens: int = -1

    def with_changes(self, **changes: Any) -> SamplingSettings:
        return replace(self, **changes)

    def validate(self) -> None:
        if self.temperature < 0:
            raise EngineError("temperature (--temp) must be 0 or more")
        if not 0.0 <= self.top_p <= 1.0:
            raise EngineError("top-p (--top-p) must be between 0 and 1")
        if self.top_k < 0:
            raise EngineError("top-k (--top-k) must be 0 or more")
        if not 0.0 <= self.min_p <= 1.0:
            raise EngineError("min-p (--min-p) must be between 0 and 1")
        if self.repeat_penalty <= 0:
            raise EngineError("repeat penalty (--repeat-penalty) must be above 0")
        if self.repeat_last_n < 0:
            raise EngineError("repeat window must be 0 or more tokens")
        if self.max_tokens == 0 or self.max_tokens < -1:
            raise EngineError("tokens to generate (-n) must be -1 (no limit) or at least 1")
        if self.seed is not None and not 0 <= self.seed < RANDOM_SEED:
            raise EngineError(f"seed must be between 0 and {RANDOM_SEED - 1}")


class SamplerChain:
    """A llama.cpp sampler chain for one reply; ``sample`` reads the context's last logits."""

    def __init__(self, settings: SamplingSettings, vocab: llama_vocab_p) -> None:
        import llama_cpp

        settings.validate()
        self.settings = settings
        self.seed = settings.seed if settings.seed is not None else random.randrange(RANDOM_SEED)
        chain_params = llama_cpp.llama_sampler_chain_default_params()
        chain_params.no_perf = False
        chain = llama_cpp.llama_sampler_chain_init(chain_params)
        self.ptr = chain
        self._finalizer = weakref.finalize(self, llama_cpp.llama_sampler_free, chain)
        add = llama_cpp.llama_sampler_chain_add
        if settings.repeat_penalty != 1.0 and settings.repeat_last_n > 0:
            n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
            add(chain, llama_cpp.llama_sampler_init_penalties(n_vocab, settings.repeat_last_n, settings.repeat_penalty, 0.0, 0.0))
        if settings.temperature <= 0:
            add(chain, llama_cpp.llama_sampler_init_greedy())
            return
        if settings.top_k > 0:
            add(chain, llama_cpp.llama_sampler_init_top_k(settings.top_k))
        if settings.top_p < 1.0:
            add(chain, llama_cpp.llama_sampler_init_top_p(settings.top_p, 1))
        if settings.min_p > 0.0:
            add(chain, llama_cpp.llama_sampler_init_min_p(settings.min_p, 1))
        add(chain, llama_cpp.llama_sampler_init_temp(settings.temperature))
        add(chain, llama_cpp.llama_sampler_init_dist(self.seed))

    def accept(self, tokens: Iterable[int]) -> None:
        """Feed tokens the model has seen (the prompt) so the repeat penalty covers them."""
        import llama_cpp

        for token in tokens:
            llama_cpp.llama_sampler_accept(self.ptr, token)

    def close(self) -> None:
        self._finalizer()
