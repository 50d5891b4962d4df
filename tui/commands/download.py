"""``localai-tui download OWNER/REPO:LABEL``: fetch a quant (all its shards) into the Hugging Face cache.

Progress goes to stderr, the local path (the first shard, what llama.cpp loads) to stdout, so
``$(localai-tui download ...)`` gives a path. Ctrl+C stops cleanly and keeps what was received:
the same command resumes from there.
"""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a GGUF model from the Hugging Face Hub (resumable)",
        description="Download a model's files (every shard of the label) into the Hugging Face cache and print "
                    "the path to load. An interrupted download resumes where it stopped.",
    )
    parser.add_argument("model", metavar="MODEL",
                        help="OWNER/REPO:LABEL (e.g. unsloth/Qwen3-8B-GGUF:Q4_K_M), OWNER/REPO/FILE.gguf, or "
                             "OWNER/REPO for its Q4_K_M")
    parser.add_argument("--mmproj", action="store_true",
                        help="also download the repo's vision projector (mmproj) for this model")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.core.hub.errors import DownloadCancelled

    try:
        result = fetch_model(args.model, with_mmproj=args.mmproj, quiet=args.quiet)
    except DownloadCancelled as error:
        print(f"localai-tui: {error}", file=sys.stderr)
        return error.exit_code
    print(result.model.path)
    if result.mmproj is not None:
        print(result.mmproj.path)
    return 0


def fetch_model(spec: str, *, with_mmproj: bool = False, quiet: bool = False):
    """Download (or find in the cache) the model ``spec`` names, with progress on stderr.

    The download runs in a thread so that Ctrl+C (delivered to the main thread) becomes a clean
    cancel that keeps the partial file for the next run; a second Ctrl+C interrupts for good.
    Returns tui.core.hub.model_download.ModelDownload; raises its errors (DownloadCancelled too).
    """
    import threading

    from tui.core.hub.model_download import download_model
    from tui.core.hub.model_ref import require_hub_ref

    ref = require_hub_ref(spec)
    printer = None if quiet else ProgressPrinter(sys.stderr)
    cancel, finished = threading.Event(), threading.Event()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["result"] = download_model(ref, with_mmproj=with_mmproj, progress=printer, cancel=cancel)
        except BaseException as exc:  # handed to the main thread, which reports it
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=work, name="download", daemon=True).start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        cancel.set()
        finished.wait()
    if printer is not None:
        printer.finish()
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]
    if result.from_cache_only:
        print(f"localai-tui: warning: the Hub could not be reached; {result.spec} is already downloaded",
              file=sys.stderr)
    return result


class ProgressPrinter:
    """Progress on a terminal line (redrawn in place), or a line every 10% when stderr is not a terminal."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_decile = 0  # the first line at 10% (or at once when resuming): no noise before a fast error
        self._drew = False

    def __call__(self, p) -> None:
        from tui.units import format_size

        rate = f"{format_size(int(p.rate_bps), precise=True)}/s" if p.rate_bps > 0 else "-"
        eta = _format_eta(p.eta_s)
        shard = f" [{p.file_index + 1}/{p.file_count}]" if p.file_count > 1 else ""
        if p.phase == "checking":
            text = f"checking the kept part of {p.file_path}{shard} ..."
        else:
            text = (f"{p.file_path}{shard}  {format_size(p.done, precise=True)} / {format_size(p.total, precise=True)}  "
                    f"{p.fraction * 100:5.1f}%  {rate}  ETA {eta}")
            if p.resumed_bytes and p.file_done == p.resumed_bytes:
                text += f"  (resuming after {format_size(p.resumed_bytes, precise=True)})"
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            self._drew = True
            return
        decile = int(p.fraction * 10)
        if decile != self._last_decile or p.phase == "done":
            self._last_decile = decile
            self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drew:
            self.stream.write("\n")
            self.stream.flush()


def _format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    if seconds >= 3600:
        return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds < 86400 else f"{seconds // 3600} h"
    return f"{seconds // 60:02d}:{seconds % 60:02d}"
