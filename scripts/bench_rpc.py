#!/usr/bin/env python
"""The app's plans over helper boxes against llama.cpp itself: 2-3 loopback ``rpc-server``s.

Run from the repository root (build first: ``python scripts/build_llama_rpc.py``, once):

    .venv/bin/python scripts/bench_rpc.py            # every case of tests/llama_rpc_truth.RPC_CASES
    .venv/bin/python scripts/bench_rpc.py --quick    # the first two
    .venv/bin/python scripts/bench_rpc.py --serve    # also run the printed commands (stories260K)

For each case it starts the boxes (``ggml-rpc-server -H 127.0.0.1 -p PORT``, CPU backend), loads a
real-size header-only model (``tests/gguf_factory.py``: a sparse file) through them in llama.cpp's
no_alloc mode with the settings the app prints (``--rpc``, ``-ts``, ``-ngl``, context, cache
types), reads llama.cpp's per-device memory (``llama_get_memory_breakdown``: model, KV, compute per
buffer type ``RPC0[127.0.0.1:PORT]``, CPU), stops the servers, and prints estimate vs llama.cpp per
device. Loopback only; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.gguf_factory import make_header_only  # noqa: E402
from tests.llama_rpc_truth import RPC_CASES, DeviceRow, rpc_build_dir, run_case  # noqa: E402

MiB = 1024**2


def _pair(pair: tuple[int, int]) -> str:
    est, real = pair
    return f"{est / MiB:10.2f} {real / MiB:10.2f} {DeviceRow.error_pct(pair):+7.3f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the first two cases")
    ap.add_argument("--threads", type=int, default=1, help="threads per rpc-server (default 1)")
    ap.add_argument("--serve", action="store_true",
                    help="also start the printed ggml-rpc-server and llama-server --rpc commands on loopback with "
                         "../shared/models/stories260K.gguf and ask for a completion")
    args = ap.parse_args(argv)
    bin_dir = rpc_build_dir()
    if bin_dir is None:
        print("no RPC build: run scripts/build_llama_rpc.py first", file=sys.stderr)
        return 1
    cases = RPC_CASES[:2] if args.quick else RPC_CASES
    print(f"llama.cpp RPC build: {bin_dir}")
    print("MiB: estimate, llama.cpp, error")
    print(f"{'case':<38} {'device':<7} {'weights':>30} {'KV':>30} {'compute':>30}")
    worst = {"weights": 0.0, "kv": 0.0}
    with tempfile.TemporaryDirectory(prefix="bench-rpc-") as tmp:
        for case in cases:
            path = Path(tmp) / f"{case.preset}.gguf"
            if not path.exists():
                make_header_only(path, case.preset)
            start = time.perf_counter()
            rows = run_case(case, path, bin_dir, threads=args.threads)
            took = time.perf_counter() - start
            for row in rows:
                print(f"{case.name[:38]:<38} {row.device:<7} {_pair(row.weights)} {_pair(row.kv)} {_pair(row.compute)}")
                worst["weights"] = max(worst["weights"], abs(DeviceRow.error_pct(row.weights)))
                worst["kv"] = max(worst["kv"], abs(DeviceRow.error_pct(row.kv)))
            print(f"{'':<38} ({took:.1f} s with server start-up)")
    print(f"worst |error|: weights {worst['weights']:.3f}%, KV {worst['kv']:.3f}%")
    if args.serve:
        return _serve()
    return 0


def _serve() -> int:
    from tests.llama_rpc_truth import serve_plan
    from tui.core.fit.llama_args import shell_command

    server_bin = rpc_build_dir(("ggml-rpc-server", "llama", "llama-server"))
    stories = ROOT.parent / "shared" / "models" / "stories260K.gguf"
    if server_bin is None or not stories.exists():
        print("--serve needs llama-server in the build and ../shared/models/stories260K.gguf", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-rpc-serve-") as tmp:
        start = time.perf_counter()
        plan = serve_plan(stories, (1, 2), server_bin, Path(tmp))
        took = time.perf_counter() - start
    print()
    print("the printed commands, run on loopback (program paths from the build):")
    for argv in plan.server_commands:
        print("  " + shell_command(argv))
    print("  " + shell_command(plan.head_command))
    for device in plan.estimate.devices:  # type: ignore[attr-defined]
        if device.box:
            print(f"  {device.buffer}: weights estimated {device.weights_bytes / MiB:.2f} MiB, llama-server logged "
                  f"{plan.model_buffers.get(device.buffer, 0) / MiB:.2f} MiB; KV {device.kv_bytes / MiB:.2f} vs "
                  f"{plan.kv_buffers.get(device.buffer, 0) / MiB:.2f} MiB")
    print(f"  completion: {plan.completion!r} ({took:.1f} s, servers started and stopped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
