"""How sure the speed estimate is: a range from the model's residuals for the device's class.

``tui/data/speed_ranges.toml`` holds, per device class, the 10th and 90th percentiles of
measured/estimated decode speed on the published calibration rows, cross-validated (written by
``scripts/bench_speed.py --write-ranges``). A class without rows has no range, and says so.
"""

from __future__ import annotations

from functools import lru_cache

from tui.core.toml_io import read_packaged_toml

#: Said instead of a range when no published measurement covers the device's class.
NO_DATA = "no published measurements for this class of device: unchecked"


@lru_cache(maxsize=1)
def _ranges() -> dict[str, tuple[float, float, int]]:
    data = read_packaged_toml("speed_ranges.toml")
    return {k: (float(v["low"]), float(v["high"]), int(v["rows"])) for k, v in data.items()}


def speed_range(tokens_per_s: float, speed_class: str) -> tuple[float, float] | None:
    """(low, high) tokens/s around an estimate for ``speed_class``; None when the class has no data."""
    entry = _ranges().get(speed_class)
    if entry is None or tokens_per_s <= 0:
        return None
    low, high, _ = entry
    return tokens_per_s * low, tokens_per_s * high


def format_speed(tokens_per_s: float, speed_class: str, span: tuple[float, float] | None = None) -> str:
    """``~45 t/s (38-52)``, or with a note when the class is unchecked. ``span``: a range already
    worked out (``FitEstimate.est_tokens_per_s_range``), else the class's."""
    if tokens_per_s <= 0:
        return "unknown"
    digits = 0 if tokens_per_s >= 10 else 1 if tokens_per_s >= 1 else 2
    span = span or speed_range(tokens_per_s, speed_class)
    if span is None:
        return f"~{tokens_per_s:.{digits}f} t/s (no data for this device class)"
    return f"~{tokens_per_s:.{digits}f} t/s ({span[0]:.{digits}f}-{span[1]:.{digits}f})"
