"""What this machine measured: the speed probe's terms (``gpus --calibrate``) and every bench run.

Both live in the app's data directory (platformdirs), keyed by a hardware fingerprint, so a
measurement is only ever applied to the machine that made it:

* ``speed_calibration.toml``: per fingerprint, the measured effective bandwidth and fixed costs of
  each device (``DeviceCalibration``); ``detect_profile`` attaches them to "this machine".
* ``bench_runs.jsonl``: one JSON object per ``bench`` run (CLI and TUI): fingerprint, model key
  (file name, size, file type), settings and the measured pp/tg tokens/s; ``fit`` and ``compare``
  show "measured N t/s" next to the estimate when one matches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.hardware.devices import DeviceCalibration, GpuSpec
from tui.core.paths import data_dir

CALIBRATION_FILE = "speed_calibration.toml"
BENCH_FILE = "bench_runs.jsonl"


def calibration_path() -> Path:
    return data_dir() / CALIBRATION_FILE


def bench_path() -> Path:
    return data_dir() / BENCH_FILE


def machine_fingerprint(cpu_name: str, physical_cores: int, ram_bytes: int, gpus: Sequence[GpuSpec]) -> str:
    """A stable key for this hardware: CPU, core count, RAM (GiB) and the GPUs with their backends."""
    cards = ",".join(f"{g.name}@{g.backend}:{g.vram_bytes >> 30}" for g in gpus) or "no-gpu"
    return f"{cpu_name.strip()}|{physical_cores}c|{round(ram_bytes / 2**30)}GiB|{cards}"


# --- calibration --------------------------------------------------------------------------------


def save_calibration(fingerprint: str, devices: Sequence[DeviceCalibration]) -> Path:
    """Replace this machine's measured terms (other machines' entries are kept)."""
    from tui.core.toml_io import read_toml, write_toml_atomically

    path = calibration_path()
    data = read_toml(path)
    machines = data.get("machine", [])
    machines = [m for m in machines if isinstance(m, dict) and m.get("fingerprint") != fingerprint]
    machines.append({"fingerprint": fingerprint, "device": [_calibration_entry(d) for d in devices]})
    header = "# Measured by 'localai-tui gpus --calibrate' on each machine; the speed model uses them there.\n"
    return write_toml_atomically(path, {"machine": machines}, header)


def load_calibration(fingerprint: str) -> tuple[DeviceCalibration, ...]:
    """The measured terms of the machine with ``fingerprint`` (empty when never calibrated or unreadable)."""
    from tui.core.toml_io import read_toml

    try:
        data = read_toml(calibration_path())
    except LocalAIError:
        return ()
    for machine in data.get("machine", []):
        if isinstance(machine, dict) and machine.get("fingerprint") == fingerprint:
            try:
                return tuple(_calibration(d) for d in machine.get("device", []))
            except (KeyError, TypeError, ValueError):
                return ()
    return ()


def _calibration_entry(device: DeviceCalibration) -> dict[str, Any]:
    entry = asdict(device)
    entry["type_gbps"] = dict(device.type_gbps)  # a TOML table: {Q4_K = 9.6, ...}
    return entry


def _calibration(entry: dict[str, Any]) -> DeviceCalibration:
    rates = entry.get("type_gbps", {})
    if not isinstance(rates, dict):
        raise ValueError("type_gbps is not a table")
    out = DeviceCalibration(str(entry["device"]), float(entry["bandwidth_gbps"]), float(entry["token_s"]),
                            float(entry["layer_s"]), int(entry.get("threads", 0)), str(entry.get("measured_at", "")),
                            tuple((str(k).upper(), float(v)) for k, v in rates.items()))
    if not (out.bandwidth_gbps > 0 and out.token_s >= 0 and out.layer_s >= 0
            and all(v > 0 for _, v in out.type_gbps)):
        raise ValueError("implausible calibration")
    return out


# --- bench runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchRecord:
    """One stored ``bench`` run."""

    fingerprint: str
    model_key: str
    model_name: str
    settings: dict[str, Any]
    tg_tokens_per_s: float | None
    pp_tokens_per_s: float | None
    measured_at: str
    #: the speed model's tg estimate for the same model, settings and depth when the run was made,
    #: with the calibration then in force and no bench correction (``tui.core.fit.bench_feedback``)
    est_tokens_per_s: float | None = None
    calibrated_at: str = ""  # ``measured_at`` of that calibration ("" when the machine was not calibrated)


def model_key(file_name: str, size_bytes: int, file_type: int | None) -> str:
    """Which model a measurement is for: file name, size and type (a re-quantized file is another model)."""
    return f"{Path(file_name).name}|{size_bytes}|{file_type}"


def record_bench(record: BenchRecord) -> Path:
    """Append one run to ``bench_runs.jsonl``."""
    path = bench_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(record)) + "\n")
    except OSError as exc:
        raise LocalAIError(f"cannot write {path}: {exc}") from None
    return path


def bench_records(fingerprint: str) -> list[BenchRecord]:
    """Every readable run the machine ``fingerprint`` stored, oldest first (bad lines are skipped)."""
    try:
        lines = bench_path().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    records = []
    for line in lines:
        try:
            entry = json.loads(line)
            record = BenchRecord(**entry)
        except (ValueError, TypeError):
            continue
        if record.fingerprint == fingerprint:
            records.append(record)
    return records


def latest_bench(fingerprint: str, key: str) -> BenchRecord | None:
    """The most recent run of model ``key`` on the machine ``fingerprint`` that measured tg."""
    for record in reversed(bench_records(fingerprint)):
        if record.model_key == key and record.tg_tokens_per_s:
            return record
    return None


def now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def anatomy_key(anatomy: Any, file_name: str) -> str:
    """``model_key`` for a loaded anatomy (``ModelAnatomy``) read from ``file_name``."""
    return model_key(file_name, int(anatomy.file_size or anatomy.tensor_bytes), anatomy.file_type)
