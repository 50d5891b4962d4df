"""Measure this machine's decode terms with llama.cpp itself (``localai-tui gpus --calibrate``).

Sparse llama models of known shape (``tui.core.gguf.synthetic``: zeros, decoded at full cost)
are timed on each device with the bench method (tg, fastest of a few repetitions, so a busy
machine's hiccups do not count):

* two tiny F32 models that differ only in their number of layers: the fixed cost per layer and
  per token (graph nodes, thread barriers, sampling; their few bytes sit in cache);
* one model of a few hundred MB per weight type people run (``[calibration] probe_types`` in
  ``tui/data/speed.toml``): the rate decode streams that type at once the fixed costs are
  subtracted. On a GPU or a many-core CPU every type runs near the memory bandwidth; on a CPU
  with few cores each type's dot-product kernel binds, and the rates differ by 2-3x (this
  project's 2-core Xeon: Q4_K 9.6, Q6_K 17, Q8_0 17, F16 25 GB/s), which is why one
  "bandwidth" figure predicted a mostly-Q8_0 0.5B model 30% too slow.

The bytes each probe reads per token come from the app's own speed model (weights, one
embedding row, the KV cache at the probe's depth), so the measured rates plug straight back
into it. About ten seconds per device.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.core.engine.errors import EngineError
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.synthetic import SyntheticShape, write_sparse_llama
from tui.core.hardware.devices import DeviceCalibration, HardwareProfile

#: The layer-cost pair: tiny F32 layers (stories260K's width) whose cost is the per-layer
#: overhead, not arithmetic.
LAYER_PROBES: tuple[tuple[str, SyntheticShape], ...] = (
    ("few-layers", SyntheticShape(n_layer=2, n_embd=64, n_ff=128, n_head=4, n_head_kv=4, weight_type="F32")),
    ("many-layers", SyntheticShape(n_layer=18, n_embd=64, n_ff=128, n_head=4, n_head_kv=4, weight_type="F32")),
)


def rate_probe(weight_type: str) -> SyntheticShape:
    """The streaming probe for one weight type: 4 layers of a 1-3B model's width (150-540 MB)."""
    return SyntheticShape(n_layer=4, n_embd=2048, n_ff=8192, n_head=16, n_head_kv=16, weight_type=weight_type)


def probes(weight_types: Sequence[str]) -> tuple[tuple[str, SyntheticShape], ...]:
    """Every probe a device is timed with: the layer pair, then one per weight type."""
    return LAYER_PROBES + tuple((t, rate_probe(t)) for t in weight_types)


@dataclass(frozen=True)
class ProbeTiming:
    name: str
    layers: int  # blocks + the output layer
    bytes_per_token: float
    seconds_per_token: float
    weight_type: str = ""  # the rate probes' type; "" for the layer pair


@dataclass(frozen=True)
class SolvedTerms:
    token_s: float
    layer_s: float
    type_gbps: tuple[tuple[str, float], ...]  # per probed type, in probe order

    @property
    def bandwidth_gbps(self) -> float:
        """The headline rate: Q4_K's (the type most people run), else the first probe's."""
        rates = dict(self.type_gbps)
        return rates.get("Q4_K", self.type_gbps[0][1])


def solve_terms(timings: Sequence[ProbeTiming], *, float_type: str = "F16") -> SolvedTerms:
    """Token and layer seconds plus a rate per weight type from the probes' timings.

    The tiny pair's difference per layer, less the bytes those layers stream (at the float
    probe's rate: their weights are F32), is the layer cost; the few-layer probe's remainder is the
    token cost. Each rate probe's time less those fixed costs is its bytes over its rate. The
    two depend on each other only through the tiny probes' few bytes, so two passes settle them.
    """
    few, many, *rated = timings
    if not rated:
        raise EngineError("the speed probe needs at least one streaming probe")
    terms = _solve_pass(few, many, rated, 0.0)  # first pass: the tiny probes' bytes cost nothing
    float_rate = dict(terms.type_gbps).get(float_type, terms.type_gbps[0][1]) * 1e9
    return _solve_pass(few, many, rated, float_rate)


def _solve_pass(few: ProbeTiming, many: ProbeTiming, rated: Sequence[ProbeTiming], float_rate: float) -> SolvedTerms:
    def streamed(nbytes: float) -> float:
        return nbytes / float_rate if float_rate > 0 else 0.0

    extra_layers = max(1, many.layers - few.layers)
    per_layer = (many.seconds_per_token - few.seconds_per_token) / extra_layers
    layer_s = max(0.0, per_layer - streamed((many.bytes_per_token - few.bytes_per_token) / extra_layers))
    token_s = max(0.0, few.seconds_per_token - few.layers * layer_s - streamed(few.bytes_per_token))
    rates = []
    for probe in rated:
        streaming = probe.seconds_per_token - token_s - probe.layers * layer_s
        if streaming <= 0:
            raise EngineError(f"the {probe.weight_type or probe.name} probe ran faster than its fixed costs: "
                              "the timings are not usable (is the machine busy? try again)")
        rates.append((probe.weight_type or probe.name, probe.bytes_per_token / streaming / 1e9))
    return SolvedTerms(token_s, layer_s, tuple(rates))


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
    from tui.core.fit.speed_constants import speed_constants

    with tempfile.TemporaryDirectory(prefix="localai-probe-", dir=workdir) as tmp:
        timings = []
        for name, shape in probes(speed_constants().probe_types):
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
                path.unlink(missing_ok=True)
            fastest = max(results[0].samples_tokens_per_s)
            rated = shape.weight_type if (name, shape) not in LAYER_PROBES else ""
            timings.append(ProbeTiming(name, layers, nbytes, 1.0 / fastest, rated))
    terms = solve_terms(timings)
    threads = settings.n_threads or profile.cpu_threads or 0
    return DeviceCalibration(device, terms.bandwidth_gbps, terms.token_s, terms.layer_s,
                             threads if device == "CPU" else 0, now_text(), terms.type_gbps)
