"""Learning from this box: the probe's arithmetic, the sparse probe models, the stores, and fit showing a measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.core.engine.calibrate import PROBES, ProbeTiming, solve_terms
from tui.core.gguf.anatomy import load_anatomy
from tui.core.gguf.synthetic import SyntheticShape, write_sparse_llama
from tui.core.hardware.devices import DeviceCalibration
from tui.core.hardware.speed_store import (
    BenchRecord,
    anatomy_key,
    latest_bench,
    load_calibration,
    machine_fingerprint,
    record_bench,
    save_calibration,
)
from tui.core.sizes import GiB

STORIES = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "stories260K.gguf"


def test_solve_terms_recovers_the_fixed_costs_and_the_bandwidth():
    token, layer, bandwidth = 150e-6, 8e-6, 20e9

    def timing(name, layers, nbytes):
        return ProbeTiming(name, layers, nbytes, token + layers * layer + nbytes / bandwidth)

    got = solve_terms([timing("few", 3, 1e5), timing("many", 19, 1e5), timing("big", 9, 3e8)])
    assert got[0] == pytest.approx(token + 1e5 / bandwidth, rel=0.01)
    assert got[1] == pytest.approx(layer, rel=0.01)
    assert got[2] == pytest.approx(bandwidth, rel=0.01)
    with pytest.raises(Exception, match="not usable"):
        solve_terms([timing("few", 3, 1e5), timing("many", 19, 1e5), ProbeTiming("big", 9, 3e8, 1e-6)])


def test_the_probe_models_are_sparse_llamas_of_the_size_they_claim(tmp_path):
    for name, shape in PROBES:
        path = tmp_path / f"{name}.gguf"
        nbytes = write_sparse_llama(path, shape)
        anatomy = load_anatomy(path)
        assert anatomy.architecture == "llama" and anatomy.n_layer == shape.n_layer
        assert anatomy.tensor_bytes == nbytes
        assert path.stat().st_blocks * 512 < nbytes or nbytes < 1024 * 1024  # a hole, not data
    with pytest.raises(ValueError):
        write_sparse_llama(tmp_path / "bad.gguf", SyntheticShape(n_layer=0, n_embd=64, n_ff=64))


def test_calibration_is_stored_per_machine_and_this_machine_uses_it():
    from tui.core.hardware.detect import detect_profile

    here = detect_profile()
    fingerprint = here.extra["fingerprint"]
    assert here.calibration == ()
    measured = (DeviceCalibration("CPU", 12.5, 2e-4, 1e-5, 2, "2026-01-01T00:00:00Z"),)
    save_calibration("another box", (DeviceCalibration("CPU", 99.0, 1e-4, 1e-5),))
    save_calibration(fingerprint, measured)
    assert load_calibration(fingerprint) == measured
    assert load_calibration("another box")[0].bandwidth_gbps == 99.0
    calibrated = detect_profile()
    assert calibrated.calibration == measured
    assert machine_fingerprint("X", 8, 64 * GiB, ()) != machine_fingerprint("X", 8, 32 * GiB, ())


def test_fit_shows_the_measured_speed_of_this_model_on_this_machine(capsys):
    from tui.cli import main
    from tui.core.hardware.detect import detect_profile

    if not STORIES.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent")
    assert main(["fit", str(STORIES), "--gpu", "auto", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["measured_tokens_per_s"] is None
    anatomy = load_anatomy(STORIES)
    key = anatomy_key(anatomy, str(STORIES))
    fingerprint = str(detect_profile().extra["fingerprint"])
    record_bench(BenchRecord(fingerprint, key, "stories", {"n_ctx": 512}, 6400.0, 20000.0, "2026-01-01T00:00:00Z"))
    record_bench(BenchRecord("elsewhere", key, "stories", {}, 1.0, None, "2026-01-02T00:00:00Z"))
    assert latest_bench(fingerprint, key).tg_tokens_per_s == 6400.0
    assert main(["fit", str(STORIES), "--gpu", "auto", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["measured_tokens_per_s"] == 6400.0
    assert main(["fit", str(STORIES), "--gpu", "auto"]) == 0
    assert "measured 6,400 t/s (bench, 2026-01-01) on this machine" in capsys.readouterr().out
    # a catalog profile is not this machine: no measurement shown
    assert main(["fit", str(STORIES), "--gpu", "RTX 3090", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["measured_tokens_per_s"] is None
