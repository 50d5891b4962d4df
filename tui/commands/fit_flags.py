"""llama.cpp's own flags, shared by ``fit``, ``chat`` and ``bench``.

Users learn one vocabulary: the flags mean here what they mean to llama-server.
"""

from __future__ import annotations

import argparse
import math

from tui.core.errors import LocalAIError
from tui.core.fit.settings import (
    FLASH_ATTN_MODES,
    GGML_MAX_N_THREADS,
    KV_CACHE_TYPES,
    MAX_INT32,
    THREADS_PER_CORE_LIMIT,
    LlamaSettings,
    TensorOverride,
    max_threads,
)

#: ``-ngl auto``: let the fit engine choose the most layers that fit.
NGL_AUTO = "auto"


def _ngl(text: str):
    value = text.strip().lower()
    if value == NGL_AUTO:
        return NGL_AUTO
    if value in ("all", "max"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a layer count or 'auto'") from None
    if number < 0 or number >= 999:
        return None  # llama.cpp: -1 / 999 mean "all layers"
    return number


def non_negative_int(text: str) -> int:
    """argparse type for counts (tokens, layers, repetitions): a whole number, 0 to llama.cpp's int32 limit."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must not be negative")
    if value > MAX_INT32:
        raise argparse.ArgumentTypeError(f"'{text}' is larger than llama.cpp accepts ({MAX_INT32})")
    return value


def positive_int(text: str) -> int:
    """argparse type for sizes that must be at least 1 (batch sizes)."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return value


def thread_count(text: str) -> int | None:
    """``-t N``: 1 to ``max_threads()`` on this machine; 0 or less means llama.cpp's default, as in llama.cpp."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        return None
    if value > max_threads():
        raise argparse.ArgumentTypeError(
            f"{value} threads is more than this machine can use (at most {max_threads()}: "
            f"{THREADS_PER_CORE_LIMIT} per logical core, ggml's limit {GGML_MAX_N_THREADS})")
    return value


def int32(text: str) -> int:
    """Any whole number llama.cpp can read (``std::stoi``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not -MAX_INT32 - 1 <= value <= MAX_INT32:
        raise argparse.ArgumentTypeError(f"'{text}' is out of llama.cpp's range")
    return value


def finite_float(low: float, high: float, *, low_open: bool = False):
    """argparse type for a real number in ``[low, high]`` (``(low, high]`` when ``low_open``); never NaN or inf."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            left = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"'{text}' must be a number in {left}{low:g}, {high:g}]")
        return value

    return parse


def _tensor_split(text: str) -> tuple[float, ...]:
    try:
        parts = tuple(float(p) for p in text.replace("/", ",").split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of proportions like 3,1") from None
    if not parts or any(not math.isfinite(p) or p < 0 for p in parts) or not sum(parts) > 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of proportions like 3,1")
    return parts


def _override(text: str) -> list[TensorOverride]:
    try:
        return TensorOverride.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_fit_flags(parser: argparse.ArgumentParser) -> None:
    """Add the llama.cpp settings flags (context, offload, cache, batches, MoE)."""
    group = parser.add_argument_group("llama.cpp settings (same names as llama-server)")
    group.add_argument("-c", "--ctx-size", dest="n_ctx", type=non_negative_int, default=None,
                       help=f"context size in tokens; 0 = the model's trained context (default: {LlamaSettings.n_ctx}, "
                            "or the model's if smaller)")
    group.add_argument("-ngl", "--n-gpu-layers", "--gpu-layers", dest="n_gpu_layers", type=_ngl, default=None,
                       help="layers on the GPU: a number, 'all' or 'auto' (most that fit; default: all)")
    group.add_argument("-ctk", "--cache-type-k", dest="cache_type_k", choices=KV_CACHE_TYPES, default=None,
                       help="K cache type (default: f16)")
    group.add_argument("-ctv", "--cache-type-v", dest="cache_type_v", choices=KV_CACHE_TYPES, default=None,
                       help="V cache type (default: f16; quantized V needs flash attention)")
    group.add_argument("-fa", "--flash-attn", dest="flash_attn", choices=FLASH_ATTN_MODES, default=None,
                       help="flash attention (default: auto)")
    group.add_argument("-b", "--batch-size", dest="n_batch", type=positive_int, default=None,
                       help="logical batch size (default: 2048)")
    group.add_argument("-ub", "--ubatch-size", dest="n_ubatch", type=positive_int, default=None,
                       help="physical batch size (default: 512)")
    group.add_argument("--swa-full", dest="swa_full", action="store_true", default=None,
                       help="full-size cache for sliding-window layers")
    group.add_argument("-cmoe", "--cpu-moe", dest="cpu_moe", action="store_true", default=None,
                       help="keep all MoE expert weights on the CPU")
    group.add_argument("-ncmoe", "--n-cpu-moe", dest="n_cpu_moe", type=non_negative_int, default=None,
                       help="keep the expert weights of the first N layers on the CPU")
    group.add_argument("-ot", "--override-tensor", dest="overrides", type=_override, action="append", default=None,
                       help="PATTERN=BUFFER, e.g. 'blk\\.[0-9]+\\.ffn_.*_exps=CPU' (first match wins; repeatable)")
    group.add_argument("-ts", "--tensor-split", dest="tensor_split", type=_tensor_split, default=None,
                       help="share of layers per GPU, e.g. 3,1 (default: proportional to free memory)")
    group.add_argument("-t", "--threads", dest="n_threads", type=thread_count, default=None,
                       help="CPU threads (default: physical cores)")
    group.add_argument("--no-mmap", dest="use_mmap", action="store_false", default=None,
                       help="read the model into memory instead of mapping it")


def settings_from_args(args: argparse.Namespace, base: LlamaSettings | None = None) -> LlamaSettings:
    """Settings from the flags the user typed; untyped flags keep ``base``'s values.

    ``-ngl auto`` is left to the caller (``wants_auto_layers``): it needs the fit engine.
    """
    settings = base or LlamaSettings()
    changes = {}
    for name in ("n_ctx", "cache_type_k", "cache_type_v", "flash_attn", "n_batch", "n_ubatch",
                 "swa_full", "cpu_moe", "n_cpu_moe", "tensor_split", "n_threads", "use_mmap"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    ngl = getattr(args, "n_gpu_layers", None)
    if ngl is not None and ngl != NGL_AUTO:
        changes["n_gpu_layers"] = ngl
    overrides = getattr(args, "overrides", None)
    if overrides:
        changes["overrides"] = tuple(rule for group in overrides for rule in group)
    settings = settings.with_changes(**changes)
    try:
        settings.validate()
    except ValueError as exc:
        raise FlagError(str(exc)) from None
    return settings


class FlagError(LocalAIError):
    """A flag's value llama.cpp would refuse or misread: a usage error (exit code 2, as argparse's)."""

    exit_code = 2


def wants_auto_layers(args: argparse.Namespace) -> bool:
    return getattr(args, "n_gpu_layers", None) == NGL_AUTO


def add_profile_flags(parser: argparse.ArgumentParser, *, boxes: bool = True) -> None:
    """Which hardware to size for: detected, CPU-only, a catalog card, or what-if memory."""
    group = parser.add_argument_group("hardware")
    group.add_argument("--gpu", dest="gpu", action="append", default=None, metavar="GPU",
                       help="'auto' (detected, default), 'cpu', a catalog name such as 'RTX 3060 12GB', "
                            "or a number from 'localai-tui gpus'; repeat for several GPUs")
    group.add_argument("--vram", dest="vram_gib", type=finite_float(0, 1 << 20), default=None, metavar="GiB",
                       help="what-if VRAM per GPU in GiB (overrides the profile's)")
    group.add_argument("--ram", dest="ram_gib", type=finite_float(0, 1 << 20), default=None, metavar="GiB",
                       help="what-if system RAM in GiB (overrides the profile's)")
    if boxes:
        add_box_flags(group)


def add_box_flags(group: argparse._ArgumentGroup) -> None:
    """``--rpc HOST:PORT=DEVICE`` (repeatable) and ``--link``: helper boxes over llama.cpp's RPC backend."""
    group.add_argument("--rpc", dest="rpc", action="append", default=None, metavar="HOST:PORT=DEVICE",
                       help="a helper box running llama.cpp's rpc-server, e.g. '192.168.1.20:50052=RTX 3060 12GB' "
                            "or '192.168.1.21=cpu:32@10gbe' (GiB of RAM lent; its own link); several devices: 'A+B'; repeatable, "
                            "in llama-server's --rpc order; llama.cpp counts their devices first, so -ts lists "
                            "the boxes' shares before this machine's GPUs")
    group.add_argument("--link", dest="link", default=None, metavar="LINK",
                       help="the network to the --rpc boxes: 1gbe (default), 2.5gbe, 10gbe, thunderbolt, loopback")


def profile_from_args(args: argparse.Namespace):  # -> HardwareProfile
    """The hardware the flags describe: ``--gpu``/``--vram``/``--ram`` for the head, ``--rpc`` boxes added."""
    from tui.core.hardware.boxes import DEFAULT_LINK, attach_boxes, parse_rpc_arg
    from tui.core.hardware.profiles import resolve_profile

    profile = resolve_profile(getattr(args, "gpu", None), getattr(args, "vram_gib", None),
                              getattr(args, "ram_gib", None))
    rpc = getattr(args, "rpc", None) or []
    link = getattr(args, "link", None)
    if link is not None and not rpc:
        from tui.core.errors import LocalAIError

        raise LocalAIError("--link is the network to the --rpc boxes: give at least one --rpc")
    if rpc:
        profile = attach_boxes(profile, [parse_rpc_arg(text, link or DEFAULT_LINK) for text in rpc])
    return profile
