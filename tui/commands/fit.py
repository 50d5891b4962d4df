"""``localai-tui fit MODEL [--gpu ...] [--vram GiB] [--ram GiB] [llama.cpp flags] [--json]``.

Will MODEL fit this hardware with these llama.cpp settings, and how fast will it decode?
Prints what llama.cpp would allocate on every device (weights, KV cache, compute buffers,
overhead), the verdict with a 1 GiB safety margin, the estimated tokens/s, warnings, and the
equivalent llama-server command. ``-ngl auto`` offloads what fits the way llama.cpp's ``--fit``
does (for MoE models: every layer, with the experts of the first layers on the CPU).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.commands.fit_flags import (
    add_fit_flags,
    add_profile_flags,
    profile_from_args,
    settings_from_args,
    wants_auto_layers,
)
from tui.core.sizes import GiB, MiB

if TYPE_CHECKING:
    from tui.core.fit.estimate import FitEstimate
    from tui.core.hardware.devices import HardwareProfile

#: Context the command assumes when -c is not given (tokens), unless the model's is smaller.
DEFAULT_CONTEXT = 4096


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="will a model fit your GPU/RAM, and how fast will it run (llama.cpp's own memory rules)",
        description="Estimate, per device, the memory llama.cpp will allocate for MODEL (weights, KV cache, "
                    "compute buffers, overhead), whether it fits, the decode speed, and the llama-server "
                    "command that runs it that way. Only the model's header is read.",
    )
    parser.add_argument("model", metavar="MODEL",
                        help="a .gguf file (any shard), or OWNER/REPO:LABEL on the Hugging Face Hub")
    add_profile_flags(parser)
    add_fit_flags(parser)
    speed = parser.add_argument_group("speed")
    speed.add_argument("-d", "--depth", dest="depth", type=_count, default=None, metavar="N",
                       help="quote decode speed with N tokens already in the context (llama-bench -d; "
                            "default: half the context)")
    speed.add_argument("--prompt-tokens", dest="prompt_tokens", type=_count, default=512, metavar="N",
                       help="prompt length for prompt-processing speed and time to first token (default: 512)")
    parser.add_argument("--mmproj", metavar="FILE|auto", default=None,
                        help="count a vision projector too: its .gguf file, or 'auto' (the repo's mmproj file "
                             "on the Hub, or one next to a local model), as llama-server's --fit does")
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    """A whole number of tokens, 0 or more (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of tokens") from None
    if not 0 <= value <= 100_000_000:
        raise argparse.ArgumentTypeError(f"{value} tokens is out of range (0 to 100000000)")
    return value
def resolve_projector(spec: str, mmproj: str | None):
    """``--mmproj FILE|auto`` -> a ``ProjectorSize`` (or None without the flag)."""
    from pathlib import Path

    from tui.core.errors import LocalAIError
    from tui.core.fit.projector import projector_next_to, read_local_projector
    from tui.core.hub.model_spec import local_model_path

    if mmproj is None:
        return None
    if mmproj.strip().lower() != "auto":
        return read_local_projector(Path(mmproj).expanduser())
    local = local_model_path(spec)
    if local is not None:
        found = projector_next_to(local)
        if found is None:
            raise LocalAIError(f"no mmproj*.gguf file next to {local.name}", hint="give the file: --mmproj FILE")
        return read_local_projector(found)
    from tui.core.hub.model_ref import require_hub_ref
    from tui.core.hub.projector import read_hub_projector

    return read_hub_projector(require_hub_ref(spec))


def run(args: argparse.Namespace) -> int:
    import json

    from tui.core.errors import LocalAIError
    from tui.core.fit.verdict import Verdict
    from tui.core.hub.model_spec import load_model_anatomy

    anatomy = load_model_anatomy(args.model)
    projector = resolve_projector(args.model, args.mmproj)
    profile = profile_from_args(args)
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    trained = anatomy.n_ctx_train or DEFAULT_CONTEXT
    if args.n_ctx is None:
        settings = settings.with_changes(n_ctx=min(DEFAULT_CONTEXT, trained))
    elif args.n_ctx == 0:  # llama.cpp: -c 0 is the model's trained context
        settings = settings.with_changes(n_ctx=trained)
    try:
        return _fit_and_print(args, anatomy, profile, settings, projector)
    except LocalAIError as exc:
        if not args.json:
            raise
        # llama.cpp refuses these settings (a quantized V cache without flash attention, ...): the
        # JSON says so with the fix, never a verdict that suggests it would run.
        print(json.dumps({"model": args.model, "profile": profile.name, "verdict": Verdict.REFUSED, "fits": False,
                          "error": exc.message, "fix": exc.hint}, indent=2))
        return exc.exit_code


def _fit_and_print(args: argparse.Namespace, anatomy, profile, settings, projector) -> int:
    import json

    from tui.core.fit.autofit import auto_gpu_layers, full_auto_fit
    from tui.core.fit.estimate import estimate_fit
    from tui.core.fit.llama_args import llama_server_args, shell_command
    from tui.core.fit.rpc import box_summaries, rpc_server_commands
    from tui.core.hardware.measured import measured_speed, measured_text
    from tui.core.hub.model_spec import local_model_path

    notes: list[str] = []
    auto = None
    if wants_auto_layers(args):
        # Without -c the context is searched too, from the trained one down: the Fit screen's "a".
        auto = (full_auto_fit(anatomy, profile, settings, projector=projector) if args.n_ctx is None
                else auto_gpu_layers(anatomy, profile, settings, projector=projector))
        settings = auto.settings
        notes.extend(f"-ngl auto: {change}" for change in auto.changes)
        if auto.missing:
            notes.append(f"-ngl auto: nothing fits; {auto.missing}")
        elif not auto.changes:
            notes.append("-ngl auto: every layer fits on the GPU with the margin")
    estimate = estimate_fit(anatomy, profile, settings, depth=args.depth, prompt_tokens=max(1, args.prompt_tokens),
                            projector=projector)
    command = llama_server_args(args.model, estimate.settings, cpu_only=profile.is_cpu_only,
                                rpc=estimate.rpc_endpoints, no_repack=bool(profile.extra.get("cpu_amx")))
    servers = rpc_server_commands(profile)
    if estimate.speed is not None and estimate.speed.correction != 1.0:
        notes.append(f"speed x{estimate.speed.correction:.2f}: what {profile.speed_correction_runs} bench "
                     "run(s) on this machine measured against the estimate (measured beats estimated)"
                     + ("; the range is theirs" if profile.speed_spread else ""))
    measured = measured_speed(anatomy, local_model_path(args.model.strip()), profile)
    if measured is not None:
        notes.append(f"{measured_text(measured)} on this machine")
    if args.json:
        out = estimate.to_dict()
        out["measured_tokens_per_s"] = round(measured.tg_tokens_per_s or 0.0, 2) if measured else None
        out["measured_at"] = measured.measured_at if measured else None
        out["model"] = args.model
        out["profile"] = profile.name
        out["llama_server_command"] = command
        out["notes"] = notes
        if profile.boxes:
            out["boxes"] = [b.to_dict() for b in box_summaries(estimate, profile)]
            out["rpc_server_commands"] = [{"box": box.name, "endpoint": box.endpoint, "command": argv}
                                          for box, argv in servers]
        if auto is not None:
            out["auto_fit"] = {"found": auto.found, "missing": auto.missing, "changes": list(auto.changes)}
        print(json.dumps(out, indent=2))
    else:
        print(format_estimate(estimate, profile, title=args.model, notes=notes))
        if profile.boxes:
            print()
            print(format_boxes(estimate, profile))
            print()
            print("on each helper box (llama.cpp built with -DGGML_RPC=ON):")
            for box, argv in servers:
                print(f"  {box.name}:  {shell_command(argv)}")
        print()
        print("llama-server command:" if not profile.boxes else "on this machine (the head):")
        print("  " + shell_command(command))
    return 0


def format_boxes(estimate: FitEstimate, profile: HardwareProfile) -> str:
    """Per-machine totals and the network's share of each token, as plain text."""
    from tui.core.fit.rpc import box_summaries

    lines = ["machine         address              link           devices      total   capacity  verdict"]
    for b in box_summaries(estimate, profile):
        lines.append(f"{b.name[:15]:<15} {(b.endpoint or 'this machine')[:20]:<20} {(b.link or '-')[:14]:<14} "
                     f"{','.join(b.devices)[:12]:<12} {b.total_bytes / GiB:6.2f} {b.capacity_bytes / GiB:10.2f}  "
                     f"{b.verdict}")
    lines.append("(GiB)")
    net, prompt = estimate.network, estimate.prompt_network
    if net is not None:
        lines.append(f"network: {net.visits} remote visit(s) per token, {net.seconds * 1e3:.2f} ms per token "
                     f"({net.round_trip_seconds * 1e3:.2f} ms of it round trips, "
                     f"{(net.bytes_sent + net.bytes_received) / 1024:.0f} KiB moved)")
    if prompt is not None:
        lines.append(f"network: {prompt.seconds * 1e3:.1f} ms per prompt batch of {prompt.n_tokens} tokens "
                     f"({(prompt.bytes_sent + prompt.bytes_received) / MiB:.1f} MiB moved)")
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.1f} s"


def _unit(estimate: FitEstimate) -> tuple[str, int]:
    """GiB, or MiB for a small model (every device's total under 1 GiB), whose figures would read 0.00."""
    largest = max((d.total_bytes for d in estimate.devices), default=0)
    return ("MiB", MiB) if largest < GiB else ("GiB", GiB)


def format_estimate(estimate: FitEstimate, profile: HardwareProfile, title: str | None = None,
                    notes: list[str] | None = None) -> str:
    """The per-device table (GiB), the verdict and speed, and the warnings, as plain text."""
    from tui.core.fit.speed_range import format_speed

    s = estimate.settings
    lines = []
    if title:
        lines.append(title)
    ngl = "all" if s.n_gpu_layers is None else str(s.n_gpu_layers)
    lines.append(f"hardware: {profile.name}")
    lines.append(
        f"context {estimate.n_ctx} cells  |  GPU layers {estimate.n_gpu_layers}/{estimate.n_layers_total} (-ngl {ngl})"
        f"  |  KV {s.cache_type_k}/{s.cache_type_v}  |  flash attention {'on' if estimate.flash_attn_enabled else 'off'}"
        f" ({s.flash_attn})"
    )
    lines.append("")
    unit, scale = _unit(estimate)

    def size(n: int) -> str:
        return f"{n / scale:.2f}"

    projector = estimate.projector is not None
    header = ("device", "weights", *(("mmproj",) if projector else ()), "KV", "compute", "overhead", "total",
              "capacity", "headroom", "verdict")
    rows = [header]
    for d in estimate.devices:
        rows.append((d.name, size(d.weights_bytes), *((size(d.projector_bytes),) if projector else ()),
                     size(d.kv_bytes), size(d.compute_bytes), size(d.overhead_bytes),
                     size(d.total_bytes), size(d.capacity_bytes), size(d.headroom_bytes), d.verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"({unit}; headroom = capacity - total; 'fits' leaves at least "
                 f"{estimate.margin_bytes / GiB:g} GiB free, 'tight' fits without that margin)")
    pool = estimate.pool
    if pool is not None:
        lines.append(f"unified memory, one pool: GPU {size(pool.gpu_bytes)} + CPU {size(pool.cpu_bytes)} = "
                     f"{size(pool.total_bytes)} of {size(pool.capacity_bytes)} {unit} ({pool.verdict}); the CPU's "
                     "capacity is what the GPU's share leaves")
    lines.append("")
    speed = (format_speed(estimate.est_tokens_per_s, estimate.speed_class, estimate.est_tokens_per_s_range)
             if estimate.est_tokens_per_s
             else "unknown (no bandwidth)")
    if estimate.ram_overflow_bytes:
        speed += " (pages from disk: RAM pressure)"
    lines.append(f"verdict: {estimate.verdict}   |   decode: {speed} at {estimate.speed_context_tokens} tokens "
                 "of context")
    if estimate.est_prompt_tokens_per_s:
        lines.append(f"prompt: ~{estimate.est_prompt_tokens_per_s:,.0f} tokens/s for {estimate.prompt_tokens} tokens"
                     f"   |   time to first token ~{_seconds(estimate.est_ttft_s)}")
    for note in (notes or []):
        lines.append(f"note: {note}")
    for w in estimate.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
