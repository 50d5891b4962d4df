"""``LlamaSettings`` -> llama.cpp's ``llama_model_params`` / ``llama_context_params``.

The fit engine sizes a run from ``LlamaSettings``; this module hands llama.cpp exactly
those settings, including what llama-cpp-python's ``Llama`` class cannot express:
flash attention ``auto`` (it only takes a bool), K/V cache types by name, the MoE
expert offload rules (``-ot``, ``--cpu-moe``, ``--n-cpu-moe``) as
``tensor_buft_overrides``, and one output row per sequence instead of logits for every
batch position. ctypes objects that llama.cpp keeps pointers to (override patterns,
the override array, the tensor split, the progress callback) live in ``NativeModelParams``,
which the loaded model holds for its whole life.
"""

from __future__ import annotations

import _thread
import ctypes
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.core.engine.errors import EngineError
from tui.core.fit.settings import LlamaSettings, TensorOverride

#: ``enum llama_flash_attn_type`` by the settings' names.
FLASH_ATTN_TYPES = {"auto": -1, "off": 0, "on": 1}

#: ``enum llama_load_mode``: AUTO maps the file unless a device cannot (llama-server's default).
LOAD_MODE_AUTO = -1
LOAD_MODE_NONE = 0


class TensorBuftOverride(ctypes.Structure):
    """``struct llama_model_tensor_buft_override`` (include/llama.h): pattern, buffer type."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


@dataclass
class NativeModelParams:
    """A filled ``llama_model_params`` plus the ctypes objects its pointers refer to."""

    params: Any  # llama_cpp.llama_model_params
    overrides: tuple[TensorOverride, ...] = ()
    keepalive: list[object] = field(default_factory=list)


def default_thread_count() -> int:
    """Physical cores the process may run on: llama.cpp's own default for ``-t``."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except Exception:
        physical = os.cpu_count() or 1
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = physical
    return max(1, min(physical, allowed))


#: Up to this many cores, an interactive app may leave one of them to its UI thread and the terminal.
FEW_CORES = 4
#: ...but only for a model that decodes at least this fast (estimated tokens/s with every core):
#: there a token takes a few ms or less, so a preempted decode thread (the UI's layout, a terminal
#: redraw: a few ms each) stalls many tokens, while a spare core is worth little. Slower models
#: keep every core: on this project's 2-core box a sparse 8B Q4_K_M decodes 2.86 t/s with 2
#: threads and 1.45 with 1, a 0.5B-class 28.2 and 19.1 (bench tg16), where in the chat (tmux,
#: a 2048-token reply) stories260K showed ~220 t/s with 2 threads and ~660 with 1.
FAST_DECODE_TOKENS_PER_S = 100.0


def interactive_thread_count(cores: int | None = None, est_tokens_per_s: float | None = None) -> int:
    """Threads for an engine that streams into a live UI: ``default_thread_count``, less one on a
    small box when the model decodes fast enough that the UI's interruptions cost more than a core.

    llama.cpp's decode threads meet at a barrier after every op; when the UI thread or the terminal
    emulator takes one of the cores they run on, all of them wait. ``est_tokens_per_s``: the fit's
    decode estimate with every core (None: unknown, every core is used).
    """
    cores = default_thread_count() if cores is None else cores
    fast = est_tokens_per_s is not None and est_tokens_per_s >= FAST_DECODE_TOKENS_PER_S
    return max(1, cores - 1) if cores <= FEW_CORES and fast else cores


def tensor_buft_override_array(rules: tuple[TensorOverride, ...]) -> tuple[Any, list[object]]:
    """A NULL-terminated ``llama_model_tensor_buft_override[]`` for ``rules``, and its keepalive list.

    Buffer names resolve through ggml's device list as in common/arg.cpp; ``CPU`` is
    ``ggml_backend_cpu_buffer_type()``, the pointer llama.cpp recognises to allow the
    CPU's repacked weight layouts.
    """
    import llama_cpp

    from tui.core.engine.ggml_backend import buffer_type_named

    limit = llama_cpp.llama_max_tensor_buft_overrides()
    if len(rules) > limit:
        raise EngineError(f"{len(rules)} tensor overrides given; llama.cpp accepts at most {limit}")
    patterns = [rule.pattern.encode("utf-8") for rule in rules]
    array = (TensorBuftOverride * (len(rules) + 1))()
    for i, (rule, pattern) in enumerate(zip(rules, patterns, strict=True)):
        array[i].pattern = pattern
        array[i].buft = buffer_type_named(rule.buffer)
    array[len(rules)].pattern = None  # the terminator llama.cpp's loop stops at
    array[len(rules)].buft = None
    return array, [array, patterns]


def build_model_params(
    settings: LlamaSettings,
    progress: Callable[[float], bool] | None = None,
) -> NativeModelParams:
    """Model parameters for ``settings``; ``progress(fraction)`` returning False aborts the load."""
    import llama_cpp

    params = llama_cpp.llama_model_default_params()
    keepalive: list[object] = []
    params.n_gpu_layers = -1 if settings.n_gpu_layers is None else settings.n_gpu_layers
    params.split_mode = llama_cpp.LLAMA_SPLIT_MODE_LAYER
    params.load_mode = LOAD_MODE_AUTO if settings.use_mmap else LOAD_MODE_NONE

    if settings.tensor_split:
        n_devices = llama_cpp.llama_max_devices()
        if len(settings.tensor_split) > n_devices:
            raise EngineError(f"tensor split has {len(settings.tensor_split)} parts; this build handles {n_devices} devices")
        split = (ctypes.c_float * n_devices)(*settings.tensor_split)
        keepalive.append(split)
        params.tensor_split = split

    rules = settings.effective_overrides()
    if rules:
        array, alive = tensor_buft_override_array(rules)
        keepalive.extend(alive)
        params.tensor_buft_overrides = ctypes.cast(array, ctypes.c_void_p).value

    if progress is not None:
        def report(fraction: float, _user_data: object) -> bool:
            # Runs inside llama.cpp: an exception here would be printed to stderr by ctypes.
            try:
                return bool(progress(float(fraction)))
            except KeyboardInterrupt:
                _thread.interrupt_main()  # Ctrl-C: abort the load, then raise it in the main thread
                return False
            except BaseException:
                return False  # abort the load; the caller sees it as cancelled

        callback = llama_cpp.llama_progress_callback(report)
        keepalive.append(callback)
        params.progress_callback = callback
    return NativeModelParams(params=params, overrides=rules, keepalive=keepalive)


def ggml_type_id(cache_type: str) -> int:
    """``-ctk``/``-ctv`` name ("f16", "q8_0") -> ggml type id."""
    from tui.core.gguf.ggml_types import ggml_type_named

    return ggml_type_named(cache_type.upper()).id


def build_context_params(settings: LlamaSettings, n_ctx: int) -> Any:
    """Context parameters for ``settings`` with a context of ``n_ctx`` tokens.

    Besides the settings, the engine always asks for: performance counters (llama.cpp
    defaults to none), and ``n_outputs_max = n_seq_max`` so the logits buffer holds one
    row per sequence (the last prompt token) rather than one per batch position: for a
    150k-token vocabulary and ``-b 2048`` that is 1.2 GB less. The fit engine assumes
    the same.
    """
    import llama_cpp

    params = llama_cpp.llama_context_default_params()
    n_threads = settings.n_threads or default_thread_count()
    params.n_ctx = n_ctx
    params.n_batch = settings.n_batch
    params.n_ubatch = settings.n_ubatch
    params.n_seq_max = settings.n_seq_max
    params.n_outputs_max = settings.n_seq_max
    params.n_threads = n_threads
    params.n_threads_batch = n_threads
    params.flash_attn_type = FLASH_ATTN_TYPES[settings.flash_attn]
    params.type_k = ggml_type_id(settings.cache_type_k)
    params.type_v = ggml_type_id(settings.cache_type_v)
    params.swa_full = settings.swa_full
    params.no_perf = False
    return params
