"""Measured beats estimated: stored bench runs correct this machine's speed estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fit_models import make_anatomy
from tui.core.fit.bench_feedback import LIMITS, bench_correction
from tui.core.fit.estimate import estimate_fit
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.hardware.speed_store import BenchRecord, bench_records
from tui.core.sizes import GiB

STORIES = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "stories260K.gguf"


def run(key: str, measured: float, estimated: float, stamp: str = "") -> BenchRecord:
    return BenchRecord("box", key, key, {}, measured, None, "2026-01-01T00:00:00Z", estimated, stamp)


def test_the_correction_is_the_median_ratio_over_each_models_latest_run():
    records = [run("a", 50.0, 100.0), run("b", 80.0, 100.0), run("a", 90.0, 100.0), run("c", 70.0, 100.0)]
    got = bench_correction(records, "")
    assert got is not None and got.runs == 3
    assert got.factor == pytest.approx(0.8)  # a's later run (0.9) replaced its first; median of 0.9, 0.8, 0.7


def test_runs_under_another_calibration_or_without_an_estimate_do_not_count():
    records = [run("a", 50.0, 100.0, stamp="old"), run("b", 80.0, 100.0, stamp="new"),
               BenchRecord("box", "c", "c", {}, 10.0, None, "t")]
    got = bench_correction(records, "new")
    assert got is not None and (got.factor, got.runs) == (pytest.approx(0.8), 1)
    assert bench_correction(records[:1], "new") is None
    assert bench_correction([], "") is None


def test_enough_runs_give_this_box_its_own_range():
    few = bench_correction([run("a", 80.0, 100.0), run("b", 100.0, 100.0)], "")
    assert few.spread is None  # two models say too little: the class's published range stays
    got = bench_correction([run("a", 80.0, 100.0), run("b", 100.0, 100.0), run("c", 90.0, 100.0)], "")
    assert got.factor == pytest.approx(0.9) and got.spread == pytest.approx((80 / 90, 100 / 90))
    a = make_anatomy(n_layer=8, n_embd=1024, n_ff=4096)
    cpu = HardwareProfile(name="box", ram_bytes=64 * GiB, ram_bandwidth_gbps=60.0, cpu_threads=8)
    est = estimate_fit(a, cpu.with_changes(speed_correction=got.factor, speed_spread=got.spread),
                       LlamaSettings(n_ctx=1024))
    low, high = est.est_tokens_per_s_range
    assert (low, high) == pytest.approx((est.est_tokens_per_s * 80 / 90, est.est_tokens_per_s * 100 / 90))
    class_only = estimate_fit(a, cpu, LlamaSettings(n_ctx=1024)).est_tokens_per_s_range
    assert class_only is not None and class_only[1] / class_only[0] != pytest.approx(100 / 80)


def test_the_correction_stays_within_its_limits():
    assert bench_correction([run("a", 1.0, 100.0)], "").factor == LIMITS[0]
    assert bench_correction([run("a", 900.0, 100.0)], "").factor == LIMITS[1]


def test_the_correction_applies_to_this_machines_devices_not_to_remote_boxes():
    a = make_anatomy(n_layer=8, n_embd=1024, n_ff=4096)
    cpu = HardwareProfile(name="box", ram_bytes=64 * GiB, ram_bandwidth_gbps=60.0, cpu_threads=8)
    plain = estimate_fit(a, cpu, LlamaSettings(n_ctx=1024))
    slower = estimate_fit(a, cpu.with_changes(speed_correction=0.5, speed_correction_runs=2), LlamaSettings(n_ctx=1024))
    assert slower.est_tokens_per_s == pytest.approx(plain.est_tokens_per_s * 0.5)
    assert slower.to_dict()["speed_correction"] == 0.5 and plain.to_dict()["speed_correction"] is None
    remote = GpuSpec("remote card", 24 * GiB, 900.0, index=0, box="10.0.0.2:50052")
    assert remote.is_remote
    box = cpu.with_changes(gpus=(remote,))
    all_remote = estimate_fit(a, box, LlamaSettings(n_ctx=1024))
    corrected = estimate_fit(a, box.with_changes(speed_correction=0.5), LlamaSettings(n_ctx=1024))
    # the remote card's time is not this machine's to correct: far less than half as fast
    assert corrected.est_tokens_per_s > 0.5 * all_remote.est_tokens_per_s


def test_a_real_bench_run_teaches_fit_what_this_machine_does(capsys):
    """``bench`` stores the run with its estimate; ``fit --gpu auto`` then quotes the measured rate."""
    from tui.cli import main
    from tui.core.hardware.detect import detect_profile

    if not STORIES.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent")
    assert detect_profile().speed_correction == 1.0
    assert main(["bench", str(STORIES), "-p", "0", "-n", "16", "-r", "2", "-c", "256", "--json"]) == 0
    capsys.readouterr()
    fingerprint = str(detect_profile().extra["fingerprint"])
    (record,) = bench_records(fingerprint)
    assert record.tg_tokens_per_s and record.est_tokens_per_s and record.calibrated_at == ""
    ratio = record.tg_tokens_per_s / record.est_tokens_per_s
    profile = detect_profile()
    assert profile.speed_correction_runs == 1
    assert profile.speed_correction == pytest.approx(min(LIMITS[1], max(LIMITS[0], ratio)))
    assert main(["fit", str(STORIES), "--gpu", "auto", "-c", "256", "--depth", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["speed_correction"] == pytest.approx(profile.speed_correction, abs=1e-3)
    if LIMITS[0] < ratio < LIMITS[1]:  # inside the band, fit now quotes what bench measured
        assert out["est_tokens_per_s"] == pytest.approx(record.tg_tokens_per_s, rel=0.01)
    assert any("bench run(s) on this machine" in note for note in out["notes"])
