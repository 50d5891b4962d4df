"""ggml's backend API through ctypes: the devices and buffer types llama.cpp can place tensors in.

llama-cpp-python binds llama.h but not ggml-backend.h, and ``-ot PATTERN=BUFFER`` needs a
``ggml_backend_buffer_type_t``. The symbols live in libggml-base / libggml, which libllama
links against, so they are looked up through libllama's handle first (dlsym searches a
library's dependencies) and through the sibling shared libraries otherwise (Windows).
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from typing import Any

from tui.core.engine.errors import BufferTypeError

#: ``enum ggml_backend_dev_type`` (ggml/include/ggml-backend.h).
DEVICE_TYPE_NAMES = {0: "CPU", 1: "GPU", 2: "IGPU", 3: "ACCEL"}

_SIGNATURES = {
    "ggml_backend_dev_count": ([], ctypes.c_size_t),
    "ggml_backend_dev_get": ([ctypes.c_size_t], ctypes.c_void_p),
    "ggml_backend_dev_name": ([ctypes.c_void_p], ctypes.c_char_p),
    "ggml_backend_dev_description": ([ctypes.c_void_p], ctypes.c_char_p),
    "ggml_backend_dev_type": ([ctypes.c_void_p], ctypes.c_int),
    "ggml_backend_dev_memory": ([ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)], None),
    "ggml_backend_dev_buffer_type": ([ctypes.c_void_p], ctypes.c_void_p),
    "ggml_backend_buft_name": ([ctypes.c_void_p], ctypes.c_char_p),
    "ggml_backend_cpu_buffer_type": ([], ctypes.c_void_p),
}


@functools.cache
def _libraries() -> tuple[ctypes.CDLL, ...]:
    """libllama first, then ggml's own libraries from the same folder."""
    import llama_cpp.llama_cpp as llama_cpp
    from llama_cpp._ctypes_extensions import load_shared_library

    libraries = [llama_cpp._lib]
    for base_name in ("ggml-base", "ggml"):
        try:
            libraries.append(load_shared_library(base_name, llama_cpp._base_path))
        except (OSError, RuntimeError):
            continue
    return tuple(libraries)


@functools.cache
def _function(name: str) -> Any:  # a ctypes foreign function (its signature set from _SIGNATURES)
    for lib in _libraries():
        try:
            func = getattr(lib, name)
        except AttributeError:
            continue
        func.argtypes, func.restype = _SIGNATURES[name]
        return func
    raise BufferTypeError(f"this llama.cpp build does not export {name}", hint="reinstall llama-cpp-python")


@dataclass(frozen=True)
class BackendDevice:
    """A device llama.cpp can use; memory in bytes as the backend reports it."""

    index: int
    name: str          # "CPU", "CUDA0", "Metal", ...
    description: str
    kind: str          # CPU | GPU | IGPU | ACCEL
    buffer_type: str   # the name ``-ot`` rules use ("CPU", "CUDA0", ...)
    free_bytes: int
    total_bytes: int


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


def _buffer_types() -> dict[str, int]:
    """Buffer type name -> pointer, built as common/arg.cpp does for ``-ot``."""
    found: dict[str, int] = {}
    for i in range(_function("ggml_backend_dev_count")()):
        device = _function("ggml_backend_dev_get")(i)
        buft = _function("ggml_backend_dev_buffer_type")(device)
        if buft:
            found[_text(_function("ggml_backend_buft_name")(buft))] = buft
    return found


def backend_devices() -> list[BackendDevice]:
    """Every device the loaded llama.cpp build registered, CPU included."""
    devices = []
    for i in range(_function("ggml_backend_dev_count")()):
        device = _function("ggml_backend_dev_get")(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        _function("ggml_backend_dev_memory")(device, ctypes.byref(free), ctypes.byref(total))
        buft = _function("ggml_backend_dev_buffer_type")(device)
        devices.append(BackendDevice(
            index=i,
            name=_text(_function("ggml_backend_dev_name")(device)),
            description=_text(_function("ggml_backend_dev_description")(device)),
            kind=DEVICE_TYPE_NAMES.get(_function("ggml_backend_dev_type")(device), "?"),
            buffer_type=_text(_function("ggml_backend_buft_name")(buft)) if buft else "",
            free_bytes=free.value,
            total_bytes=total.value,
        ))
    return devices


def cpu_buffer_type() -> int:
    """``ggml_backend_cpu_buffer_type()``: llama.cpp compares override targets with this pointer."""
    return int(_function("ggml_backend_cpu_buffer_type")())


def buffer_type_named(name: str) -> int:
    """The buffer type an ``-ot`` rule names ("CPU", "CUDA0", ...), as llama.cpp resolves it."""
    if name == "CPU":
        return cpu_buffer_type()
    known = _buffer_types()
    if name not in known:
        raise BufferTypeError(
            f"unknown buffer type '{name}' in a tensor override",
            hint=f"this llama.cpp build has: {', '.join(sorted(known)) or 'none'}",
        )
    return known[name]
