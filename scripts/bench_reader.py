#!/usr/bin/env python
"""Timings the tests no longer assert (a loaded machine made them flake): they are printed here instead.

Run from the repository root:

    .venv/bin/python scripts/bench_reader.py

Prints, each the best of ``--repeat`` runs (seconds):

* ``localai-tui --help`` in a fresh interpreter (what "the CLI answers fast" means);
* reading the two vocabulary headers in ``../shared/vocab`` from disk (``read_header``);
* the same headers with 64 tensor infos of a 7 GiB model behind them, read as the Hub reader does
  (growing chunks from a byte source: ``tests/test_gguf_reader.py``'s remote-style read);
* the slowest read of every file in the malformed-GGUF corpus (``tests/corpus/gguf``);
* loading each small factory model with llama.cpp (``tests/gguf_factory.SMALL_SPECS``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-llama", action="store_true", help="skip the llama.cpp loads of the factory models")
    args = parser.parse_args()

    from tests.test_gguf_reader import CountingSource, _model_behind_vocab
    from tui.core.gguf.reader import FileSource, GGUFError, read_header

    help_s = best_of(args.repeat, lambda: subprocess.run([sys.executable, "-m", "tui", "--help"], cwd=ROOT,
                                                         capture_output=True, check=True))
    print(f"localai-tui --help                       {help_s:8.3f} s")
    for name in ("ggml-vocab-qwen2.gguf", "ggml-vocab-llama-bpe.gguf"):
        path = SHARED / "vocab" / name
        if not path.exists():
            print(f"{name}: absent (../shared/vocab)")
            continue
        disk = best_of(args.repeat, lambda path=path: read_header(FileSource(path)))
        header, total = _model_behind_vocab(path)
        remote = best_of(args.repeat, lambda header=header, total=total:
                         read_header(CountingSource(header, virtual_size=total)))
        print(f"{name:<28} header from disk {disk:8.3f} s   remote-style {remote:8.3f} s")

    slowest, slowest_name = 0.0, ""
    corpus = sorted((ROOT / "tests" / "corpus" / "gguf").glob("*.gguf"))
    for path in corpus:
        def read(path: Path = path) -> None:
            try:
                read_header(FileSource(path))
            except GGUFError:
                pass
        took = best_of(args.repeat, read)
        if took > slowest:
            slowest, slowest_name = took, path.name
    print(f"malformed corpus ({len(corpus)} files): slowest read {slowest:8.4f} s ({slowest_name})")

    if not args.no_llama:
        from tests.gguf_factory import SMALL_SPECS, make_model
        from tests.llama_truth import LlamaLoadError, measure_llama
        from tui.core.fit.settings import LlamaSettings

        with tempfile.TemporaryDirectory() as tmp:
            for arch, spec in sorted(SMALL_SPECS.items()):
                built = make_model(Path(tmp) / f"{arch}.gguf", spec)
                try:
                    took = best_of(1, lambda built=built: measure_llama(built.path, LlamaSettings(n_ctx=512)))
                except LlamaLoadError as exc:
                    print(f"factory {arch:<14} llama.cpp load failed: {exc}")
                    continue
                print(f"factory {arch:<14} llama.cpp load + measure {took:8.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
