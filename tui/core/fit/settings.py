"""The llama.cpp settings a model runs with: one definition for the estimate and the engine.

The fit engine (``tui.core.fit.estimate``) assumes these values and the in-process engine
(``tui.core.engine``) loads models with them, so "will it fit" answers the run the
app will actually make. Field names follow llama.cpp's own flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: K/V cache types llama.cpp accepts for ``-ctk``/``-ctv`` (``kv_cache_types`` in common/arg.cpp).
KV_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")

FLASH_ATTN_MODES = ("auto", "on", "off")

#: llama.cpp's ``LLM_FFN_EXPS_REGEX`` (common/common.h): the MoE expert tensors.
FFN_EXPS_REGEX = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"

#: Context the app proposes when the user has not chosen one (tokens).
DEFAULT_N_CTX = 4096


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
        """Raise ValueError with a message a user can act on."""
        if self.n_ctx < 0:
            raise ValueError("context size (-c) must be 0 (the model's trained context) or more tokens")
        if self.n_gpu_layers is not None and self.n_gpu_layers < 0:
            raise ValueError("GPU layers (-ngl) must be 0 or more")
        for name in ("cache_type_k", "cache_type_v"):
            value = getattr(self, name)
            if value not in KV_CACHE_TYPES:
                raise ValueError(f"unknown KV cache type '{value}'; choose from {', '.join(KV_CACHE_TYPES)}")
        if self.flash_attn not in FLASH_ATTN_MODES:
            raise ValueError("flash attention (-fa) must be on, off or auto")
        if self.n_ubatch < 1 or self.n_batch < 1:
            raise ValueError("batch sizes (-b, -ub) must be at least 1")
        if self.n_cpu_moe < 0:
            raise ValueError("--n-cpu-moe must be 0 or more")
        if any(p < 0 for p in self.tensor_split):
            raise ValueError("tensor split (-ts) proportions must not be negative")
