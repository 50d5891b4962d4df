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
    path = resolve_model_file(_downloaded(args.model))
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    if wants_auto_layers(args):
        settings = _auto_gpu_layers(path, settings, untyped_ctx=args.n_ctx is None)
    progress = _progress_printer(path.name) if show_progress and sys.stderr.isatty() else None
    try:
        return Engine.load(path, settings, on_progress=progress, fit_ctx_to_model=args.n_ctx is None)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _downloaded(spec: str) -> str:
    """A Hub spec (``OWNER/REPO:LABEL``) is fetched first, with progress; a local path passes through.

    Which is which follows ``tui.core.hub.model_spec.local_model_path``, the rule ``inspect`` and ``fit`` use.
    """
    from tui.core.hub.model_spec import local_model_path

    if local_model_path(spec.strip()) is not None:
        return spec
    from tui.commands.download import fetch_model

    return str(fetch_model(spec).model.path)


def _auto_gpu_layers(path, settings, *, untyped_ctx: bool):
    """``-ngl auto`` for this box: the fit engine's choice on the detected hardware, at the
    context the engine will use, so the run matches what ``localai-tui fit -ngl auto`` says."""
    from tui.core.fit.autofit import auto_gpu_layers
    from tui.core.gguf.anatomy import load_anatomy
    from tui.core.hardware.detect import detect_profile

    anatomy = load_anatomy(path)
    if untyped_ctx and anatomy.n_ctx_train:
        settings = settings.with_changes(n_ctx=min(settings.n_ctx, anatomy.n_ctx_train))
    return auto_gpu_layers(anatomy, detect_profile(), settings).settings


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
