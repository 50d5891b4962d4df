"""Choose settings that fit, the way llama.cpp's ``--fit`` does (common/fit.cpp ``common_fit_params``).

llama.cpp, given a context, fills GPUs back to front with as many layers as leave its target
margin (1 GiB) free on each, and for MoE models first keeps the expert tensors of some layers
in system RAM (``--n-cpu-moe``) so that every layer's attention runs on the GPU. This module
answers the same questions with ``estimate_fit`` instead of test loads:

* ``max_gpu_layers``: the most layers (``-ngl``) every GPU holds with the margin to spare;
* ``max_context``: the largest context (a multiple of ``step`` tokens) that fits everywhere;
* ``min_cpu_moe``: the fewest leading layers whose experts must stay on the CPU with all
  layers offloaded;
* ``auto_fit`` / ``explain_auto_fit``: those combined: keep what fits, else a shorter context
  (not below 4096 tokens), else ``--n-cpu-moe`` for MoE models, else fewer GPU layers.

Each is a binary search over a quantity memory grows with monotonically (layers offloaded,
context length, expert layers kept on the GPU), checked once more at the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    """The settings ``auto_fit`` chose, the estimate for them, and what it changed (for people)."""

    settings: LlamaSettings
    estimate: FitEstimate
    changes: tuple[str, ...]


def auto_fit(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
             fit_layers: bool = True, fit_context: bool = True, min_context: int = 4096,
             margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> LlamaSettings:
    """Settings adjusted until they fit (see ``explain_auto_fit``); ``settings`` unchanged if they already do."""
    return explain_auto_fit(anatomy, profile, settings, fit_layers=fit_layers, fit_context=fit_context,
                            min_context=min_context, margin_bytes=margin_bytes, projector=projector).settings


def explain_auto_fit(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                     fit_layers: bool = True, fit_context: bool = True, min_context: int = 4096,
                     margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> AutoFit:
    """Adjust ``settings`` until they fit, in llama.cpp ``--fit``'s order of preference.

    1. Unchanged if every device already keeps the margin.
    2. ``fit_context``: a smaller context, down to ``min_context`` tokens (llama.cpp's
       ``--fit-ctx`` default), if that alone fits.
    3. ``fit_layers`` on a MoE model: all layers on the GPU with the experts of the first
       ``--n-cpu-moe`` layers on the CPU, if some count fits.
    4. ``fit_layers``: the most GPU layers that fit.
    """
    changes: list[str] = []
    estimate = estimate_fit(anatomy, profile, settings, margin_bytes=margin_bytes, projector=projector)
    if _all_fit(estimate, margin_bytes):
        return AutoFit(settings, estimate, ())
    if fit_context:
        floor = min(min_context, settings.n_ctx)
        best = max_context(anatomy, profile, settings, limit=settings.n_ctx, margin_bytes=margin_bytes,
                           projector=projector)
        if best >= floor and best < settings.n_ctx:
            settings = settings.with_changes(n_ctx=best)
            changes.append(f"context reduced to {best} tokens")
            estimate = estimate_fit(anatomy, profile, settings, margin_bytes=margin_bytes, projector=projector)
            if _all_fit(estimate, margin_bytes):
                return AutoFit(settings, estimate, tuple(changes))
    if fit_layers and not profile.is_cpu_only and not _gpus_fit(estimate, margin_bytes):
        n_moe = min_cpu_moe(anatomy, profile, settings, margin_bytes, projector)
        if n_moe is not None and not settings.cpu_moe:
            settings = settings.with_changes(n_gpu_layers=None, n_cpu_moe=n_moe)
            changes.append(f"experts of the first {n_moe} layers kept on the CPU (--n-cpu-moe {n_moe}), "
                           "all layers on the GPU")
        else:
            n = max_gpu_layers(anatomy, profile, settings, margin_bytes, projector)
            settings = settings.with_changes(n_gpu_layers=n)
            changes.append(f"{n} of {anatomy.n_layer + 1} layers on the GPU (-ngl {n})")
        estimate = estimate_fit(anatomy, profile, settings, margin_bytes=margin_bytes, projector=projector)
    return AutoFit(settings, estimate, tuple(changes))


def auto_gpu_layers(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                    margin_bytes: int = FIT_MARGIN_BYTES, projector: ProjectorSize | None = None) -> AutoFit:
    """``-ngl auto``: keep the context the user chose and offload what fits.

    Every layer if it all fits; for a MoE model, all layers with the experts of the first
    ``--n-cpu-moe`` layers on the CPU (llama.cpp ``--fit``'s preference: attention stays on
    the GPU); otherwise the most whole layers.
    """
    return explain_auto_fit(anatomy, profile, settings.with_changes(n_gpu_layers=None),
                            fit_context=False, margin_bytes=margin_bytes, projector=projector)
