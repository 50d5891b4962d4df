"""Choose settings that fit, the way llama.cpp's ``--fit`` does (common/fit.cpp ``common_fit_params``).

llama.cpp, given a context, fills GPUs back to front with as many layers as leave its target
margin (1 GiB) free on each, and for MoE models first keeps the expert tensors of some layers
in system RAM (``--n-cpu-moe``) so that every layer's attention runs on the GPU; it shortens the
context first, down to ``--fit-ctx`` (4096 tokens). This module answers the same questions with
``estimate_fit`` instead of test loads:

* ``max_gpu_layers``: the most layers (``-ngl``) every GPU holds with the margin to spare;
* ``max_context``: the largest context (a multiple of ``step`` tokens) that fits everywhere;
* ``min_cpu_moe``: the fewest leading layers whose experts must stay on the CPU with all
  layers offloaded;
* ``explain_auto_fit``: the best plan over context, placement (``offload_levels``) and, where
  allowed, K/V cache types, or what is missing when none fits; ``full_auto_fit`` is the one entry
  the Fit screen's ``a`` and ``localai-tui fit -ngl auto`` share; ``auto_gpu_layers`` keeps a
  context the user typed.

Each is a binary search over a quantity memory grows with monotonically (layers offloaded,
context length, expert layers kept on the GPU); every answer is an estimate that was checked.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from tui.core.errors import LocalAIError
from tui.core.fit.estimate import FIT_MARGIN_BYTES, FitEstimate, estimate_fit
from tui.core.fit.kv_cache import N_CTX_PAD
from tui.core.fit.projector import ProjectorSize
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile


def _gpus_fit(estimate: FitEstimate, margin: int) -> bool:
    return all(d.total_bytes + margin <= d.capacity_bytes for d in estimate.gpu_devices)


def _all_fit(estimate: FitEstimate, margin: int) -> bool:
    return all(d.total_bytes + margin <= d.capacity_bytes for d in estimate.devices)


def _largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """Largest x in [lo, hi] with ok(x), assuming ok is true up to some point and false after; None if ok(lo) fails."""
    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def max_gpu_layers(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                   margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> int:
    """Most layers to offload (0 .. n_layer + 1, output layer counted) with every GPU keeping the margin.

    Only GPU memory limits this (offloading more relieves the host). 0 when not even the
    output layer fits, or without GPUs.
    """
    if profile.is_cpu_only:
        return 0

    def ok(n: int) -> bool:
        return _gpus_fit(estimate_fit(anatomy, profile, settings.with_changes(n_gpu_layers=n),
                                      margin_bytes=margin_bytes, projector=projector), margin_bytes)

    best = _largest(0, anatomy.n_layer + 1, ok)
    return best or 0


def max_context(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                step: int = N_CTX_PAD, limit: int | None = None, margin_bytes: int = FIT_MARGIN_BYTES,
                projector: ProjectorSize | None = None) -> int:
    """Largest context (tokens, a multiple of ``step``, at most ``limit`` or the trained context)
    that fits on every device, GPUs and host, with the margin. 0 if even ``step`` tokens do not."""
    limit = limit or anatomy.n_ctx_train or 131072
    top = max(1, limit // step)

    def ok(k: int) -> bool:
        return _all_fit(estimate_fit(anatomy, profile, settings.with_changes(n_ctx=k * step),
                                     margin_bytes=margin_bytes, projector=projector), margin_bytes)

    best = _largest(1, top, ok)
    return best * step if best else 0


def min_cpu_moe(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> int | None:
    """Fewest leading layers whose expert tensors stay on the CPU (``--n-cpu-moe``) so that every
    layer is on the GPU and every GPU keeps the margin. None when the model has no experts, there
    is no GPU, or it does not fit even with every expert on the CPU."""
    if not anatomy.is_moe or profile.is_cpu_only:
        return None
    base = settings.with_changes(n_gpu_layers=None, cpu_moe=False)

    def fits_with(n: int) -> bool:
        return _gpus_fit(estimate_fit(anatomy, profile, base.with_changes(n_cpu_moe=n),
                                      margin_bytes=margin_bytes, projector=projector), margin_bytes)

    # GPU memory shrinks as n grows: find the smallest n that fits
    lo, hi = 0, anatomy.n_layer
    if not fits_with(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits_with(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass(frozen=True)
class AutoFit:
    """The plan ``explain_auto_fit`` chose, its estimate, what it changed (for people), and, when no
    plan fits, what is missing (``missing``; then ``settings`` is the plan that comes closest)."""

    settings: LlamaSettings
    estimate: FitEstimate
    changes: tuple[str, ...]
    missing: str | None = None

    @property
    def found(self) -> bool:
        """True when the plan keeps the margin on every device."""
        return self.missing is None


# --- the search ----------------------------------------------------------------------------------


def offload_levels(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings) -> list[LlamaSettings]:
    """Every placement the search tries, ordered so that GPU memory grows (and host memory shrinks).

    Dense model: ``-ngl 0 .. n_layer``, then every layer (``-ngl all``). MoE model (unless the
    user keeps every expert on the CPU): first those layer counts with every expert on the CPU,
    then all layers on the GPU with the experts of fewer and fewer leading layers on the CPU
    (``--n-cpu-moe n_layer .. 0``): llama.cpp ``--fit``'s preference, attention on the GPU
    before experts. Without a GPU there is one placement.
    """
    if profile.is_cpu_only:
        return [settings]
    n = anatomy.n_layer
    if not anatomy.is_moe or settings.cpu_moe:
        return [settings.with_changes(n_gpu_layers=k) for k in range(n + 1)] + [settings.with_changes(n_gpu_layers=None)]
    base = settings.with_changes(cpu_moe=False)
    levels = [base.with_changes(n_gpu_layers=k, n_cpu_moe=n) for k in range(n + 1)]
    levels += [base.with_changes(n_gpu_layers=None, n_cpu_moe=m) for m in range(n, -1, -1)]
    return levels


class _Search:
    """Estimates for one model, profile and margin, each computed once (a plan is asked several times)."""

    def __init__(self, anatomy: ModelAnatomy, profile: HardwareProfile, margin: int,
                 projector: ProjectorSize | None = None) -> None:
        self.anatomy, self.profile, self.margin, self.projector = anatomy, profile, margin, projector
        self._seen: dict[LlamaSettings, FitEstimate] = {}

    def estimate(self, settings: LlamaSettings) -> FitEstimate:
        if settings not in self._seen:
            self._seen[settings] = estimate_fit(self.anatomy, self.profile, settings, margin_bytes=self.margin,
                                                projector=self.projector)
        return self._seen[settings]

    def gpus_fit(self, settings: LlamaSettings) -> bool:
        return _gpus_fit(self.estimate(settings), self.margin)

    def all_fit(self, settings: LlamaSettings) -> bool:
        return _all_fit(self.estimate(settings), self.margin)

    def most_offload(self, levels: list[LlamaSettings]) -> int | None:
        """Index of the furthest offload level whose GPUs keep the margin (None: not even the first)."""
        return _largest(0, len(levels) - 1, lambda i: self.gpus_fit(levels[i]))

    def plan_at(self, settings: LlamaSettings, n_ctx: int, fit_layers: bool) -> LlamaSettings | None:
        """The most offloaded plan at ``n_ctx`` that fits everywhere, or None."""
        at = settings.with_changes(n_ctx=n_ctx)
        if not fit_layers:
            return at if self.all_fit(at) else None
        levels = offload_levels(self.anatomy, self.profile, at)
        best = self.most_offload(levels)
        if best is None:
            return None
        # More offload relieves the host: if the most the GPUs hold leaves the host short, so does less.
        return levels[best] if self.all_fit(levels[best]) else None


#: Above the ``min_context`` floor the search grows the context in whole kibitokens (8k, 13k, not 7936).
ROUND_CONTEXT = 1024


def _contexts(limit: int, floor: int, step: int = N_CTX_PAD) -> list[int]:
    """Context sizes the search may pick: multiples of ``step`` (llama.cpp's padding) up to ``floor``,
    multiples of ``ROUND_CONTEXT`` above it, and ``limit`` itself."""
    sizes = [n for n in range(step, limit + 1, step) if n <= floor or n % ROUND_CONTEXT == 0]
    if not sizes or sizes[-1] != limit:
        sizes.append(limit)
    return sizes


def _describe_changes(anatomy: ModelAnatomy, before: LlamaSettings, after: LlamaSettings) -> tuple[str, ...]:
    changes = []
    if after.n_ctx != before.n_ctx:
        changes.append(f"context {after.n_ctx} tokens")
    if (after.cache_type_k, after.cache_type_v) != (before.cache_type_k, before.cache_type_v):
        changes.append(f"K/V cache {after.cache_type_k}/{after.cache_type_v} (-ctk/-ctv)")
    if after.n_gpu_layers != before.n_gpu_layers or after.n_cpu_moe != before.n_cpu_moe:
        total = anatomy.n_layer + 1
        if after.n_gpu_layers is None:
            changes.append(f"all {total} layers on the GPU (-ngl all)")
        else:
            changes.append(f"{after.n_gpu_layers} of {total} layers on the GPU (-ngl {after.n_gpu_layers})")
        if after.n_cpu_moe and not after.cpu_moe:
            changes.append(f"experts of the first {after.n_cpu_moe} layers on the CPU (--n-cpu-moe {after.n_cpu_moe})")
    return tuple(changes)


def _what_is_missing(estimate: FitEstimate, margin: int) -> str:
    """``RAM needs 3.20 GiB more (12.10 GiB with the 1 GiB margin; 8.90 GiB there)`` for each short device."""
    gib = 1024**3
    short = []
    for device in estimate.devices:
        need = device.total_bytes + margin - device.capacity_bytes
        if need > 0:
            where = "RAM" if device.kind == "cpu" else device.name
            short.append(f"{where} needs {need / gib:.2f} GiB more ({(device.total_bytes + margin) / gib:.2f} GiB "
                         f"with the {margin / gib:g} GiB margin; {device.capacity_bytes / gib:.2f} GiB there)")
    return "; ".join(short) or "no device is short"


def explain_auto_fit(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                     fit_layers: bool = True, fit_context: bool = True, min_context: int = 4096,
                     margin_bytes: int = FIT_MARGIN_BYTES,
                     kv_types: tuple[tuple[str, str], ...] = (), projector: ProjectorSize | None = None) -> AutoFit:
    """The best plan that keeps the margin on every device, searched the way llama.cpp ``--fit`` prefers.

    ``settings.n_ctx`` is the most context wanted. With ``fit_context`` the context may shrink
    (a multiple of 256 tokens), with ``fit_layers`` the placement may change (GPU layers, and for
    MoE models the experts of leading layers kept on the CPU: ``offload_levels``). Preference:

    1. the most offload (speed) at ``min_context`` tokens (llama.cpp's ``--fit-ctx`` default),
       then the largest context up to ``settings.n_ctx`` that keeps that offload;
    2. when nothing fits at ``min_context``: the largest smaller context that fits, with the most
       offload there;
    3. ``kv_types``: further (K, V) cache types to try, in order, when the asked ones fit nothing
       (combinations llama.cpp refuses, such as a quantized V cache without flash attention, are
       skipped).

    Never returns a plan that does not fit when one that fits exists (each step is a search over a
    quantity memory grows with monotonically, and the answer is checked). When none fits,
    ``missing`` says which device is short and by how much at the smallest, most offloaded plan.
    """
    search = _Search(anatomy, profile, margin_bytes, projector)
    search.estimate(settings)  # a combination llama.cpp refuses raises here, with its fix
    candidates = [(settings.cache_type_k, settings.cache_type_v)]
    candidates += [kv for kv in kv_types if kv not in candidates]
    for type_k, type_v in candidates:
        start = settings.with_changes(cache_type_k=type_k, cache_type_v=type_v)
        try:
            plan = _best_plan(search, start, fit_layers=fit_layers, fit_context=fit_context, min_context=min_context)
        except LocalAIError:
            continue  # llama.cpp refuses these cache types here
        if plan is not None:
            return AutoFit(plan, search.estimate(plan), _describe_changes(anatomy, settings, plan))
    closest = _closest_plan(search, settings, fit_layers=fit_layers, fit_context=fit_context)
    estimate = search.estimate(closest)
    return AutoFit(closest, estimate, _describe_changes(anatomy, settings, closest),
                   missing=_what_is_missing(estimate, margin_bytes))


def _best_plan(search: _Search, settings: LlamaSettings, *, fit_layers: bool, fit_context: bool,
               min_context: int) -> LlamaSettings | None:
    limit = settings.n_ctx
    if not fit_context:
        return search.plan_at(settings, limit, fit_layers)
    sizes = _contexts(limit, min(min_context, limit))
    floor_index = max(0, bisect_right(sizes, min(min_context, limit)) - 1)
    at_floor = search.plan_at(settings, sizes[floor_index], fit_layers)
    if at_floor is not None:
        # Keep that placement and grow the context as far as it still fits everywhere.
        best = _largest(floor_index, len(sizes) - 1, lambda i: search.all_fit(at_floor.with_changes(n_ctx=sizes[i])))
        assert best is not None  # the floor itself fits
        return at_floor.with_changes(n_ctx=sizes[best])
    if floor_index == 0:
        return None
    below = _largest(0, floor_index - 1, lambda i: search.plan_at(settings, sizes[i], fit_layers) is not None)
    return None if below is None else search.plan_at(settings, sizes[below], fit_layers)


def _closest_plan(search: _Search, settings: LlamaSettings, *, fit_layers: bool, fit_context: bool) -> LlamaSettings:
    """When nothing fits: the smallest context allowed, with as much on the GPUs as they hold."""
    at = settings.with_changes(n_ctx=min(settings.n_ctx, N_CTX_PAD)) if fit_context else settings
    if not fit_layers:
        return at
    levels = offload_levels(search.anatomy, search.profile, at)
    best = search.most_offload(levels)
    return levels[best if best is not None else 0]


def auto_fit(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
             fit_layers: bool = True, fit_context: bool = True, min_context: int = 4096,
             margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> LlamaSettings:
    """The settings of ``explain_auto_fit``'s plan."""
    return explain_auto_fit(anatomy, profile, settings, fit_layers=fit_layers, fit_context=fit_context,
                            min_context=min_context, margin_bytes=margin_bytes, projector=projector).settings


def auto_gpu_layers(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                    margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> AutoFit:
    """``-ngl auto`` with a context the user typed: keep it and offload what fits (``explain_auto_fit``
    without ``fit_context``)."""
    return explain_auto_fit(anatomy, profile, settings.with_changes(n_gpu_layers=None),
                            fit_context=False, margin_bytes=margin_bytes, projector=projector)


def full_auto_fit(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                  margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> AutoFit:
    """The Fit screen's ``a`` and ``localai-tui fit -ngl auto`` without ``-c``: from the model's trained
    context with every layer offered to the GPU, the best plan that fits (one path for both)."""
    trained = anatomy.n_ctx_train if anatomy.n_ctx_train and anatomy.n_ctx_train > 0 else 4096
    start = settings.with_changes(n_ctx=max(N_CTX_PAD, trained), n_gpu_layers=None, n_cpu_moe=0, cpu_moe=False)
    return explain_auto_fit(anatomy, profile, start, margin_bytes=margin_bytes, projector=projector)
