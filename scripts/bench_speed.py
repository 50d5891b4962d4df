#!/usr/bin/env python
"""How right the decode-speed model is on published llama.cpp measurements.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_speed.py             # error tables + cross-validation
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_speed.py --rows      # every row
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_speed.py --fit       # refit the constants (prints them)
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_speed.py --write-ranges   # residual ranges per class

Rows: ../shared/speed/calibration.csv and tests/data/speed_extra.csv (published rows this project
collected, with their sources); both are used to fit. Cross-validation refits the fitted
constants without each group of rows (leave one source out, and 5-fold) and predicts the rows
left out, so its figures say how the model does on measurements it has not seen.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "scripts"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from speed_rows import CALIBRATION, EXTRA, SpeedCase, load_cases  # noqa: E402

from tui.core.fit.estimate import FitEstimate, estimate_fit  # noqa: E402
from tui.core.fit.speed_constants import SpeedConstants, speed_constants  # noqa: E402

RANGES = ROOT / "tui" / "data" / "speed_ranges.toml"


_ESTIMATES: dict[str, object] = {}


def predict(case: SpeedCase, constants: SpeedConstants | None = None) -> tuple[float, str]:
    """(tokens/s, device class) for a case: the app's estimate, or its placement re-timed with ``constants``."""
    key = f"{case.id}:{id(case)}"
    if key not in _ESTIMATES:
        _ESTIMATES[key] = estimate_fit(case.anatomy, case.profile, case.settings, depth=case.depth)
    est = _ESTIMATES[key]
    assert isinstance(est, FitEstimate)
    if constants is None:
        assert est.speed is not None
        return est.est_tokens_per_s, est.speed.speed_class
    from tui.core.fit.speed import decode_speed

    assert est.placement is not None and est.layout is not None
    s = decode_speed(case.profile, est.placement, est.layout, case.depth, anatomy=case.anatomy,
                     n_threads=case.settings.n_threads, constants=constants,
                     pages_from_disk=est.ram_overflow_bytes > 0)
    return s.tokens_per_s, s.speed_class


def ratios(cases: list[SpeedCase], constants: SpeedConstants | None = None) -> list[float]:
    return [predict(c, constants)[0] / c.measured for c in cases]


def summary(rs: list[float]) -> str:
    if not rs:
        return "no rows"
    errs = sorted(abs(r - 1) for r in rs)
    p90 = errs[min(len(errs) - 1, math.ceil(0.9 * len(errs)) - 1)]
    worst = max(rs, key=lambda r: max(r, 1 / r))
    inside = sum(1 for r in rs if 0.5 <= r <= 2)
    return (f"n={len(rs):3d}  median |err| {statistics.median(errs) * 100:5.1f}%  p90 {p90 * 100:5.1f}%  "
            f"worst ratio {worst:5.2f}  within 0.5-2x {inside}/{len(rs)}")


# --- fitting -----------------------------------------------------------------------------------

# (table, key, subkey): the constants the fit may move; each is per backend or per class.
def _params(c: SpeedConstants) -> list[tuple[str, str, str]]:
    out = []
    # CPU fixed costs come from this machine's probe (gpus --calibrate), cpu_server from the
    # literature: the calibration rows cannot separate them.
    for b in ("CUDA", "Metal", "Vulkan", "ROCm"):
        out += [("backend", b, "token_s"), ("backend", b, "layer_s")]
    out += [("backend", "CUDA", "expert_s"), ("backend", "CUDA", "hop_s"), ("backend", "CPU", "expert_s")]
    out += [("efficiency", "gddr", "CUDA"), ("efficiency", "hbm", "CUDA"), ("efficiency", "apple", "Metal"),
            ("efficiency", "apple_ultra", "Metal"), ("efficiency", "unified", "CUDA"), ("efficiency", "cpu", "CPU"),
            ("efficiency", "gddr", "Vulkan"), ("efficiency", "gddr5", "CUDA"), ("efficiency", "gddr", "ROCm")]
    out += [("gpu_ops", f, "") for f in ("float", "legacy", "kquant", "q8")]
    return out


def _get(c: SpeedConstants, p: tuple[str, str, str]) -> float:
    table, key, sub = p
    if table == "backend":
        return float(getattr(c.backends[key], sub))
    if table == "efficiency":
        return c.efficiency[key][sub]
    return c.gpu_ops[key]


def _set(c: SpeedConstants, p: tuple[str, str, str], value: float) -> SpeedConstants:
    table, key, sub = p
    if table == "backend":
        backends = dict(c.backends)
        backends[key] = replace(backends[key], **{sub: value})
        return replace(c, backends=backends)
    if table == "efficiency":
        eff = {k: dict(v) for k, v in c.efficiency.items()}
        eff[key][sub] = min(0.92, value)  # no decode streams more than ~90% of peak
        return replace(c, efficiency=eff)
    ops = dict(c.gpu_ops)
    ops[key] = value
    return replace(c, gpu_ops=ops)


def loss(cases: list[SpeedCase], c: SpeedConstants) -> float:
    """Mean squared log error plus a penalty for leaving 0.5-2x: what the acceptance test cares about."""
    total = 0.0
    for r in ratios(cases, c):
        if r <= 0:
            return float("inf")
        e = math.log(r)
        total += e * e + 4 * max(0.0, abs(e) - math.log(1.6)) ** 2
    return total / max(1, len(cases))


def fit(cases: list[SpeedCase], start: SpeedConstants, rounds: int = 4) -> SpeedConstants:
    """Coordinate descent in log space over the per-class / per-backend constants.

    Rows whose figure includes prompt time (llmfit "bench avg") measure something else than
    decode: they are reported, never fitted.
    """
    cases = [c for c in cases if c.decode_only]
    c = start
    best = loss(cases, c)
    for _ in range(rounds):
        improved = False
        for p in _params(c):
            value = _get(c, p)
            if value <= 0:
                continue
            for factor in (1.5, 1 / 1.5, 1.2, 1 / 1.2, 1.07, 1 / 1.07):
                trial = _set(c, p, value * factor)
                score = loss(cases, trial)
                if score < best - 1e-9:
                    c, best, value, improved = trial, score, value * factor, True
        if not improved:
            break
    return c


def describe(c: SpeedConstants) -> str:
    lines = []
    for name, b in c.backends.items():
        lines.append(f"[backend.{name}] token_us = {b.token_s * 1e6:.0f}  layer_us = {b.layer_s * 1e6:.1f}  "
                     f"expert_us = {b.expert_s * 1e6:.1f}  hop_us = {b.hop_s * 1e6:.0f}")
    for k, v in c.efficiency.items():
        lines.append(f"efficiency.{k} = {{ {', '.join(f'{b} = {x:.2f}' for b, x in v.items())} }}")
    lines.append(f"gpu_ops = {{ {', '.join(f'{k} = {v:.1f}' for k, v in c.gpu_ops.items())} }}")
    return "\n".join(lines)


def cross_validate(cases: list[SpeedCase], folds: list[list[int]], start: SpeedConstants) -> list[float]:
    out: list[float] = [0.0] * len(cases)
    for held in folds:
        train = [c for i, c in enumerate(cases) if i not in held]
        fitted = fit(train, start, rounds=2)
        for i in held:
            out[i] = predict(cases[i], fitted)[0] / cases[i].measured
    return out


def source_folds(cases: list[SpeedCase]) -> list[list[int]]:
    by: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        by.setdefault(c.source.split("/blob/")[0].split("/issues/")[0].split("/pull/")[0], []).append(i)
    return list(by.values())


def kfold(cases: list[SpeedCase], k: int = 5, seed: int = 0) -> list[list[int]]:
    idx = list(range(len(cases)))
    random.Random(seed).shuffle(idx)
    return [idx[i::k] for i in range(k)]


def by_class(cases: list[SpeedCase], rs: list[float]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for case, r in zip(cases, rs, strict=True):
        out.setdefault(predict(case)[1], []).append(r)
    return out


def write_ranges(cases: list[SpeedCase], rs: list[float]) -> None:
    """Residual quantiles per device class (from cross-validated ratios): the ranges the app quotes."""
    lines = ["# Uncertainty of the decode estimate per device class: the 10th-90th percentiles of",
             "# measured/predicted on the published rows, cross-validated (scripts/bench_speed.py",
             "# --write-ranges writes this file). A class with fewer than 10 rows gets at least the pooled",
             "# range of all classes (a few rows cannot show how wrong the model can be). A class with no",
             "# rows has no range: the app says so.", ""]

    def quantiles(inv: list[float]) -> tuple[float, float]:
        inv = sorted(inv)
        return inv[max(0, int(0.1 * len(inv)))], inv[min(len(inv) - 1, int(math.ceil(0.9 * len(inv))) - 1)]

    pooled = quantiles([1 / r for r in rs])
    for cls, values in sorted(by_class(cases, rs).items()):
        inv = [1 / r for r in values]  # measured / predicted
        lo, hi = quantiles(inv)
        if len(inv) < 10:
            lo, hi = min(lo, pooled[0]), max(hi, pooled[1])
        lines.append(f"[{cls}]\nrows = {len(inv)}\nlow = {min(lo, 0.97):.3f}\nhigh = {max(hi, 1.03):.3f}\n")
    RANGES.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RANGES.relative_to(ROOT)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", action="store_true", help="print every row")
    ap.add_argument("--fit", action="store_true", help="refit the constants on the calibration rows and print them")
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation (slow: refits per fold)")
    ap.add_argument("--write-ranges", action="store_true", help="write tui/data/speed_ranges.toml")
    args = ap.parse_args()

    cases = load_cases(CALIBRATION)
    extra = load_cases(EXTRA) if EXTRA.exists() else []
    constants = speed_constants()
    if args.fit:
        fitted = fit(cases + extra, constants, rounds=6)
        print(describe(fitted))
        print("fitted:", summary(ratios(cases, fitted)))
        if extra:
            print("extra rows with the refit:", summary(ratios(extra, fitted)))
        return 0
    rs = ratios(cases)
    if args.rows:
        for case, r in zip(cases + extra, rs + ratios(extra), strict=True):
            print(f"{case.id:5s} {case.device[:34]:34s} {case.anatomy.name[:16]:16s} {case.backend:6s} "
                  f"measured {case.measured:8.2f}  estimated {case.measured * r:8.2f}  ratio {r:5.2f}")
        print()
    print("Decode tokens/s, estimated / measured (llama-bench tg and similar)")
    print(f"calibration.csv          {summary(rs)}")
    for cls, values in sorted(by_class(cases, rs).items()):
        print(f"  class {cls:15s}  {summary(values)}")
    if extra:
        print(f"extra rows (fitted too)  {summary(ratios(extra))}")
        for cls, values in sorted(by_class(extra, ratios(extra)).items()):
            print(f"  class {cls:15s}  {summary(values)}")
    if not args.no_cv:
        both = cases + extra
        loso = cross_validate(both, source_folds(both), constants)
        print(f"leave-one-source-out CV  {summary(loso)}   (calibration + extra rows)")
        k5 = cross_validate(both, kfold(both), constants)
        print(f"5-fold CV                {summary(k5)}   (calibration + extra rows)")
        if args.write_ranges:
            write_ranges(both, k5)
    elif args.write_ranges:
        write_ranges(cases, rs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
