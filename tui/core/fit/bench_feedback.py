"""Measured beats estimated: this machine's bench runs correct its speed estimate.

Every stored ``bench`` run (CLI and TUI) keeps, next to the tg tokens/s it measured, the
estimate the speed model gave for the same model, settings and depth at that moment, with the
calibration then in force and no correction (``estimate_for_run``). The ratio of the two is how
far the model's terms are off for this box on the models its owner actually runs: kernels the
probe did not time, the thread count, background load. ``bench_correction`` takes the median
ratio over the latest run of each recent model, counting only runs made under the current
calibration (a new ``gpus --calibrate`` starts over), and ``detect_profile`` attaches it to "this
machine", where ``decode_speed`` divides the local devices' times by it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.hardware.speed_store import BenchRecord

if TYPE_CHECKING:
    from tui.core.engine.bench import BenchResult

#: Models (their latest run each) the correction is taken over: recent enough to describe the box as it is.
MAX_MODELS = 8
#: The correction never leaves this band: a ratio beyond it means the run measured something else
#: (a model on another device, a machine busy with something else), not a wrong term.
LIMITS = (0.5, 2.0)
#: Runs (models) before this box's own residuals replace the class's range: fewer say too little.
MIN_SPREAD_RUNS = 3


@dataclass(frozen=True)
class SpeedCorrection:
    factor: float  # measured / estimated tokens/s
    runs: int  # models it was taken over
    #: (low, high) of measured / corrected estimate over those runs once there are ``MIN_SPREAD_RUNS``:
    #: the range this box's estimates carry instead of the device class's published residuals
    spread: tuple[float, float] | None = None


def with_bench_correction(profile: HardwareProfile) -> HardwareProfile:
    """``profile`` with the correction its stored bench runs teach, when it is this machine (a
    fingerprint in ``extra``); any other profile is returned as it is."""
    from tui.core.hardware.speed_store import bench_records

    fingerprint = profile.extra.get("fingerprint")
    if not fingerprint:
        return profile
    correction = bench_correction(bench_records(str(fingerprint)), profile.calibration_stamp)
    if correction is None:
        return profile.with_changes(speed_correction=1.0, speed_correction_runs=0, speed_spread=None)
    return profile.with_changes(speed_correction=correction.factor, speed_correction_runs=correction.runs,
                                speed_spread=correction.spread)


def estimate_for_run(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                     n_gen: int) -> float | None:
    """The uncorrected tg estimate for a bench run of ``n_gen`` tokens from an empty cache (depth n_gen/2)."""
    from tui.core.errors import LocalAIError
    from tui.core.fit.estimate import estimate_fit

    try:
        est = estimate_fit(anatomy, profile.with_changes(speed_correction=1.0, speed_correction_runs=0,
                                                         speed_spread=None),
                           settings, depth=max(0, n_gen // 2))
    except LocalAIError:
        return None
    return est.est_tokens_per_s or None


def bench_correction(records: Sequence[BenchRecord], calibrated_at: str) -> SpeedCorrection | None:
    """The median measured/estimated ratio over the latest run of each of the last ``MAX_MODELS`` models."""
    latest: dict[str, float] = {}
    for record in records:  # oldest first: a later run of a model replaces the earlier one
        if record.calibrated_at != calibrated_at or not record.tg_tokens_per_s or not record.est_tokens_per_s:
            continue
        ratio = record.tg_tokens_per_s / record.est_tokens_per_s
        if ratio > 0:
            latest.pop(record.model_key, None)
            latest[record.model_key] = ratio
    ratios = list(latest.values())[-MAX_MODELS:]
    if not ratios:
        return None
    factor = min(LIMITS[1], max(LIMITS[0], statistics.median(ratios)))
    spread = None
    if len(ratios) >= MIN_SPREAD_RUNS:
        spread = (min(1.0, min(ratios) / factor), max(1.0, max(ratios) / factor))
    return SpeedCorrection(factor, len(ratios), spread)


def store_bench_run(path: str, settings: LlamaSettings, results: Sequence[BenchResult]) -> str | None:
    """Keep one bench run of the model at ``path`` (``tui.core.engine.bench`` results) for this machine,
    with the estimate it is later compared with; the file written, or None when it cannot be kept."""
    from tui.core.errors import LocalAIError
    from tui.core.gguf.anatomy import load_anatomy
    from tui.core.hardware.detect import detect_profile
    from tui.core.hardware.speed_store import anatomy_key, now_text, record_bench

    tg_run = next((r for r in results if r.n_gen and not r.n_prompt), None)
    pp_run = next((r for r in results if r.n_prompt and not r.n_gen), None)
    tg = tg_run.mean_tokens_per_s if tg_run is not None else None
    pp = pp_run.mean_tokens_per_s if pp_run is not None else None
    try:
        anatomy = load_anatomy(path)
        profile = detect_profile()
        estimate = estimate_for_run(anatomy, profile, settings, tg_run.n_gen) if tg_run is not None else None
        record = BenchRecord(str(profile.extra["fingerprint"]), anatomy_key(anatomy, path), anatomy.name or "", {
            "n_ctx": settings.n_ctx, "n_gpu_layers": settings.n_gpu_layers, "flash_attn": settings.flash_attn,
            "cache_type_k": settings.cache_type_k, "cache_type_v": settings.cache_type_v,
            "n_cpu_moe": settings.n_cpu_moe, "cpu_moe": settings.cpu_moe, "n_threads": settings.n_threads,
        }, tg, pp, now_text(), estimate, profile.calibration_stamp)
        return str(record_bench(record))
    except (LocalAIError, OSError, KeyError):
        return None
