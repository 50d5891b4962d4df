#!/usr/bin/env python
"""Estimated vs measured decode speed on THIS machine, after the speed probe.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_speed_box.py [--skip-calibrate]

1. ``gpus --calibrate``'s probe (``tui.core.engine.calibrate``) measures this machine's terms and
   stores them, so ``detect_profile()`` ("--gpu auto") uses them;
2. for stories260K (../shared/models) and two generated sparse models (a 0.5B-class and an
   8B-class llama, Q4_K_M-like: llama.cpp multiplies zeros at full cost), prints ``fit --gpu
   auto``'s tokens/s next to ``bench``'s tg measured right after.

Models load as the app loads them (on an AMX Xeon without the CPU's extra buffer types:
``tui/core/fit/cpu_amx.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.gguf_factory import PRESETS, ModelSpec, make_sparse_model, q4_k_m_rules  # noqa: E402

STORIES = ROOT.parent / "shared" / "models" / "stories260K.gguf"

#: A Qwen2.5-0.5B-sized llama (24 layers, 896 wide, 151,936 tokens), Q4_K_M-like where rows allow.
HALF_B = ModelSpec(arch="llama", name="0.5B-class llama Q4_K_M", n_layer=24, n_embd=896, n_head=14, n_head_kv=2,
                   head_dim=64, n_ff=4864, n_vocab=151936, n_ctx_train=32768, weight_type="Q4_K",
                   type_rules=q4_k_m_rules(24))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-calibrate", action="store_true", help="use the stored calibration")
    ap.add_argument("-n", "--n-gen", type=int, default=32)
    ap.add_argument("-r", "--repetitions", type=int, default=3)
    args = ap.parse_args()

    from tui.core.engine.llama_log import install_llama_log

    install_llama_log(None)
    from tui.core.engine.bench import run_bench
    from tui.core.engine.calibrate import calibrate_device
    from tui.core.engine.runtime import Engine
    from tui.core.fit.estimate import estimate_fit
    from tui.core.fit.settings import LlamaSettings
    from tui.core.gguf.anatomy import load_anatomy
    from tui.core.hardware.detect import detect_profile
    from tui.core.hardware.speed_store import save_calibration

    profile = detect_profile()
    if not args.skip_calibrate:
        devices = [f"GPU{g.index}" for g in profile.gpus] + ["CPU"]
        measured = [calibrate_device(profile.with_changes(calibration=()), d) for d in devices]
        save_calibration(str(profile.extra["fingerprint"]), measured)
        for m in measured:
            print(f"calibrated {m.device}: {m.bandwidth_gbps:.1f} GB/s effective, {m.token_s * 1e6:.0f} us/token, "
                  f"{m.layer_s * 1e6:.1f} us/layer; by type: "
                  + ", ".join(f"{t} {r:.1f}" for t, r in m.type_gbps) + " GB/s")
        profile = detect_profile()
    print(f"profile: {profile.name}; calibrated: {bool(profile.calibration)}")
    print()
    print(f"{'model':<28} {'size':>9} {'fit t/s':>9} {'bench tg t/s':>14} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="speed-box-") as tmp:
        models = []
        if STORIES.exists():
            models.append(("stories260K (F32)", STORIES))
        for name, spec in (("0.5B-class Q4_K_M (sparse)", HALF_B),
                           ("8B-class Q4_K_M (sparse)", PRESETS["llama-3.1-8b-q4_k_m"])):
            path = Path(tmp) / f"{spec.arch}-{spec.n_layer}.gguf"
            make_sparse_model(path, spec)
            models.append((name, path))
        for name, path in models:
            anatomy = load_anatomy(path)
            settings = LlamaSettings(n_ctx=min(4096, anatomy.n_ctx_train or 4096), n_gpu_layers=None)
            est = estimate_fit(anatomy, profile, settings, depth=args.n_gen // 2)
            engine = Engine.load(path, settings)
            try:
                results = run_bench(engine, n_prompt=0, n_gen=args.n_gen, repetitions=args.repetitions)
            finally:
                engine.close()
            tg = statistics.fmean(results[0].samples_tokens_per_s)
            size = f"{anatomy.tensor_bytes / 2**20:.0f} MiB"
            print(f"{name:<28} {size:>9} {est.est_tokens_per_s:9.1f} {tg:14.1f} {est.est_tokens_per_s / tg:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
