"""Measured beats estimated: this machine's bench runs, stored and found again for a model.

One path for every screen and command: ``bench`` (CLI) and the Fit screen's bench key store a run
with ``tui.core.fit.bench_feedback.store_bench_run``; ``fit``, ``compare``, the Fit screen and the Advisor find the latest
run of the same model on the same machine with ``measured_speed`` and show it next to the
estimate with ``measured_text``. A run only ever applies to the machine that made it (the hardware
fingerprint that ``detect_profile`` puts in the profile's ``extra``), so a catalog profile or
another box never shows this machine's figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.hardware.speed_store import BenchRecord, anatomy_key, latest_bench

if TYPE_CHECKING:
    from tui.core.gguf.anatomy import ModelAnatomy
    from tui.core.hardware.devices import HardwareProfile


def profile_fingerprint(profile: HardwareProfile | None) -> str | None:
    """The hardware fingerprint of ``profile`` when it is this machine as detected, else None."""
    if profile is None:
        return None
    fingerprint = profile.extra.get("fingerprint")
    return str(fingerprint) if fingerprint else None


def measured_speed(anatomy: ModelAnatomy, file_name: str | Path | None,
                   profile: HardwareProfile | None) -> BenchRecord | None:
    """The latest bench run of this model (``file_name``: its file, local or on the Hub, named as
    stored) on the machine ``profile`` is, or None (not this machine, no file name, never benched)."""
    fingerprint = profile_fingerprint(profile)
    if fingerprint is None or not file_name:
        return None
    return latest_bench(fingerprint, anatomy_key(anatomy, str(file_name)))


def measured_text(record: BenchRecord) -> str:
    """``measured 6,400 t/s (bench, 2026-01-01)``: the generation rate and the day it was measured."""
    rate = record.tg_tokens_per_s or 0.0
    shown = f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"
    return f"measured {shown} t/s (bench, {record.measured_at[:10]})"
