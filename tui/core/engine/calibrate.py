"""Measure this machine's decode terms with llama.cpp itself (``localai-tui gpus --calibrate``).

Three sparse llama models of known shape (``tui.core.gguf.synthetic``: zeros, decoded at full
cost) are timed on each device with the bench method (tg, fastest of a few repetitions, so a
busy machine's hiccups do not count):

* two tiny models that differ only in their number of layers: the fixed cost per layer and
  per token (kernel launches, thread synchronisation, sampling);
* one model of a few hundred MB (Q4_K, like the models people run): the effective bandwidth
  once the fixed costs are subtracted.

The bytes each probe reads per token come from the app's own speed model (weights, one
embedding row, the KV cache at the probe's depth), so the measured bandwidth plugs straight
back into it. A few seconds per device.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.core.engine.errors import EngineError
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.synthetic import SyntheticShape, write_sparse_llama
from tui.core.hardware.devices import DeviceCalibration, HardwareProfile

#: (name, shape): the layer-cost pair and the bandwidth probe.
PROBES: tuple[tuple[str, SyntheticShape], ...] = (
    # tiny F32 layers (stories260K's width): their cost is the per-layer overhead, not arithmetic
    ("few-layers", SyntheticShape(n_layer=2, n_embd=64, n_ff=128, n_head=4, n_head_kv=4, weight_type="F32")),
    ("many-layers", SyntheticShape(n_layer=18, n_embd=64, n_ff=128, n_head=4, n_head_kv=4, weight_type="F32")),
    ("bandwidth", SyntheticShape(n_layer=8, n_embd=2048, n_ff=8192, n_head=16, n_head_kv=16, weight_type="Q4_K")),
)


@dataclass(frozen=True)
class ProbeTiming:
    name: str
    layers: int  # blocks + the output layer
    bytes_per_token: float
    seconds_per_token: float


def solve_terms(timings: list[ProbeTiming]) -> tuple[float, float, float]:
    """(token seconds, layer seconds, bytes/s) from the three probes.

    The two tiny probes read almost nothing: their difference per layer is the layer cost, and
    the few-layer one's remainder is the token cost; the large probe's remainder is its bytes
    over the bandwidth.
    """
    few, many, big = timings
    layer_s = max(0.0, (many.seconds_per_token - few.seconds_per_token) / max(1, many.layers - few.layers))
    token_s = max(0.0, few.seconds_per_token - few.layers * layer_s)
    streaming = big.seconds_per_token - token_s - big.layers * layer_s
    if streaming <= 0:
        raise EngineError("the bandwidth probe ran faster than its fixed costs: the timings are not usable "
                          "(is the machine busy? try again)")
    return token_s, layer_s, big.bytes_per_token / streaming


def _bytes_per_token(path: Path, profile: HardwareProfile, settings: LlamaSettings, depth: int) -> tuple[int, float]:
    from tui.core.fit.estimate import estimate_fit
    from tui.core.gguf.anatomy import load_anatomy

    anatomy = load_anatomy(path)
    est = estimate_fit(anatomy, profile, settings, depth=depth)
    assert est.speed is not None
    return anatomy.n_layer + 1, float(sum(est.speed.bytes_per_token))


def calibrate_device(profile: HardwareProfile, device: str, *, n_gen: int = 32, repetitions: int = 3,
                     workdir: Path | None = None, n_threads: int | None = None,
                     on_progress: Callable[[str], object] | None = None) -> DeviceCalibration:
    """Measure ``device`` ("CPU" or "GPU<i>") of ``profile`` (this machine)."""
    from tui.core.engine.bench import run_bench
    from tui.core.engine.runtime import Engine
    from tui.core.hardware.speed_store import now_text

    n_gpus = len(profile.gpus)
    if device == "CPU":
        settings = LlamaSettings(n_ctx=256, n_gpu_layers=0, n_threads=n_threads)
    else:
        index = int(device[3:])
        split = tuple(1.0 if i == index else 0.0 for i in range(n_gpus))
        settings = LlamaSettings(n_ctx=256, n_gpu_layers=None, tensor_split=split, n_threads=n_threads)
    with tempfile.TemporaryDirectory(prefix="localai-probe-", dir=workdir) as tmp:
        timings = []
        for name, shape in PROBES:
            if on_progress is not None:
                on_progress(f"{device}: {name} probe")
            path = Path(tmp) / f"{name}.gguf"
            write_sparse_llama(path, shape)
            layers, nbytes = _bytes_per_token(path, profile, settings, n_gen // 2)
            engine = Engine.load(path, settings)
            try:
                results = run_bench(engine, n_prompt=0, n_gen=n_gen, repetitions=repetitions)
            finally:
                engine.close()
            fastest = max(results[0].samples_tokens_per_s)
            timings.append(ProbeTiming(name, layers, nbytes, 1.0 / fastest))
    token_s, layer_s, bandwidth = solve_terms(timings)
    threads = settings.n_threads or profile.cpu_threads or 0
    return DeviceCalibration(device, bandwidth / 1e9, token_s, layer_s, threads if device == "CPU" else 0, now_text())
