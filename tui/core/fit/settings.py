"""The llama.cpp settings a model runs with: one definition for the estimate and the engine.

The fit engine (``tui.core.fit.estimate``) assumes these values and the in-process engine
(``tui.core.engine``) loads models with them, so "will it fit" answers the run the
app will actually make. Field names follow llama.cpp's own flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

#: K/V cache types llama.cpp accepts for ``-ctk``/``-ctv`` (``kv_cache_types`` in common/arg.cpp).
KV_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")

FLASH_ATTN_MODES = ("auto", "on", "off")

#: llama.cpp's ``LLM_FFN_EXPS_REGEX`` (common/common.h): the MoE expert tensors.
FFN_EXPS_REGEX = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"

#: Context the app proposes when the user has not chosen one (tokens).
DEFAULT_N_CTX = 4096

#: llama.cpp reads -c, -b, -ub, -t, -ngl ... with ``std::stoi`` (common/arg.cpp): an int32.
MAX_INT32 = 2**31 - 1
#: ggml.h ``GGML_MAX_N_THREADS``: the thread pool's hard limit (more crashes ggml).
GGML_MAX_N_THREADS = 512
#: More CPU threads than this many per logical core only make llama.cpp slower (threads spin on barriers).
THREADS_PER_CORE_LIMIT = 4


def max_threads() -> int:
    """The most ``-t`` threads worth asking for on this machine (and never past ggml's limit)."""
    import os

    return min(GGML_MAX_N_THREADS, THREADS_PER_CORE_LIMIT * (os.cpu_count() or 1))


@dataclass(frozen=True)
class TensorOverride:
    """One ``-ot PATTERN=BUFFER`` rule: tensors whose name matches ``pattern`` (re.search) go to ``buffer``.

    ``buffer`` is ``CPU`` or a device name such as ``CUDA0``; llama.cpp tries rules in
    order and the first match wins.
    """

    pattern: str
    buffer: str = "CPU"

    def to_arg(self) -> str:
        return f"{self.pattern}={self.buffer}"

    @classmethod
    def parse(cls, text: str) -> list[TensorOverride]:
        """Parse llama.cpp's ``-ot`` value: ``PAT=BUF[,PAT=BUF...]``."""
        rules = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            pattern, sep, buffer = part.rpartition("=")
            if not sep or not pattern or not buffer:
                raise ValueError(f"override '{part}' is not PATTERN=BUFFER (e.g. 'exps=CPU')")
            rules.append(cls(pattern, buffer))
        return rules


@dataclass(frozen=True)
class LlamaSettings:
    """What llama.cpp is asked to do: context, offload, cache types, batches, MoE offload.

    ``n_gpu_layers`` None means every layer plus the output layer (``-ngl 999``).
    ``n_ctx`` is in tokens; ``tensor_split`` holds one proportion per GPU (``-ts``),
    empty meaning "proportional to free memory", as llama.cpp does.
    """

    n_ctx: int = DEFAULT_N_CTX
    n_gpu_layers: int | None = None
    cache_type_k: str = "f16"
    cache_type_v: str = "f16"
    flash_attn: str = "auto"
    n_batch: int = 2048
    n_ubatch: int = 512
    swa_full: bool = False
    cpu_moe: bool = False
    n_cpu_moe: int = 0
    overrides: tuple[TensorOverride, ...] = field(default_factory=tuple)
    tensor_split: tuple[float, ...] = field(default_factory=tuple)
    n_threads: int | None = None
    use_mmap: bool = True
    n_seq_max: int = 1

    def with_changes(self, **changes: Any) -> LlamaSettings:
        return replace(self, **changes)

    def effective_overrides(self) -> tuple[TensorOverride, ...]:
        """The ``-ot`` rules llama.cpp ends up with, in its order (first match wins).

        ``--cpu-moe`` and ``--n-cpu-moe N`` are shorthands that common/arg.cpp turns
        into override rules; explicit ``-ot`` rules come first.
        """
        rules = list(self.overrides)
        if self.cpu_moe:
            rules.append(TensorOverride(FFN_EXPS_REGEX, "CPU"))
        for layer in range(self.n_cpu_moe):
            rules.append(TensorOverride(rf"blk\.{layer}{FFN_EXPS_REGEX}", "CPU"))
        return tuple(rules)

    def validate(self) -> None:
        """Raise ValueError with a message a user can act on.

        Ranges are what llama.cpp accepts, with its meanings: ``n_ctx`` 0 is the model's trained
        context; ``n_ubatch`` above ``n_batch`` is lowered to it (``llama_context``), as there.
        """
        if not 0 <= self.n_ctx <= MAX_INT32:
            raise ValueError(f"context size (-c) must be 0 (the model's trained context) to {MAX_INT32} tokens")
        if self.n_gpu_layers is not None and not 0 <= self.n_gpu_layers <= MAX_INT32:
            raise ValueError("GPU layers (-ngl) must be 0 or more")
        for name in ("cache_type_k", "cache_type_v"):
            value = getattr(self, name)
            if value not in KV_CACHE_TYPES:
                raise ValueError(f"unknown KV cache type '{value}'; choose from {', '.join(KV_CACHE_TYPES)}")
        if self.flash_attn not in FLASH_ATTN_MODES:
            raise ValueError("flash attention (-fa) must be on, off or auto")
        if not (1 <= self.n_ubatch <= MAX_INT32 and 1 <= self.n_batch <= MAX_INT32):
            raise ValueError(f"batch sizes (-b, -ub) must be 1 to {MAX_INT32}")
        if not 0 <= self.n_cpu_moe <= MAX_INT32:
            raise ValueError("--n-cpu-moe must be 0 or more")
        if any(not math.isfinite(p) or p < 0 for p in self.tensor_split) or (
                self.tensor_split and not sum(self.tensor_split) > 0):
            raise ValueError("tensor split (-ts) proportions must be finite, not negative, and not all 0")
        if self.n_threads is not None and not 1 <= self.n_threads <= max_threads():
            raise ValueError(f"threads (-t) must be 1 to {max_threads()} on this machine "
                             f"({THREADS_PER_CORE_LIMIT} per logical core, at most ggml's {GGML_MAX_N_THREADS})")
        if not 1 <= self.n_seq_max <= 256:  # src/llama-cparams.h LLAMA_MAX_SEQ
            raise ValueError("parallel sequences must be 1 to 256")
