"""Tokens/s and memory as the context grows, on one box: where the cliffs are.

A longer context costs twice: the KV cache grows (memory), and every generated token reads
the cache of the tokens before it (speed). On a GPU box there is a third effect: once the
cache no longer fits beside the weights, layers (or a MoE model's experts) move to system RAM
and speed falls off a cliff. The sweep asks the fit engine at each context step with the
best placement for that context (``tui.core.advisor.placement``), or with a fixed placement
when the person set one, so the curve shows where those cliffs are.

Steps double from 512 tokens up to the model's trained context (which is always the last step).

``depth_sweep`` asks the other question for one context: how decode speed falls as the cache
fills (llama-bench's ``-d``): the placement chosen for that context, quoted at depths 0, 512,
1024 ... up to the context itself, because each generated token reads the whole cache before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.advisor.placement import BestPlacement, best_placement
from tui.core.errors import LocalAIError
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.verdict import Verdict
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile

#: First context step (tokens): below this the prompt alone rarely fits.
FIRST_STEP = 512
#: Context assumed when a model does not say what it was trained for (tokens).
UNKNOWN_TRAINED_CONTEXT = 131072


@dataclass(frozen=True)
class SweepPoint:
    """One context step: its placement and what it costs. Sizes in bytes, speed in tokens/s."""

    n_ctx: int  # tokens asked for
    placement: BestPlacement | None  # None when llama.cpp would refuse this context
    error: str | None = None
    fill_s: float | None = None  # time to first token for a prompt that fills the context (RAG, long files)

    @property
    def fits(self) -> bool:
        return self.placement is not None and self.placement.fits

    @property
    def tokens_per_s(self) -> float:
        return self.placement.tokens_per_s if self.placement is not None else 0.0

    @property
    def gpu_bytes(self) -> int:
        return self.placement.gpu_bytes if self.placement is not None else 0

    @property
    def host_bytes(self) -> int:
        return self.placement.host_bytes if self.placement is not None else 0

    @property
    def kv_bytes(self) -> int:
        return self.placement.estimate.kv_cache_bytes if self.placement is not None else 0

    @property
    def verdict(self) -> Verdict:
        return self.placement.verdict if self.placement is not None else Verdict.REFUSED

    @property
    def offloaded(self) -> bool:
        """Part of the model runs from system RAM although the box has a GPU (the slow side of a cliff)."""
        if self.placement is None or not self.placement.estimate.gpu_devices:
            return False
        estimate = self.placement.estimate
        return estimate.n_gpu_layers < estimate.n_layers_total or self.placement.n_cpu_moe > 0 \
            or self.placement.all_experts_on_cpu

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n_ctx": self.n_ctx, "verdict": self.verdict, "fits": self.fits}
        if self.placement is None:
            out["error"] = self.error
            return out
        estimate = self.placement.estimate
        out.update({
            "est_tokens_per_s": round(self.tokens_per_s, 2),
            "gpu_bytes": self.gpu_bytes,
            "host_bytes": self.host_bytes,
            "kv_cache_bytes": self.kv_bytes,
            "n_gpu_layers": estimate.n_gpu_layers,
            "n_layers_total": estimate.n_layers_total,
            "n_cpu_moe": self.placement.n_cpu_moe,
            "est_fill_s": round(self.fill_s, 3) if self.fill_s is not None else None,
            "llama_cpp_args": list(estimate.llama_cpp_args),
        })
        return out


def sweep_contexts(n_ctx_train: int, *, first: int = FIRST_STEP) -> list[int]:
    """Doubling context steps from ``first`` up to the trained context, which ends the list."""
    limit = n_ctx_train if n_ctx_train and n_ctx_train > 0 else UNKNOWN_TRAINED_CONTEXT
    steps = []
    n = first
    while n < limit:
        steps.append(n)
        n *= 2
    steps.append(limit)
    return steps


def context_sweep(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                  contexts: Sequence[int] | None = None, search: bool = True) -> list[SweepPoint]:
    """The estimate at every context step (default ``sweep_contexts``), other settings as given."""
    steps = list(contexts) if contexts is not None else sweep_contexts(anatomy.n_ctx_train)
    if not steps or any(n < 1 for n in steps):
        raise LocalAIError("the context sweep needs context sizes of at least 1 token")
    points = []
    for n_ctx in steps:
        try:
            placement = best_placement(anatomy, profile, settings.with_changes(n_ctx=n_ctx), search=search)
        except LocalAIError as exc:
            points.append(SweepPoint(n_ctx, None, str(exc)))
            continue
        points.append(SweepPoint(n_ctx, placement, fill_s=fill_seconds(anatomy, profile, placement)))
    return points


def fill_seconds(anatomy: ModelAnatomy, profile: HardwareProfile, placement: BestPlacement) -> float | None:
    """Time to first token when the prompt fills the whole context with that placement
    (``tui.core.fit.speed_prompt``: attention grows with the tokens already read)."""
    from tui.core.fit.estimate import estimate_fit

    n_ctx = placement.estimate.n_ctx
    try:
        est = estimate_fit(anatomy, profile, placement.settings, prompt_tokens=max(1, n_ctx))
    except LocalAIError:
        return None
    return est.est_ttft_s if est.est_ttft_s > 0 else None


def longest_fitting(points: Sequence[SweepPoint]) -> SweepPoint | None:
    """The longest context step that fits (None when none does)."""
    fitting = [p for p in points if p.fits]
    return max(fitting, key=lambda p: p.n_ctx) if fitting else None


@dataclass(frozen=True)
class DepthPoint:
    """Decode speed (tokens/s) with ``depth`` tokens already in the KV cache, and its range."""

    depth: int
    tokens_per_s: float
    tokens_per_s_range: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        span = self.tokens_per_s_range
        return {"depth": self.depth, "est_tokens_per_s": round(self.tokens_per_s, 2),
                "est_tokens_per_s_range": [round(x, 2) for x in span] if span else None}


def sweep_depths(n_ctx: int, *, first: int = FIRST_STEP) -> list[int]:
    """0, then doubling depths from ``first`` up to ``n_ctx``, which ends the list."""
    if n_ctx < 1:
        raise LocalAIError("the depth sweep needs a context of at least 1 token")
    steps = [0]
    n = first
    while n < n_ctx:
        steps.append(n)
        n *= 2
    steps.append(n_ctx)
    return steps


def depth_sweep(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                depths: Sequence[int] | None = None, search: bool = True) -> tuple[BestPlacement, list[DepthPoint]]:
    """The placement for ``settings`` (its context included) and its decode speed at every depth
    (default ``sweep_depths`` of that context). Raises ``LocalAIError`` when llama.cpp would refuse
    the settings."""
    from tui.core.fit.estimate import estimate_fit

    placement = best_placement(anatomy, profile, settings, search=search)
    steps = list(depths) if depths is not None else sweep_depths(placement.estimate.n_ctx)
    if any(d < 0 for d in steps):
        raise LocalAIError("a depth is a number of tokens, 0 or more")
    points = []
    for depth in steps:
        estimate = estimate_fit(anatomy, profile, placement.settings, depth=depth)
        points.append(DepthPoint(depth, estimate.est_tokens_per_s, estimate.est_tokens_per_s_range))
    return placement, points
