"""The in-process engine: llama.cpp through llama-cpp-python's ctypes bindings, no UI.

Modules, one job each:

- ``params``       LlamaSettings -> llama_model_params / llama_context_params (incl. tensor overrides)
- ``ggml_backend`` ggml devices and buffer types (what ``-ot ...=CPU`` points at)
- ``llama_log``    llama.cpp's log to a file and listeners, never the terminal
- ``loader``       load a GGUF / create a context, with progress, cancel and clear errors
- ``model``        handles on a loaded model (vocabulary, metadata) and a context
- ``runtime``      ``Engine``: model + context + what the KV cache holds
- ``template``     chat templates from the GGUF, plain-completion fallback
- ``sampling``     sampling settings and llama.cpp's sampler chain
- ``generate``     the token loop: stream, stop within one token, measure
- ``chat``         ``ChatSession``: history, trimming, streaming from a worker thread
- ``metrics``      per-reply measurements and llama.cpp's perf counters
- ``memory``       process RSS and NVML VRAM
- ``bench``        llama-bench style pp/tg throughput
- ``model_file``   MODEL argument -> a local GGUF path

Importing this package does not import llama_cpp; the names below load their module on
first use, so ``localai-tui --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Engine": "runtime",
    "EngineInfo": "runtime",
    "ChatSession": "chat",
    "Reply": "chat",
    "ReplyStream": "chat",
    "ChatMessage": "template",
    "SamplingSettings": "sampling",
    "ReplyStats": "metrics",
    "LiveRate": "metrics",
    "PerfCounters": "metrics",
    "Generation": "generate",
    "generate": "generate",
    "load_model": "loader",
    "LoadedModel": "model",
    "install_llama_log": "llama_log",
    "llama_log": "llama_log",
    "memory_use": "memory",
    "run_bench": "bench",
    "BenchResult": "bench",
    "resolve_model_file": "model_file",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tui.core.engine' has no attribute '{name}'")
    return getattr(importlib.import_module(f"tui.core.engine.{module}"), name)


__all__ = sorted(_EXPORTS)
