"""Learning from this box: the probe's arithmetic, the sparse probe models, the stores, and fit showing a measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.core.engine.calibrate import ProbeTiming, probes, solve_terms
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


def test_solve_terms_recovers_the_fixed_costs_and_a_rate_per_type():
    token, layer, float_rate, q4_rate = 150e-6, 8e-6, 25e9, 10e9

    def timing(name, layers, nbytes, rate, weight_type=""):
        return ProbeTiming(name, layers, nbytes, token + layers * layer + nbytes / rate, weight_type)

    tiny = [timing("few", 3, 1e5, float_rate), timing("many", 19, 5e5, float_rate)]
    got = solve_terms([*tiny, timing("q4", 5, 3e8, q4_rate, "Q4_K"), timing("f16", 5, 5e8, float_rate, "F16")])
    assert got.token_s == pytest.approx(token, rel=0.01)
    assert got.layer_s == pytest.approx(layer, rel=0.01)
    assert dict(got.type_gbps) == pytest.approx({"Q4_K": 10.0, "F16": 25.0}, rel=0.01)
    assert got.bandwidth_gbps == pytest.approx(10.0, rel=0.01)  # the headline figure is Q4_K's
    with pytest.raises(Exception, match="Q4_K probe ran faster"):
        solve_terms([*tiny, ProbeTiming("q4", 5, 3e8, 1e-6, "Q4_K")])
    with pytest.raises(Exception, match="at least one"):
        solve_terms(tiny)


def test_the_probe_models_are_sparse_llamas_of_the_size_they_claim(tmp_path):
    from tui.core.fit.speed_constants import speed_constants

    for name, shape in probes(speed_constants().probe_types):
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
    measured = (DeviceCalibration("CPU", 12.5, 2e-4, 1e-5, 2, "2026-01-01T00:00:00Z",
                                  (("Q4_K", 12.5), ("Q8_0", 17.0))),)
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


def test_the_probe_runs_on_this_cpu_and_fit_then_uses_its_rates(tmp_path):
    """A short real probe (few tokens, one repetition): every type gets a rate, and the stored
    calibration changes what ``fit --gpu auto`` says for a model of a probed type."""
    from tui.core.engine.calibrate import calibrate_device
    from tui.core.fit.estimate import estimate_fit
    from tui.core.fit.settings import LlamaSettings
    from tui.core.fit.speed_constants import speed_constants
    from tui.core.hardware.detect import detect_profile

    here = detect_profile()
    cpu = calibrate_device(here, "CPU", n_gen=4, repetitions=1, workdir=tmp_path)
    assert [t for t, _ in cpu.type_gbps] == list(speed_constants().probe_types)
    assert all(rate > 0 for _, rate in cpu.type_gbps) and cpu.layer_s >= 0 and cpu.token_s >= 0
    assert list(tmp_path.iterdir()) == []  # the probe files are gone
    save_calibration(str(here.extra["fingerprint"]), (cpu,))
    calibrated = detect_profile()
    assert calibrated.calibration == (cpu,)
    if STORIES.exists():
        anatomy = load_anatomy(STORIES)
        est = estimate_fit(anatomy, calibrated, LlamaSettings(n_ctx=256), depth=2)
        assert est.speed is not None and est.speed.measured_terms and est.est_tokens_per_s > 0
