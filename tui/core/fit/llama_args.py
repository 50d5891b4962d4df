"""The llama-server command that runs a model the way the estimate assumes.

Flag names are llama.cpp's own (common/arg.cpp in the vendored llama.cpp), so the command
can be pasted into a shell: ``-m PATH`` or ``-hf OWNER/REPO:LABEL``, ``-c``, ``-ngl``,
``-fa``, ``-ctk``/``-ctv``, ``-b``/``-ub`` (only when not the defaults), ``--swa-full``,
``-ot`` rules, ``--cpu-moe``/``--n-cpu-moe`` (after ``-ot``: llama.cpp applies override rules
in command-line order and the app puts explicit rules first), ``-ts``, ``-t`` and
``--load-mode none`` for ``--no-mmap``. ``-np`` is always given: llama-server defaults to 4
parallel slots sharing one cache, which changes the sliding-window cache and the output
buffer; the app decodes one sequence.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence

from tui.core.fit.settings import LlamaSettings

#: llama-server's defaults (common/common.h) for flags emitted only when they differ.
DEFAULT_N_BATCH = 2048
DEFAULT_N_UBATCH = 512
DEFAULT_CACHE_TYPE = "f16"
DEFAULT_FLASH_ATTN = "auto"

_HF_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w.+-]+)?$")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def settings_args(settings: LlamaSettings, *, cpu_only: bool = False) -> list[str]:
    """The flags for ``settings`` alone (no program, no model). ``cpu_only``: for a box without a
    GPU, where offload flags (``-ngl``, ``--cpu-moe``, ``--n-cpu-moe``, ``-ts``) mean nothing."""
    args = ["-c", str(settings.n_ctx)]
    if not cpu_only:
        args += ["-ngl", "all" if settings.n_gpu_layers is None else str(settings.n_gpu_layers)]
    if settings.flash_attn != DEFAULT_FLASH_ATTN:
        args += ["-fa", settings.flash_attn]
    if settings.cache_type_k != DEFAULT_CACHE_TYPE:
        args += ["-ctk", settings.cache_type_k]
    if settings.cache_type_v != DEFAULT_CACHE_TYPE:
        args += ["-ctv", settings.cache_type_v]
    if settings.n_batch != DEFAULT_N_BATCH:
        args += ["-b", str(settings.n_batch)]
    if settings.n_ubatch != DEFAULT_N_UBATCH:
        args += ["-ub", str(settings.n_ubatch)]
    if settings.swa_full:
        args.append("--swa-full")
    for rule in settings.overrides:
        args += ["-ot", rule.to_arg()]
    if settings.cpu_moe and not cpu_only:
        args.append("--cpu-moe")
    if settings.n_cpu_moe and not cpu_only:
        args += ["--n-cpu-moe", str(settings.n_cpu_moe)]
    if settings.tensor_split and not cpu_only:
        args += ["-ts", ",".join(_number(p) for p in settings.tensor_split)]
    if settings.n_threads:
        args += ["-t", str(settings.n_threads)]
    if not settings.use_mmap:
        args += ["--load-mode", "none"]
    args += ["-np", str(max(1, settings.n_seq_max))]
    return args


def model_args(model: str, source: str = "auto") -> list[str]:
    """``-m PATH`` for a file, ``-hf OWNER/REPO[:LABEL]`` for a Hugging Face repository.

    ``source``: ``"path"``, ``"hf"`` or ``"auto"`` (a path that exists or ends in .gguf is a
    file; ``owner/repo`` or ``owner/repo:label`` is a repository).
    """
    if source == "auto":
        looks_hf = bool(_HF_REPO.match(model)) and not os.path.exists(model) and not model.lower().endswith(".gguf")
        source = "hf" if looks_hf else "path"
    if source == "hf":
        return ["-hf", model]
    if source != "path":
        raise ValueError(f"model source must be auto, path or hf, not {source!r}")
    return ["-m", model]


def llama_server_args(model: str, settings: LlamaSettings, *, source: str = "auto",
                      program: str = "llama-server", cpu_only: bool = False, rpc: Sequence[str] = (),
                      no_repack: bool = False) -> list[str]:
    """The full llama-server command line for ``model`` with ``settings``, as a list of arguments.

    ``rpc``: the helper boxes' ``host:port`` (``--rpc``, common/arg.cpp), in the plan's order.
    ``no_repack``: this machine's CPU has AMX, whose kernels crash in this llama.cpp
    (``tui/core/fit/cpu_amx.py``): ``--no-repack`` (common/arg.cpp) loads as the app does.
    """
    rpc_args = ["--rpc", ",".join(rpc)] if rpc else []
    repack = ["--no-repack"] if no_repack else []
    return [program, *model_args(model, source), *rpc_args, *settings_args(settings, cpu_only=cpu_only), *repack]


def shell_command(args: list[str]) -> str:
    """``args`` as one line a POSIX shell runs unchanged (quoted where needed)."""
    return shlex.join(args)


def llama_server_command(model: str, settings: LlamaSettings, *, source: str = "auto",
                         program: str = "llama-server", cpu_only: bool = False, rpc: Sequence[str] = (),
                         no_repack: bool = False) -> str:
    return shell_command(llama_server_args(model, settings, source=source, program=program, cpu_only=cpu_only,
                                           rpc=rpc, no_repack=no_repack))
