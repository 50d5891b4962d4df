"""``localai-tui bench MODEL [-p N] [-n N] [-r REPS]``: llama-bench's pp/tg throughput, in-process."""

from __future__ import annotations

import argparse
import sys

from tui.commands.fit_flags import add_fit_flags, non_negative_int


def register(subparsers: argparse._SubParsersAction) -> None:
    from tui.core.engine.bench import DEFAULT_N_GEN, DEFAULT_N_PROMPT, DEFAULT_REPETITIONS  # no llama_cpp import

    parser = subparsers.add_parser(
        "bench",
        help="measure prompt processing and generation speed (like llama-bench)",
        description="Load MODEL with the given llama.cpp settings and measure prompt processing (pp) and "
                    "generation (tg) tokens/s the way llama-bench does: mean ± standard deviation over repetitions.",
    )
    parser.add_argument("model", metavar="MODEL", help="a .gguf file (any shard of a split model)")
    parser.add_argument("-p", "--n-prompt", dest="n_prompt", type=non_negative_int, default=DEFAULT_N_PROMPT,
                        help=f"prompt tokens for the pp test; 0 skips it (default: {DEFAULT_N_PROMPT})")
    parser.add_argument("-n", "--n-gen", dest="n_gen", type=non_negative_int, default=DEFAULT_N_GEN,
                        help=f"tokens for the tg test; 0 skips it (default: {DEFAULT_N_GEN})")
    parser.add_argument("-r", "--repetitions", dest="repetitions", type=non_negative_int, default=DEFAULT_REPETITIONS,
                        help=f"repetitions of each test (default: {DEFAULT_REPETITIONS})")
    add_fit_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--log-file", default=None, metavar="PATH",
                        help="write llama.cpp's whole log (debug lines included) here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from tui.commands.engine_args import load_engine_from_args
    from tui.commands.interrupt import cancellable, check_interrupted, run_in_worker, workers_running
    from tui.core.engine.bench import run_bench

    engine = load_engine_from_args(args, show_progress=not args.json)
    try:
        progress = _progress if sys.stderr.isatty() and not args.json else None
        with cancellable() as cancel:
            results = run_in_worker(lambda: run_bench(engine, n_prompt=args.n_prompt, n_gen=args.n_gen,
                                                      repetitions=args.repetitions, on_progress=progress,
                                                      cancel=cancel), "bench")
        check_interrupted()
        if progress is not None:
            from tui.commands.terminal import clear_line

            clear_line(sys.stderr)
        info = engine.info()
        _store_run(info.path, engine.settings, results)
        if args.json:
            print(json.dumps({"model": info.path, "info": asdict(info), "backend": backend_name(),
                              "results": [r.to_dict() for r in results]}, indent=2))
        else:
            print(format_bench_table(info, results))
        return 0
    finally:
        if not workers_running():
            engine.close()


def _store_run(path: str, settings, results) -> str | None:
    """Keep the run (platformdirs data dir) so ``fit`` and ``compare`` can show it next to the estimate
    and this machine's later estimates learn from it (``tui.core.fit.bench_feedback``)."""
    from tui.core.fit.bench_feedback import store_bench_run

    return store_bench_run(path, settings, results)


def _progress(test: str, repetition: int, repetitions: int) -> None:
    from tui.commands.terminal import redraw_line

    redraw_line(sys.stderr, f"bench {test}: run {repetition}/{repetitions}")


def backend_name() -> str:
    """The GPU backends llama.cpp registered ("CUDA", "Metal"), or "CPU" (llama-bench's column)."""
    from tui.core.engine.ggml_backend import backend_devices

    names = sorted({d.name.rstrip("0123456789") for d in backend_devices() if d.kind != "CPU"})
    return ",".join(names) or "CPU"


def format_bench_table(info, results) -> str:
    """llama-bench's markdown table: model, size, params, backend, threads, test, t/s."""
    from tui.units import format_count, format_size

    header = ["model", "size", "params", "backend", "threads", "test", "t/s"]
    rows = [[info.description, format_size(info.size_bytes, precise=True), format_count(info.n_params, precise=True), backend_name(),
             str(info.n_threads), r.test, f"{r.mean_tokens_per_s:,.2f} ± {r.stddev_tokens_per_s:,.2f}"]
            for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    right = {1, 2, 4, 5, 6}

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "| " + " | ".join(("-" * (w - 1) + ":") if i in right else "-" * w for i, w in enumerate(widths)) + " |"
    return "\n".join([line(header), rule] + [line(row) for row in rows])
