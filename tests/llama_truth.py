"""What llama.cpp itself says a model costs: load it on the CPU and read back every buffer size.

``measure_llama(path, settings)`` loads a GGUF file with llama-cpp-python's low-level API,
with the parameters the app's engine uses for ``settings`` (context, batch sizes, K/V cache
types, flash attention, SWA cache, tensor overrides; ``n_gpu_layers`` 0, one sequence, logits
for the last token only), then frees it. It returns a ``LlamaMemory``: the model, KV-cache /
recurrent-state and compute buffers per buffer type, the output buffer, and each cache's
cells, layers and K/V sizes.

Two sources, cross-checked against each other:

* **Exact bytes** from ``llama_get_memory_breakdown`` (src/llama-ext.h, exported by
  libllama): model / context / compute bytes per buffer type, the figures llama.cpp's own
  memory fitting (common/fit.cpp) uses. It returns a C++ ``std::map`` by value, which ctypes
  cannot describe, so it is called with the x86-64 SysV convention for a class returned in
  memory (hidden result pointer first) and the libstdc++ red-black tree is walked by hand. That
  is only done on Linux x86-64; elsewhere (or if the symbol is missing) the log figures are used.
* **The log**, captured through ``llama_log_set`` (never printed). The lines relied on, with
  their printf formats in the vendored llama.cpp:

  - ``load_tensors: %12s model buffer size = %8.2f MiB`` (src/llama-model.cpp; 0 under no_alloc)
  - ``llama_context: %10s  output buffer size = %8.2f MiB`` (src/llama-context.cpp)
  - ``llama_kv_cache_iswa: creating non-SWA KV cache, size = %u cells`` / ``creating     SWA KV cache``
  - ``llama_kv_cache: size = %7.2f MiB (%6u cells, %3d layers, %2u/%u seqs), K (%s): %7.2f MiB, V (%s): %7.2f MiB``
  - ``llama_memory_recurrent: size = %7.2f MiB (%6u cells, %3d layers, %2u seqs %2u rs_seq), R (%s): ..., S (%s): ...``
  - ``sched_reserve: %10s compute buffer size = %8.2f MiB``
  - ``resolve_fused_ops: Flash Attention enabled`` / ``... not supported, set to disabled`` (flash_attn auto)
  - ``llama_context: n_ctx = %u`` (after llama.cpp pads it to a multiple of 256), ``n_batch``, ``n_ubatch``

  MiB figures carry two decimals: each is exact to +-0.005 MiB (``LOG_TOLERANCE_BYTES``).

Loading modes: ``"load"`` is the app's real load (mmap per ``settings.use_mmap``, weights
repacked for the CPU where ggml can); ``"no_alloc"`` is llama.cpp's memory-fitting path (no
mmap, nothing allocated, nothing read), the one used for real-size header-only files whose
data is a sparse hole. ``"auto"`` picks no_alloc for sparse or large files. A no_alloc run
sizes the weights of a *non-mmap* load (``use_mmap=False``): llama.cpp cannot map a file
without reading it, so compare it with an estimate for ``use_mmap=False``. With mmap, the
``CPU_Mapped`` buffer is the file range from the first to the last tensor it holds
(alignment padding and any repacked tensors in between included); without it, each tensor
is allocated on its own (``CPU``), and repacked ones go to ``CPU_REPACK`` in both cases.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx
from tui.core.fit.settings import LlamaSettings
from tui.core.sizes import MiB

#: A "%.2f MiB" figure is the true size rounded to the nearest 0.01 MiB.
LOG_TOLERANCE_BYTES = int(0.005 * MiB) + 1
#: Files larger than this are measured without allocating (``mode="auto"``).
NO_ALLOC_ABOVE_BYTES = 256 * MiB


#: ggml-cpu's extra buffer types (ggml_backend_cpu_get_extra_buffer_types, ggml-cpu.cpp): weights
#: llama.cpp moves out of the mapped file into a layout of its own (AMX on Xeons with AMX-INT8).
CPU_EXTRA_BUFFERS = ("CPU_REPACK", "AMX", "KLEIDIAI")

_lock = threading.Lock()  # llama.cpp's logger is process-global: one measurement at a time


class LlamaLoadError(RuntimeError):
    """llama.cpp refused the model or the context; the message carries its last log lines."""


@dataclass(frozen=True)
class CacheLog:
    """One KV cache (or recurrent state) as llama.cpp logs it. Sizes are bytes rounded to 0.01 MiB."""

    kind: str          # "kv" (the only cache), "kv_base" / "kv_swa" (iSWA pair), "recurrent"
    cells: int         # tokens (KV) or sequences (recurrent)
    layers: int
    k_type: str        # ggml type name (R for recurrent)
    k_bytes: int
    v_type: str        # (S for recurrent)
    v_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class LlamaMemory:
    """Buffer sizes llama.cpp reported for one model + context. All sizes are bytes.

    ``model_buffers`` / ``context_buffers`` / ``compute_buffers`` map a buffer type name
    (``CPU``, ``CPU_Mapped``, ``CPU_REPACK``) to bytes. ``context_buffers`` is the memory module:
    KV caches and recurrent state. When ``exact`` is True they come from
    ``llama_get_memory_breakdown``; otherwise from the log (+-``LOG_TOLERANCE_BYTES`` each).
    """

    path: str
    settings: LlamaSettings
    mode: str                                  # "load" or "no_alloc"
    mapped: bool                               # weights mmapped (a no_alloc run sizes a non-mmap load)
    exact: bool
    model_buffers: dict[str, int]
    context_buffers: dict[str, int]
    compute_buffers: dict[str, int]
    output_bytes: int                          # logits/embeddings host buffer, from the log
    caches: tuple[CacheLog, ...]
    n_ctx: int                                 # cells llama.cpp allocated (n_ctx padded to 256)
    n_batch: int
    n_ubatch: int
    flash_attn: bool                           # what llama.cpp resolved (auto -> on/off)
    model_size_bytes: int                      # llama_model_size: all tensors in the file(s)
    log_model_buffers: dict[str, int] = field(default_factory=dict)
    log_compute_buffers: dict[str, int] = field(default_factory=dict)
    log: str = field(default="", repr=False)

    @property
    def weights_bytes(self) -> int:
        return sum(self.model_buffers.values())

    @property
    def kv_bytes(self) -> int:
        """KV cache plus recurrent state (everything the memory module holds)."""
        return sum(self.context_buffers.values())

    @property
    def compute_bytes(self) -> int:
        return sum(self.compute_buffers.values())

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.compute_bytes + self.output_bytes

    def tolerance(self) -> int:
        """Bytes of uncertainty on one model/KV/compute figure: 0 when exact, else the log rounding."""
        return 0 if self.exact else LOG_TOLERANCE_BYTES


# --- llama-cpp-python plumbing ------------------------------------------------------------------


def _llama():
    import llama_cpp  # heavy: imported on first use

    return llama_cpp


class _LogCapture:
    """Route llama.cpp's log into a list while measuring; restore the previous logger afterwards."""

    def __init__(self) -> None:
        llama_cpp = _llama()
        self.lines: list[tuple[int, str]] = []
        self._callback = llama_cpp.llama_log_callback(self._on_log)  # kept alive by self
        self._prev_fn = llama_cpp.llama_log_callback()
        self._prev_data = ctypes.c_void_p()

    def _on_log(self, level: int, text: bytes, _user_data) -> None:
        self.lines.append((level, text.decode("utf-8", "replace")))

    def __enter__(self) -> _LogCapture:
        llama_cpp = _llama()
        llama_cpp.llama_log_get(ctypes.byref(self._prev_fn), ctypes.byref(self._prev_data))
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))
        return self

    def __exit__(self, *exc) -> None:
        _llama().llama_log_set(self._prev_fn, self._prev_data)

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.lines)

    def tail(self, n: int = 6) -> str:
        """llama.cpp's last warnings and errors (levels 3 and 4), joined on one line."""
        keep = [t.strip() for level, t in self.lines if level in (3, 4) and t.strip()]
        return " | ".join(keep[-n:]) if keep else "no error was logged"


class _MapNode(ctypes.Structure):
    """libstdc++ ``_Rb_tree_node<pair<ggml_backend_buffer_type_t const, llama_memory_breakdown_data>>``."""

    _fields_ = [
        ("color", ctypes.c_int),
        ("parent", ctypes.c_void_p),
        ("left", ctypes.c_void_p),
        ("right", ctypes.c_void_p),
        ("buft", ctypes.c_void_p),
        ("model", ctypes.c_size_t),
        ("context", ctypes.c_size_t),
        ("compute", ctypes.c_size_t),
    ]


class _Map(ctypes.Structure):
    """libstdc++ ``std::map`` object: comparator (empty, padded), header node, node count."""

    _fields_ = [
        ("compare", ctypes.c_size_t),
        ("color", ctypes.c_int),
        ("root", ctypes.c_void_p),
        ("leftmost", ctypes.c_void_p),
        ("rightmost", ctypes.c_void_p),
        ("count", ctypes.c_size_t),
    ]


_BREAKDOWN_SYMBOL = "_Z26llama_get_memory_breakdownPK13llama_context"


@functools.lru_cache(maxsize=1)
def _breakdown_functions():
    """(llama_get_memory_breakdown, ggml_backend_buft_name) or None where the ABI trick does not apply."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    from llama_cpp import llama_cpp as lowlevel

    lib = lowlevel._lib
    fn = getattr(lib, _BREAKDOWN_SYMBOL, None)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]  # hidden result pointer, then the context
    fn.restype = ctypes.c_void_p
    base = Path(lib._name).with_name("libggml-base.so")
    try:
        ggml_base = ctypes.CDLL(str(base))
    except OSError:
        return None
    name_fn = ggml_base.ggml_backend_buft_name
    name_fn.argtypes = [ctypes.c_void_p]
    name_fn.restype = ctypes.c_char_p
    return fn, name_fn


def _memory_breakdown(ctx) -> dict[str, tuple[int, int, int]] | None:
    """Buffer type name -> (model, context, compute) bytes, straight from llama.cpp.

    The returned map's nodes are leaked (a few dozen bytes per call): freeing them needs the
    C++ destructor, which libllama does not export.
    """
    fns = _breakdown_functions()
    if fns is None:
        return None
    fn, name_fn = fns
    result = _Map()
    fn(ctypes.addressof(result), ctx)
    if result.count > 64:  # a CPU-only context has one to three buffer types
        raise RuntimeError(f"llama_get_memory_breakdown returned {result.count} entries: ABI mismatch")
    out: dict[str, tuple[int, int, int]] = {}
    stack, node = [], result.root
    while stack or node:  # in-order walk of the red-black tree
        while node:
            stack.append(node)
            node = _MapNode.from_address(node).left
        node = stack.pop()
        entry = _MapNode.from_address(node)
        name = name_fn(entry.buft).decode()
        out[name] = (entry.model, entry.context, entry.compute)
        node = entry.right
    if len(out) != result.count:
        raise RuntimeError("llama_get_memory_breakdown: tree walk disagrees with the node count (ABI mismatch)")
    return out


# --- parameters -------------------------------------------------------------------------------


def model_params_for(settings: LlamaSettings, *, no_alloc: bool, use_extra_bufts: bool = True):
    """The engine's ``llama_model_params`` for ``settings``, on the CPU; returns (params, keepalive).

    Built by the app's own ``tui.core.engine.params.build_model_params`` so the measurement
    is of the run the app makes, then pinned to the CPU (``n_gpu_layers`` 0). ``no_alloc``
    switches to llama.cpp's memory-fit dry run, which requires a non-mmap load
    (llama-model.cpp asserts ``!no_alloc`` on the mmap path and aborts the process).
    """
    from tui.core.engine.params import LOAD_MODE_NONE, build_model_params

    native = build_model_params(settings.with_changes(n_gpu_layers=0))
    params = native.params
    params.n_gpu_layers = 0
    params.use_extra_bufts = use_extra_bufts
    params.no_alloc = no_alloc
    if no_alloc:
        params.load_mode = LOAD_MODE_NONE
    return params, native.keepalive


def context_params_for(settings: LlamaSettings):
    """The engine's ``llama_context_params`` for ``settings`` (one output row per sequence)."""
    from tui.core.engine.params import build_context_params

    return build_context_params(settings, settings.n_ctx)


# --- log parsing ------------------------------------------------------------------------------

_RE_MODEL_BUF = re.compile(r"load_tensors:\s+(\S+) model buffer size =\s+([\d.]+) MiB")
_RE_OUTPUT_BUF = re.compile(r"llama_context:\s+(\S+)\s+output buffer size =\s+([\d.]+) MiB")
_RE_COMPUTE_BUF = re.compile(r"sched_reserve:\s+(\S+) compute buffer size =\s+([\d.]+) MiB")
_RE_ISWA = re.compile(r"llama_kv_cache_iswa: creating\s+(non-SWA|SWA) KV cache, size = (\d+) cells")
_RE_KV = re.compile(
    r"llama_kv_cache: size =\s+([\d.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers,.*?\), "
    r"K \((\w+)\):\s+([\d.]+) MiB, V \((\w+)\):\s+([\d.]+) MiB"
)
_RE_RECURRENT = re.compile(
    r"llama_memory_recurrent: size =\s+([\d.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers,.*?\), "
    r"R \((\w+)\):\s+([\d.]+) MiB, S \((\w+)\):\s+([\d.]+) MiB"
)
_RE_CPARAM = re.compile(r"llama_context: (n_ctx|n_batch|n_ubatch)\s+= (\d+)")
_RE_FA_PARAM = re.compile(r"llama_context: flash_attn\s+= (auto|enabled|disabled)")
_RE_FA_RESOLVED = re.compile(r"resolve_fused_ops: Flash Attention (enabled|not supported)")


def _mib(text: str) -> int:
    return round(float(text) * MiB)


def parse_log(text: str) -> dict:
    """Pull the figures this module relies on out of a llama.cpp log (see the module docstring)."""
    model: dict[str, int] = {}
    model_lines: dict[str, int] = {}  # a split model logs one buffer per shard and buffer type
    compute: dict[str, int] = {}
    output = 0
    caches: list[CacheLog] = []
    cparams: dict[str, int] = {}
    flash: bool | None = None
    pending_kind = "kv"
    for line in text.splitlines():
        if m := _RE_MODEL_BUF.search(line):
            model[m[1]] = model.get(m[1], 0) + _mib(m[2])
            model_lines[m[1]] = model_lines.get(m[1], 0) + 1
        elif m := _RE_OUTPUT_BUF.search(line):
            output += _mib(m[2])
        elif m := _RE_COMPUTE_BUF.search(line):
            compute[m[1]] = _mib(m[2])
        elif m := _RE_ISWA.search(line):
            pending_kind = "kv_base" if m[1] == "non-SWA" else "kv_swa"
        elif m := _RE_KV.search(line):
            caches.append(CacheLog(pending_kind, int(m[2]), int(m[3]), m[4], _mib(m[5]), m[6], _mib(m[7]), _mib(m[1])))
            pending_kind = "kv"
        elif m := _RE_RECURRENT.search(line):
            caches.append(CacheLog("recurrent", int(m[2]), int(m[3]), m[4], _mib(m[5]), m[6], _mib(m[7]), _mib(m[1])))
        elif m := _RE_CPARAM.search(line):
            cparams.setdefault(m[1], int(m[2]))
        elif m := _RE_FA_PARAM.search(line):
            if m[1] != "auto":  # llama_init_from_model already decided (e.g. quantized V forces it on)
                flash = m[1] == "enabled"
        elif m := _RE_FA_RESOLVED.search(line):
            flash = m[1] == "enabled"
    return {"model": model, "model_lines": model_lines, "compute": compute, "output": output, "caches": tuple(caches),
            "cparams": cparams, "flash_attn": flash}


# --- measuring ---------------------------------------------------------------------------------


def _is_sparse_or_large(path: Path) -> bool:
    st = path.stat()
    allocated = getattr(st, "st_blocks", 0) * 512
    return st.st_size > NO_ALLOC_ABOVE_BYTES or (st.st_size > MiB and allocated < st.st_size // 2)


def _check_agreement(exact: dict[str, int], logged: dict[str, int], what: str,
                     lines: dict[str, int] | None = None) -> None:
    """The exact figures must round to what the log printed, or the ABI walk read garbage.

    ``lines``: how many log lines were summed per name (each rounded on its own).
    """
    for name, size in logged.items():
        tolerance = LOG_TOLERANCE_BYTES * (lines or {}).get(name, 1)
        if name in exact and abs(exact[name] - size) > tolerance:
            raise RuntimeError(f"{what} {name}: breakdown {exact[name]} B vs log {size} B: ABI mismatch")


def measure_llama(path: str | os.PathLike, settings: LlamaSettings | None = None, *,
                  mode: str = "auto", use_extra_bufts: bool = True) -> LlamaMemory:
    """Load ``path`` on the CPU with ``settings`` and report what llama.cpp allocated (or would allocate).

    ``mode``: ``"load"`` (a real load, what the app does), ``"no_alloc"`` (llama.cpp's memory-fit
    dry run: nothing read or allocated, for header-only and large files) or ``"auto"``.
    Raises ``LlamaLoadError`` with llama.cpp's own last warnings when it refuses. ``settings``
    defaults to ``LlamaSettings()``.
    """
    settings = settings if settings is not None else LlamaSettings()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(path)
    # as the engine does: the CPU's extra buffers off on an AMX CPU (tui/core/fit/cpu_amx.py)
    use_extra_bufts = use_extra_bufts and cpu_extra_buffers_safe(host_has_amx())
    if mode == "auto":
        mode = "no_alloc" if _is_sparse_or_large(path) else "load"
    if mode not in ("load", "no_alloc"):
        raise ValueError(f"mode must be auto, load or no_alloc, not {mode!r}")
    llama_cpp = _llama()
    llama_cpp.llama_backend_init()
    with _lock, _LogCapture() as capture:
        mparams, keep_alive = model_params_for(settings, no_alloc=mode == "no_alloc", use_extra_bufts=use_extra_bufts)
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not model:
            raise LlamaLoadError(f"llama.cpp could not load {path.name}: {capture.tail()}")
        ctx = None
        try:
            ctx = llama_cpp.llama_init_from_model(model, context_params_for(settings))
            if not ctx:
                raise LlamaLoadError(f"llama.cpp could not create a context for {path.name}: {capture.tail()}")
            breakdown = _memory_breakdown(ctx)
            n_ctx = llama_cpp.llama_n_ctx(ctx)
            model_size = llama_cpp.llama_model_size(model)
        finally:
            if ctx:
                llama_cpp.llama_free(ctx)
            llama_cpp.llama_model_free(model)
            del keep_alive
        text = capture.text

    parsed = parse_log(text)
    log_model = parsed["model"]
    log_compute = parsed["compute"]
    if breakdown is not None:
        model_bufs = {k: v[0] for k, v in breakdown.items() if v[0]}
        context_bufs = {k: v[1] for k, v in breakdown.items() if v[1]}
        compute_bufs = {k: v[2] for k, v in breakdown.items() if v[2]}
        if mode == "load":
            _check_agreement(model_bufs, log_model, "model buffer", parsed["model_lines"])
        _check_agreement(compute_bufs, log_compute, "compute buffer")
        log_context = sum(c.total_bytes for c in parsed["caches"])
        if abs(sum(context_bufs.values()) - log_context) > LOG_TOLERANCE_BYTES * max(1, len(parsed["caches"])):
            raise RuntimeError("KV/recurrent breakdown disagrees with the log: ABI mismatch")
    else:
        model_bufs = {k: v for k, v in log_model.items() if v}
        context_bufs = {"CPU": sum(c.total_bytes for c in parsed["caches"])} if parsed["caches"] else {}
        compute_bufs = dict(log_compute)
    cp = parsed["cparams"]
    flash = parsed["flash_attn"]
    if flash is None:
        raise RuntimeError("llama.cpp's log did not say whether flash attention is on")
    return LlamaMemory(
        path=str(path), settings=settings, mode=mode, mapped=mode == "load" and settings.use_mmap,
        exact=breakdown is not None,
        model_buffers=model_bufs, context_buffers=context_bufs, compute_buffers=compute_bufs,
        output_bytes=parsed["output"], caches=parsed["caches"], n_ctx=n_ctx,
        n_batch=cp.get("n_batch", settings.n_batch), n_ubatch=cp.get("n_ubatch", settings.n_ubatch),
        flash_attn=flash, model_size_bytes=model_size,
        log_model_buffers=log_model, log_compute_buffers=log_compute, log=text,
    )


# --- comparing an estimate with llama.cpp --------------------------------------------------------


def fit_weights_bytes(path: str | os.PathLike, memory: LlamaMemory) -> int:
    """The weights figure llama.cpp's own memory fitting plans with for ``memory``'s load.

    That is the model buffers' sum, except after an mmap load with repacked weights: the
    ``CPU_Mapped`` buffer then spans the file from its first to its last mapped tensor,
    repacked tensors in between included, although those pages are read once (to build
    ``CPU_REPACK``) and never again. llama.cpp's ``--fit`` (common/fit.cpp) sizes the run
    with a no_alloc dry run instead, where each tensor is counted once: that figure is
    measured here with a load without mmap, which allocates each tensor once too.
    """
    if memory.mapped and any(name in CPU_EXTRA_BUFFERS for name in memory.model_buffers):
        # a real load without mmap allocates each tensor once (no_alloc would do, but aborts on split files)
        return measure_llama(path, memory.settings.with_changes(use_mmap=False), mode="load").weights_bytes
    return memory.weights_bytes


@dataclass(frozen=True)
class FitComparison:
    """(estimated, measured) byte pairs for one model and settings, CPU-only."""

    weights: tuple[int, int]
    kv: tuple[int, int]
    compute: tuple[int, int]
    output: tuple[int, int]
    estimate: object = field(default=None, compare=False, repr=False)  # the FitEstimate

    @staticmethod
    def error_pct(pair: tuple[int, int]) -> float:
        estimated, measured = pair
        if measured == 0:
            return 0.0 if estimated == 0 else float("inf")
        return (estimated - measured) / measured * 100.0


def compare_fit(path: str | os.PathLike, anatomy, profile, memory: LlamaMemory) -> FitComparison:
    """Run ``tui.core.fit.estimate.estimate_fit`` for ``memory``'s settings and pair it with what llama.cpp reported."""
    from tui.core.fit.estimate import estimate_fit, output_buffer_bytes

    estimate = estimate_fit(anatomy, profile, memory.settings)
    weights = sum(d.weights_bytes for d in estimate.devices)
    kv = sum(d.kv_bytes for d in estimate.devices)
    compute = sum(d.compute_bytes for d in estimate.devices)
    return FitComparison(
        weights=(weights, fit_weights_bytes(path, memory)),
        kv=(kv, memory.kv_bytes),
        compute=(compute, memory.compute_bytes),
        output=(output_buffer_bytes(anatomy, memory.settings), memory.output_bytes),
        estimate=estimate,
    )
