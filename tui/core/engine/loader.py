"""Load a GGUF into llama.cpp and create its context, turning failures into clear errors.

llama.cpp reports a failed load as a NULL pointer and the reason only in its log, so
each load captures its own log lines (``LlamaLog.capture``) and ``classify_load_failure``
maps them to an ``EngineError`` subclass. llama.cpp frees everything on failure, so a
failed or cancelled load leaves the process ready for the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tui.core.engine.errors import (
    EngineError,
    EngineOutOfMemoryError,
    LoadCancelledError,
    ModelFileNotFoundError,
    ModelLoadError,
    NotAGGUFError,
    UnsupportedArchitectureError,
)
from tui.core.engine.llama_log import LEVEL_ERROR, LEVEL_WARN, LogLine, ensure_llama_log
from tui.core.engine.model import ContextHandle, LoadedModel
from tui.core.engine.params import build_context_params, build_model_params
from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx
from tui.core.fit.settings import LlamaSettings

GGUF_MAGIC = b"GGUF"

#: Log fragments that mean "memory ran out" (CPU malloc, CUDA, Metal, Vulkan).
_OOM_MARKERS = ("bad_alloc", "unable to allocate", "failed to allocate", "out of memory", "cudamalloc failed",
                "erroroutofdevicememory", "failed to create buffer")
#: Log fragments that mean the file's bytes are bad.
_CORRUPT_MARKERS = ("gguf_init_from_file", "failed to read", "tensor data is not within the file bounds",
                    "invalid magic", "corrupted", "unexpectedly reached end of file", "data is not within",
                    "file bounds", "invalid gguf", "failed to load model from")

_backend_lock = threading.Lock()
_backend_ready = False


def init_backend() -> None:
    """``llama_backend_init`` once per process, after the log is routed away from the terminal."""
    global _backend_ready
    ensure_llama_log()
    with _backend_lock:
        if not _backend_ready:
            import llama_cpp

            llama_cpp.llama_backend_init()
            _backend_ready = True


def check_model_file(path: Path | str) -> Path:
    """The path as a readable GGUF file, or a clear error before llama.cpp is involved."""
    model_path = Path(path).expanduser()
    if not model_path.exists():
        raise ModelFileNotFoundError(f"model file not found: {model_path}")
    if not model_path.is_file():
        raise ModelFileNotFoundError(f"{model_path} is not a file")
    try:
        with model_path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelFileNotFoundError(f"cannot read {model_path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise NotAGGUFError(f"{model_path} is not a GGUF model file (it does not start with 'GGUF')")
    return model_path


def classify_load_failure(what: str, lines: list[LogLine], *, cancelled: bool = False) -> EngineError:
    """The error for a failed load (``what``: "load model.gguf") from llama.cpp's log lines."""
    if cancelled or any("cancelled model load" in line.text for line in lines):
        return LoadCancelledError(f"{what}: cancelled")
    problems = [line for line in lines if line.level >= LEVEL_WARN and line.text.strip()]
    joined = "\n".join(line.text for line in problems).lower()
    for line in problems:
        if "unknown model architecture" in line.text:
            arch = line.text.split("unknown model architecture:", 1)[1].strip().strip("'\"")
            return UnsupportedArchitectureError(
                f"{what}: this llama.cpp does not support the '{arch}' architecture",
                hint="a newer llama-cpp-python may",
            )
    reason = _reason(problems) or "llama.cpp gave no reason; see the log"
    if any(marker in joined for marker in _OOM_MARKERS):
        return EngineOutOfMemoryError(f"{what}: out of memory ({reason})",
                                      hint="use a smaller context (-c), fewer GPU layers (-ngl) or a smaller quant")
    if any(marker in joined for marker in _CORRUPT_MARKERS):
        return NotAGGUFError(f"{what}: the file is corrupt or truncated ({reason})")
    return ModelLoadError(f"{what}: {reason}")


def _reason(problems: list[LogLine]) -> str:
    """llama.cpp's most specific complaint, without its "function_name:" prefixes."""
    for line in problems:  # the GGUF parser's own words beat "failed to load model from X"
        if line.text.startswith("gguf_") and ": " in line.text:
            return line.text.split(": ", 1)[1].strip()
    for line in problems:
        if "error loading model:" in line.text:
            return line.text.split("error loading model:", 1)[1].strip()
    errors = [line.text.strip() for line in problems if line.level == LEVEL_ERROR]
    specific = [text for text in errors if "failed to load model" not in text] or errors
    if specific:
        text = specific[0]
        for prefix in ("failed to initialize the context:",):
            if prefix in text:
                return text.split(prefix, 1)[1].strip()
        return text
    return problems[0].text.strip() if problems else ""


def load_model(
    path: Path | str,
    settings: LlamaSettings | None = None,
    *,
    on_progress: Callable[[float], object] | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Load the weights of ``path`` placed as ``settings`` say (GPU layers, overrides, mmap).

    ``on_progress(fraction)`` is called from llama.cpp's loading thread with 0.0-1.0;
    returning False, or setting ``cancel``, aborts the load (``LoadCancelledError``).
    Blocking: run it in a worker thread when a UI must stay live.
    """
    import llama_cpp

    settings = settings or LlamaSettings()
    model_path = check_model_file(path)
    init_backend()
    cancelled = threading.Event()

    def progress(fraction: float) -> bool:
        if cancel is not None and cancel.is_set():
            cancelled.set()
            return False
        if on_progress is not None and on_progress(fraction) is False:
            cancelled.set()
            return False
        return True

    native = build_model_params(settings, progress)
    if not cpu_extra_buffers_safe(host_has_amx()):
        native.params.use_extra_bufts = False  # llama.cpp's AMX kernels crash (fit/cpu_amx.py): --no-repack
    log = ensure_llama_log()
    with log.capture() as lines:
        if cancel is not None and cancel.is_set():
            raise LoadCancelledError(f"load {model_path.name}: cancelled")
        ptr = llama_cpp.llama_model_load_from_file(str(model_path).encode("utf-8"), native.params)
    if not ptr:
        raise classify_load_failure(f"load {model_path.name}", lines, cancelled=cancelled.is_set())
    return LoadedModel(model_path, settings, ptr, native, list(lines))


def create_context(model: LoadedModel, settings: LlamaSettings, n_ctx: int) -> ContextHandle:
    """A context of ``n_ctx`` tokens with ``settings``' batches, cache types and flash attention."""
    import llama_cpp

    params = build_context_params(settings, n_ctx)
    log = ensure_llama_log()
    with log.capture() as lines:
        ptr = llama_cpp.llama_init_from_model(model.ptr, params)
    if not ptr:
        error = classify_load_failure(f"create a {n_ctx}-token context for {model.path.name}", lines)
        if isinstance(error, (NotAGGUFError, LoadCancelledError)):
            error = ModelLoadError(str(error))
        raise error
    return ContextHandle(model, ptr, list(lines))
