"""Measured next to the estimate: a stored bench run of a model shows in ``compare`` (text and JSON)
only on the box that is this machine, and nothing shows when none is stored."""

from __future__ import annotations

import json

from tui.core.gguf.anatomy import load_anatomy
from tui.core.hardware.measured import measured_speed, measured_text
from tui.core.hardware.speed_store import BenchRecord, anatomy_key, record_bench


def _store_run(model, fingerprint: str, tg: float) -> BenchRecord:
    key = anatomy_key(load_anatomy(model), str(model))
    record = BenchRecord(fingerprint, key, "stories", {"n_ctx": 512}, tg, 20000.0, "2026-01-01T00:00:00Z")
    record_bench(record)
    return record


def _this_machine() -> str:
    from tui.core.hardware.detect import detect_profile

    return str(detect_profile().extra["fingerprint"])


def test_compare_json_shows_the_measured_speed_on_this_machine_only(stories_model, capsys):
    from tui.cli import main

    args = ["compare", str(stories_model), "--gpu", "auto", "--gpu", "RTX 3090", "--json"]
    assert main(args) == 0
    boxes = json.loads(capsys.readouterr().out)["boxes"]
    assert [b["measured_tokens_per_s"] for b in boxes] == [None, None]
    assert main(args[:-1]) == 0
    assert "measured" not in capsys.readouterr().out

    _store_run(stories_model, _this_machine(), 6400.0)
    _store_run(stories_model, "another box", 12.0)
    assert main(args) == 0
    boxes = json.loads(capsys.readouterr().out)["boxes"]
    assert [b["measured_tokens_per_s"] for b in boxes] == [6400.0, None]
    assert boxes[0]["measured_at"] == "2026-01-01T00:00:00Z"
    assert main(args[:-1]) == 0
    text = capsys.readouterr().out
    measured_row = next(line for line in text.splitlines() if line.startswith("measured"))
    assert "6,400 t/s (bench, 2026-01-01)" in measured_row and measured_row.rstrip().endswith("-")


def test_the_latest_run_of_the_same_file_on_the_same_machine_counts(stories_model, tmp_path):
    from tui.core.hardware.devices import HardwareProfile
    from tui.core.sizes import GiB

    here = HardwareProfile(name="here", gpus=(), ram_bytes=8 * GiB, extra={"fingerprint": "box-1"})
    anatomy = load_anatomy(stories_model)
    assert measured_speed(anatomy, stories_model, here) is None
    _store_run(stories_model, "box-1", 5000.0)
    latest = _store_run(stories_model, "box-1", 6123.4)
    assert measured_speed(anatomy, stories_model, here) == latest
    assert measured_text(latest) == "measured 6,123 t/s (bench, 2026-01-01)"
    # another file name (a different model), no file name, or a profile without a fingerprint: nothing
    assert measured_speed(anatomy, tmp_path / "other.gguf", here) is None
    assert measured_speed(anatomy, None, here) is None
    assert measured_speed(anatomy, stories_model, here.with_changes(extra={})) is None
