#!/usr/bin/env python
"""How fast and how right the fit engine is: latency of estimate_fit / auto_fit, accuracy vs llama.cpp.

Run from the repository root:

    .venv/bin/python scripts/bench_fit.py            # latency + accuracy tables
    .venv/bin/python scripts/bench_fit.py --quick    # fewer calls, fewer accuracy rows
    .venv/bin/python scripts/bench_fit.py --compute-grid > ../notes/compute_grid.md

Models come from ``tests/gguf_factory.py``: real-size header-only files (sparse: they take
no disk and llama.cpp sizes them without reading a weight) and small complete models, plus
``../shared/models/stories260K.gguf`` when present. llama.cpp's figures come from
``tests/llama_truth.py`` (exact bytes from ``llama_get_memory_breakdown``). Everything runs
on the CPU; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.gguf_factory import PRESETS, SMALL_SPECS, make_header_only, make_model  # noqa: E402
from tests.llama_truth import FitComparison, LlamaLoadError, compare_fit, measure_llama  # noqa: E402
from tui.core.fit.autofit import explain_auto_fit  # noqa: E402
from tui.core.fit.estimate import estimate_fit  # noqa: E402
from tui.core.fit.settings import LlamaSettings  # noqa: E402
from tui.core.gguf.anatomy import load_anatomy  # noqa: E402
from tui.core.hardware.devices import GpuSpec, HardwareProfile  # noqa: E402
from tui.core.sizes import GiB, MiB  # noqa: E402

STORIES = ROOT.parent / "shared" / "models" / "stories260K.gguf"

CPU_ONLY = HardwareProfile(name="CPU only, 64 GiB", gpus=(), ram_bytes=64 * GiB, ram_bandwidth_gbps=60.0)
ONE_GPU = HardwareProfile(
    name="RTX 4090 24 GiB + 64 GiB",
    gpus=(GpuSpec(name="NVIDIA GeForce RTX 4090", vram_bytes=24 * GiB, bandwidth_gbps=1008.0),),
    ram_bytes=64 * GiB, ram_bandwidth_gbps=60.0,
)
TWO_GPUS = HardwareProfile(
    name="2x RTX 3090 24 GiB + 128 GiB",
    gpus=(GpuSpec(name="NVIDIA GeForce RTX 3090", vram_bytes=24 * GiB, bandwidth_gbps=936.0, index=0),
          GpuSpec(name="NVIDIA GeForce RTX 3090", vram_bytes=24 * GiB, bandwidth_gbps=936.0, index=1)),
    ram_bytes=128 * GiB, ram_bandwidth_gbps=80.0,
)

#: (model, settings) rows of the accuracy table; presets are sized as a non-mmap load (no_alloc).
PRESET_ROWS = [
    ("llama-3.1-8b-q4_k_m", LlamaSettings(n_ctx=8192)),
    ("llama-3.1-8b-q4_k_m", LlamaSettings(n_ctx=32768, cache_type_k="q8_0", cache_type_v="q8_0", flash_attn="on")),
    ("llama-3.1-70b-q4_k_m", LlamaSettings(n_ctx=8192)),
    ("llama-3.1-70b-q4_k_m", LlamaSettings(n_ctx=32768, flash_attn="off", n_ubatch=2048)),
    ("qwen3-30b-a3b-q4_k_m", LlamaSettings(n_ctx=16384)),
    ("qwen3-30b-a3b-q4_k_m", LlamaSettings(n_ctx=40960, cache_type_k="q4_0", cache_type_v="q4_0")),
    ("gemma-3-27b-q4_k_m", LlamaSettings(n_ctx=8192)),
    ("gemma-3-27b-q4_k_m", LlamaSettings(n_ctx=32768, swa_full=True)),
    ("gpt-oss-120b-mxfp4", LlamaSettings(n_ctx=16384)),
    ("gpt-oss-120b-mxfp4", LlamaSettings(n_ctx=131072, flash_attn="off")),
    ("deepseek-v2-lite-q4_k_m", LlamaSettings(n_ctx=8192)),
    ("deepseek-v2-lite-q4_k_m", LlamaSettings(n_ctx=32768, cache_type_k="q8_0", cache_type_v="q8_0")),
]
SMALL_ROWS = [
    LlamaSettings(n_ctx=1000, n_ubatch=128, flash_attn="on"),
    LlamaSettings(n_ctx=4096, flash_attn="off"),
    LlamaSettings(n_ctx=2048, cache_type_k="q8_0", cache_type_v="q8_0", swa_full=True),
]


def settings_label(s: LlamaSettings) -> str:
    parts = [f"c{s.n_ctx}", f"ub{s.n_ubatch}", f"fa:{s.flash_attn}"]
    if (s.cache_type_k, s.cache_type_v) != ("f16", "f16"):
        parts.append(f"kv:{s.cache_type_k}/{s.cache_type_v}")
    if s.swa_full:
        parts.append("swa_full")
    if not s.use_mmap:
        parts.append("no-mmap")
    return " ".join(parts)


# --- latency -------------------------------------------------------------------------------------


def _stats_ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return (f"mean {statistics.fmean(samples) * 1e3:7.3f}  median {statistics.median(samples) * 1e3:7.3f}  "
            f"p99 {p99 * 1e3:7.3f}  max {samples[-1] * 1e3:7.3f} ms")


def _time_calls(fn, args_for_call, n: int) -> list[float]:
    samples = []
    for i in range(n):
        args = args_for_call(i)
        start = time.perf_counter()
        fn(*args)
        samples.append(time.perf_counter() - start)
    return samples


def bench_latency(anatomies: dict, calls: int) -> None:
    print(f"\n(a) estimate_fit latency, {calls} calls per row (ms)")
    print("    'same': identical settings each call; 'slider': a different context each call (256..131072 tokens),"
          " as a context slider drags; 'ngl': a different -ngl each call")
    for name, anatomy in anatomies.items():
        for profile in (CPU_ONLY, ONE_GPU, TWO_GPUS):
            base = LlamaSettings(n_ctx=8192, n_gpu_layers=None if profile.gpus else 0)
            start = time.perf_counter()
            estimate_fit(anatomy, profile, base)
            cold = (time.perf_counter() - start) * 1e3
            same = _time_calls(estimate_fit, lambda i, a=anatomy, p=profile, b=base: (a, p, b), calls)
            slider = _time_calls(estimate_fit, lambda i, a=anatomy, p=profile, b=base: (a, p, b.with_changes(
                n_ctx=256 + (i * 7919) % 131072)), calls)
            rows = [("same", same), ("slider", slider)]
            if profile.gpus:
                ngl = _time_calls(estimate_fit, lambda i, a=anatomy, p=profile, b=base: (a, p, b.with_changes(
                    n_gpu_layers=i % (a.n_layer + 2))), calls)
                rows.append(("ngl", ngl))
            print(f"  {name:<24} {profile.name:<30} first call {cold:7.2f} ms")
            for label, samples in rows:
                print(f"      {label:<7} {_stats_ms(samples)}")


def bench_auto_fit(anatomies: dict, calls: int) -> None:
    print(f"\n(b) auto_fit latency, {calls} calls per row (ms), and what it chose")
    cases = [(name, profile, ctx) for name in anatomies for profile, ctx in ((ONE_GPU, 32768), (TWO_GPUS, 131072))]
    for name, profile, n_ctx in cases:
        anatomy = anatomies[name]
        settings = LlamaSettings(n_ctx=n_ctx)
        result = explain_auto_fit(anatomy, profile, settings)
        samples = _time_calls(explain_auto_fit, lambda i, a=anatomy, p=profile, s=settings: (a, p, s), calls)
        chosen = result.settings
        summary = (f"-c {chosen.n_ctx} -ngl {'all' if chosen.n_gpu_layers is None else chosen.n_gpu_layers}"
                   + (f" --n-cpu-moe {chosen.n_cpu_moe}" if chosen.n_cpu_moe else "")
                   + f" -> {result.estimate.verdict}")
        print(f"  {name:<24} {profile.name:<30} ask -c {n_ctx:<6}: {summary}")
        print(f"      {'':<7} {_stats_ms(samples)}")


# --- accuracy ------------------------------------------------------------------------------------


def _err(pair: tuple[int, int], *, percent: bool) -> str:
    if percent:
        return f"{FitComparison.error_pct(pair):+6.2f}%"
    diff = pair[0] - pair[1]
    return f"{diff:+8d} B"


def accuracy_rows(models: dict[str, Path], presets: dict[str, Path], quick: bool):
    rows = [(name, presets[name], s.with_changes(use_mmap=False)) for name, s in PRESET_ROWS]
    small_labels = ["stories260K"] if "stories260K" in models else []
    small_labels += [label for label in models if label != "stories260K"]
    for label in small_labels:
        for s in (SMALL_ROWS[:1] if quick else SMALL_ROWS):
            rows.append((label, models[label], s))
    return rows


def bench_accuracy(models: dict[str, Path], presets: dict[str, Path], quick: bool) -> None:
    print("\n(c) accuracy on the CPU: llama.cpp's figures (MiB) and the estimate's error")
    print("    weights / KV: bytes off (the harness reads exact bytes; the tests allow 0.005 MiB = 5243 B);"
          " compute: % off (tests allow 10 %);")
    print("    out: output buffer, bytes off llama.cpp's log figure (printed to 0.01 MiB, so +-5243 B is rounding)")
    print("    real-size rows: header-only files, llama.cpp no_alloc dry run (= a no-mmap load);"
          " small rows: a real load with mmap")
    header = (f"  {'model':<24} {'settings':<40} {'weights MiB':>11} {'err':>10} {'KV MiB':>9} {'err':>10} "
              f"{'compute MiB':>11} {'err':>8} {'out err':>9}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    worst = {"weights": 0, "kv": 0, "compute": 0.0}
    for label, path, settings in accuracy_rows(models, presets, quick):
        settings = settings.with_changes(n_gpu_layers=0)
        try:
            memory = measure_llama(path, settings)
        except LlamaLoadError as refusal:
            reason = str(refusal).split("|")[-1].split(": ", 1)[-1].strip()
            print(f"  {label:<24} {settings_label(settings):<40} llama.cpp refuses ({reason})")
            continue
        c = compare_fit(path, load_anatomy(path), CPU_ONLY, memory)
        worst["weights"] = max(worst["weights"], abs(c.weights[0] - c.weights[1]))
        worst["kv"] = max(worst["kv"], abs(c.kv[0] - c.kv[1]))
        worst["compute"] = max(worst["compute"], abs(FitComparison.error_pct(c.compute)))
        print(f"  {label:<24} {settings_label(settings):<40} {c.weights[1] / MiB:11.2f} {_err(c.weights, percent=False):>10} "
              f"{c.kv[1] / MiB:9.2f} {_err(c.kv, percent=False):>10} {c.compute[1] / MiB:11.2f} "
              f"{_err(c.compute, percent=True):>8} {_err(c.output, percent=False):>9}")
    print(f"  worst: weights {worst['weights']} B, KV {worst['kv']} B, compute {worst['compute']:.2f} %")


# --- compute grid --------------------------------------------------------------------------------


def print_compute_grid(models: dict[str, Path], presets: dict[str, Path]) -> None:
    """The CPU compute-buffer grid (plain text) the fit engine was calibrated against."""
    print("# CPU compute buffer grid (llama.cpp via llama-cpp-python 0.3.36, CPU only)\n")
    print("Made by `scripts/bench_fit.py --compute-grid` with tests/llama_truth.measure_llama (the engine's")
    print("parameters: n_outputs_max = n_seq_max = 1, n_batch 2048, n_gpu_layers 0). Exact bytes from")
    print("llama_get_memory_breakdown. cells = KV cells (n_ctx padded to 256); ubatch as llama.cpp capped it")
    print("(n_ubatch <= n_batch <= n_ctx). fa = flash attention as llama.cpp resolved it. KV = all KV caches")
    print("and recurrent state. out = output buffer (log figure, +-0.005 MiB). Small models: a real load;")
    print("real-size presets: header-only files, no_alloc dry run (same compute sizes as a real load).\n")
    entries = [(label, path, False) for label, path in models.items()]
    entries += [(label, path, True) for label, path in presets.items()]
    for label, path, big in entries:
        a = load_anatomy(path)
        print(f"\n## {label}: {a.architecture}, {a.n_layer} layers, n_embd {a.n_embd}, heads {a.n_head[0]}/"
              f"{a.n_head_kv[0]}, head dim {a.n_embd_head_k}, n_vocab {a.n_vocab}, experts {a.n_expert}/"
              f"{a.n_expert_used}\n")
        print(f"{'n_ctx':>6} {'cells':>6} {'ubatch':>6} {'fa':>3} {'ctk/ctv':>10} {'compute_bytes':>14} "
              f"{'compute_MiB':>11} {'kv_bytes':>12} {'out_bytes':>10}")
        grid = [LlamaSettings(n_ctx=c, n_ubatch=u, flash_attn=f)
                for c in ([256, 1024, 4096, 32768] if big else [256, 1024, 4096])
                for u in (128, 512, 2048) for f in ("off", "on")]
        grid += [LlamaSettings(n_ctx=c, flash_attn="on", cache_type_k=t, cache_type_v=t)
                 for c in ([4096, 32768] if big else [4096]) for t in ("q8_0", "q4_0")]
        if a.sliding_window:
            grid += [LlamaSettings(n_ctx=c, swa_full=True) for c in ([4096, 32768] if big else [1024, 4096])]
        for s in grid:
            kind = "swa_full" if s.swa_full else f"{s.cache_type_k}/{s.cache_type_v}"
            try:
                m = measure_llama(path, s.with_changes(n_gpu_layers=0))
            except LlamaLoadError as refusal:
                print(f"{s.n_ctx:>6} {'':>6} {s.n_ubatch:>6} {s.flash_attn:>3} {kind:>10} refused: {str(refusal)[-80:]}")
                continue
            print(f"{s.n_ctx:>6} {m.n_ctx:>6} {m.n_ubatch:>6} {('on' if m.flash_attn else 'off'):>3} {kind:>10} "
                  f"{m.compute_bytes:>14} {m.compute_bytes / MiB:>11.2f} {m.kv_bytes:>12} {m.output_bytes:>10}")


# --- main ----------------------------------------------------------------------------------------


def build_models(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    models: dict[str, Path] = {}
    if STORIES.exists():
        models["stories260K"] = STORIES
    for label, spec in SMALL_SPECS.items():
        models[spec.name] = make_model(folder / f"{label}.gguf", spec).path
    # Q4_0 weights are repacked for the CPU: the row shows the no-mmap figure llama.cpp's --fit uses
    repacked = SMALL_SPECS["llama"].with_changes(name="tiny-llama-q4_0", weight_type="Q4_0")
    models[repacked.name] = make_model(folder / "llama-q4_0.gguf", repacked).path
    presets = {name: make_header_only(folder / f"{name}.gguf", name).path for name in PRESETS}
    return models, presets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="estimate_fit calls per latency row (default 1000)")
    parser.add_argument("--quick", action="store_true", help="200 calls, fewer accuracy rows")
    parser.add_argument("--compute-grid", action="store_true", help="print the compute-buffer grid and exit")
    args = parser.parse_args(argv)
    calls = 200 if args.quick else max(10, args.calls)

    with tempfile.TemporaryDirectory(prefix="bench_fit-") as tmp:
        models, presets = build_models(Path(tmp))
        if args.compute_grid:
            print_compute_grid(models, presets)
            return 0
        start = time.perf_counter()
        anatomies = {name: load_anatomy(presets[name])
                     for name in ("llama-3.1-70b-q4_k_m", "qwen3-30b-a3b-q4_k_m", "gpt-oss-120b-mxfp4")}
        print(f"bench_fit: {len(models)} small models, {len(presets)} real-size header-only models "
              f"(headers read in {(time.perf_counter() - start) * 1e3:.0f} ms)")
        bench_latency(anatomies, calls)
        bench_auto_fit(anatomies, max(10, calls // 10))
        bench_accuracy(models, presets, args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
