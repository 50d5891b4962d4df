#!/usr/bin/env python
"""The app's plans over helper boxes against llama.cpp itself: 2-3 loopback ``rpc-server``s.

Run from the repository root (build first: ``python scripts/build_llama_rpc.py``, once):

    .venv/bin/python scripts/bench_rpc.py            # every case of tests/llama_rpc_truth.RPC_CASES
    .venv/bin/python scripts/bench_rpc.py --quick    # the first two

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
