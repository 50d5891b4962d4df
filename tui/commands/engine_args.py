"""What ``chat`` and ``bench`` share: MODEL and the llama.cpp flags -> a loaded ``Engine``."""

from __future__ import annotations

import argparse
import sys

from tui.commands.fit_flags import settings_from_args, wants_auto_layers
from tui.core.errors import LocalAIError


def load_engine_from_args(args: argparse.Namespace, *, show_progress: bool = True):
    """Route llama.cpp's log, resolve MODEL, and load it with the settings the flags describe.

    An untyped ``-c`` means "4096, or the model's training context if smaller".
    """
    from tui.core.engine.llama_log import install_llama_log
    from tui.core.engine.model_file import resolve_model_file
    from tui.core.engine.runtime import Engine

    install_llama_log(args.log_file, debug=args.log_file is not None)
    path = resolve_model_file(args.model)
    if wants_auto_layers(args):
        raise LocalAIError("-ngl auto is not available for chat and bench yet", hint="give a number of layers or 'all'")
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    progress = _progress_printer(path.name) if show_progress and sys.stderr.isatty() else None
    try:
        return Engine.load(path, settings, on_progress=progress, fit_ctx_to_model=args.n_ctx is None)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _progress_printer(name: str):
    last = [-1]

    def show(fraction: float) -> bool:
        percent = int(fraction * 100)
        if percent != last[0]:
            last[0] = percent
            sys.stderr.write(f"\rloading {name} {percent:3d}%")
            sys.stderr.flush()
        return True

    return show
