"""``localai-tui compare MODEL --gpu A --gpu B ...``: one model, side by side on several boxes.

Each ``--gpu`` names one box (one column): ``auto`` (this machine), ``cpu``, a catalog name
("RTX 3090", "Tesla P40 24GB", "DDR5-6000 dual channel", "Apple M4 Pro 48GB") or a custom
profile; ``A+B`` puts several devices in one box ("RTX 3060 12GB+RTX 3060 12GB", or a card with
fast RAM: "RTX 3060 12GB+DDR5-6000 dual channel"). Without ``--gpu``: this machine and the
catalog picks of ``tui/data/advisor.toml``. Every column holds the box's best placement (unless
``-ngl``/``--n-cpu-moe``/``--cpu-moe``/``-ot`` fix one), the memory it uses and the estimated
tokens/s: the numbers ``localai-tui fit MODEL --gpu ... -ngl ... --n-cpu-moe ...`` prints.
``--sweep`` adds tokens/s and memory as the context grows, and decode speed as the cache fills
at the asked context (depth 0 up to -c: ``tui.core.advisor.sweep``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tui.commands.fit_flags import add_box_flags, add_fit_flags

if TYPE_CHECKING:
    from tui.core.advisor.compare import BoxResult, BoxSpec
    from tui.core.advisor.placement import BestPlacement
    from tui.core.advisor.sweep import DepthPoint, SweepPoint
    from tui.core.gguf.anatomy import ModelAnatomy

#: Context when -c is not given (tokens), unless the model's trained context is smaller (as ``fit``).
DEFAULT_CONTEXT = 4096


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="one model side by side on several GPUs / RAM setups: best placement and tokens/s on each",
        description="Compare how MODEL runs on several boxes: for each, the best placement (layers on the GPU, "
                    "MoE experts in RAM), whether it fits, the memory it uses, the longest context that "
                    "placement holds and the estimated tokens/s. Only the model's header is read.",
        epilog="Dense models read every weight for every token, so what does not fit in VRAM runs at RAM speed: "
               "VRAM is king. MoE models read only a few experts per token, so fast RAM plus a modest GPU "
               "(experts in RAM, everything else on the GPU) can come close to a big card.",
    )
    parser.add_argument("model", metavar="MODEL",
                        help="a .gguf file (any shard), or OWNER/REPO:LABEL on the Hugging Face Hub")
    boxes = parser.add_argument_group("boxes (one column each)")
    boxes.add_argument("--gpu", dest="boxes", action="append", default=None, metavar="BOX",
                       help="'auto' (this machine), 'cpu', a catalog name or number from 'localai-tui gpus', a "
                            "custom profile, or 'A+B' for several devices in one box; repeat for more columns "
                            "(default: this machine and a few catalog picks)")
    boxes.add_argument("--ram", dest="ram_gib", type=float, default=None, metavar="GiB",
                       help="what-if system RAM in GiB for every box that does not bring its own (not Apple)")
    add_box_flags(boxes)
    add_fit_flags(parser)
    parser.add_argument("--sweep", action="store_true",
                        help="also show tokens/s and memory from 512 tokens of context up to the model's trained "
                             "context, and decode tokens/s at depths 0 up to -c (tokens already in the cache), "
                             "for each --gpu box (or this machine when none is given)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tui.commands.fit_flags import settings_from_args
    from tui.core.advisor.compare import compare_boxes, default_boxes, resolve_box, with_measured
    from tui.core.advisor.placement import placement_is_fixed
    from tui.core.advisor.sweep import context_sweep, depth_sweep
    from tui.core.errors import LocalAIError
    from tui.core.hub.model_spec import load_model_anatomy, local_model_path

    anatomy = load_model_anatomy(args.model)
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    if args.n_ctx is None:
        settings = settings.with_changes(n_ctx=min(DEFAULT_CONTEXT, anatomy.n_ctx_train or DEFAULT_CONTEXT))
    if args.boxes:
        boxes = [resolve_box(spec, ram_gib=args.ram_gib) for spec in args.boxes]
    else:
        boxes = default_boxes(ram_gib=args.ram_gib)
    if args.rpc:
        boxes = with_helpers(boxes, args.rpc, args.link)
    elif args.link:
        raise LocalAIError("--link is the network to the --rpc boxes: give at least one --rpc")
    search = not placement_is_fixed(settings)
    results = compare_boxes(anatomy, boxes, settings, search=search)
    local = local_model_path(args.model.strip())
    results = with_measured(results, anatomy, str(local) if local is not None else None)
    sweeps = []
    if args.sweep:
        for box in (boxes if args.boxes else boxes[:1]):
            try:  # speed against depth at the asked context; a refused plan has none
                depths = depth_sweep(anatomy, box.profile, settings, search=search)[1]
            except LocalAIError:
                depths = []
            sweeps.append((box, context_sweep(anatomy, box.profile, settings, search=search), depths))
    if args.json:
        from dataclasses import asdict

        out = {
            "model": args.model,
            "settings": asdict(settings),  # as asked; each box's own placement is in its "estimate"
            "placement_searched": search,
            "boxes": [r.to_dict() for r in results],
        }
        if args.sweep:
            out["sweep"] = [{"title": box.title, "spec": box.spec, "profile": box.profile.name,
                             "points": [p.to_dict() for p in points], "n_ctx": settings.n_ctx,
                             "depth_points": [d.to_dict() for d in depths]} for box, points, depths in sweeps]
        print(json.dumps(out, indent=2))
        return 0
    print(format_comparison(args.model, anatomy, results, search))
    for box, points, depths in sweeps:
        print()
        print(format_sweep(box.title, box.profile.name, points, search))
        if depths:
            print()
            print(format_depth_sweep(box.title, settings.n_ctx, depths))
    return 0


def with_helpers(columns: list[BoxSpec], rpc: list[str], link: str | None) -> list[BoxSpec]:
    """Every column as the head of the same ``--rpc`` helper boxes: which head makes the best plan with them."""
    from dataclasses import replace

    from tui.core.hardware.boxes import DEFAULT_LINK, attach_boxes, parse_rpc_arg

    helpers = [parse_rpc_arg(text, link or DEFAULT_LINK) for text in rpc]
    suffix = f" + {len(helpers)} box" + ("es" if len(helpers) > 1 else "")
    return [replace(c, title=c.title + suffix, profile=attach_boxes(c.profile, helpers)) for c in columns]


def describe_model(title: str, anatomy: ModelAnatomy) -> str:
    """``owner/repo:Q4_K_M  qwen3moe, 30.5B params (MoE, 8 of 128 experts per token), 17.3 GiB``."""
    from tui.units import format_count, format_gib

    moe = f" (MoE, {anatomy.n_expert_used} of {anatomy.n_expert} experts per token)" if anatomy.is_moe else " (dense)"
    size = anatomy.file_size or anatomy.tensor_bytes
    return (f"{title}  {anatomy.architecture}, {format_count(anatomy.n_params or None)} params{moe}, "
            f"{format_gib(size)} GiB, trained context {anatomy.n_ctx_train:,} tokens")


def comparison_rows(results: Sequence[BoxResult]) -> list[tuple[str, list[str]]]:
    """(row label, one cell per box): the table ``compare`` prints, top to bottom."""
    from tui.commands.advisor_text import format_context, format_tps
    from tui.core.advisor.placement import describe_placement
    from tui.units import format_gib

    def cells(get: Callable[[BestPlacement, BoxResult], str]) -> list[str]:
        """One cell per box: ``get(placement, result)``, or "-" where llama.cpp would refuse the model."""
        return [get(r.placement, r) if r.placement is not None else "-" for r in results]

    def vram(r: BoxResult) -> str:
        gpus = r.box.profile.gpus
        if not gpus:
            return "-"
        return f"{format_gib(sum(g.vram_bytes for g in gpus))} GiB {max(g.bandwidth_gbps for g in gpus):.0f} GB/s"

    def ram(r: BoxResult) -> str:
        p = r.box.profile
        shared = " shared" if p.unified_memory else ""
        return f"{format_gib(p.ram_bytes)} GiB {p.ram_bandwidth_gbps:.0f} GB/s{shared}"

    def used(kind: str) -> Callable[[BestPlacement, BoxResult], str]:
        def get(p: BestPlacement, r: BoxResult) -> str:
            if kind == "gpu":
                if not p.estimate.gpu_devices:
                    return "-"
                return f"{format_gib(p.gpu_bytes)}/{format_gib(p.gpu_capacity_bytes)}"
            return f"{format_gib(p.host_bytes)}/{format_gib(p.host_capacity_bytes)}"
        return get

    rows = [
        ("VRAM", [vram(r) for r in results]),
        ("RAM", [ram(r) for r in results]),
        ("verdict", [r.placement.verdict if r.placement else f"refused: {r.error}" for r in results]),
        ("placement", cells(lambda p, r: describe_placement(p))),
        ("GPU layers", cells(lambda p, r: f"{p.estimate.n_gpu_layers}/{p.estimate.n_layers_total}")),
        ("--n-cpu-moe", cells(lambda p, r: ("all" if p.all_experts_on_cpu else str(p.n_cpu_moe))
                                          if p.estimate.gpu_devices else "-")),
        ("context", cells(lambda p, r: format_context(p.estimate.n_ctx))),
        ("longest ctx", cells(lambda p, r: format_context(r.max_context) if r.max_context else "none")),
        ("VRAM GiB", cells(used("gpu"))),
        ("RAM GiB", cells(used("host"))),
        ("tokens/s", cells(lambda p, r: format_tps(p.tokens_per_s) if p.fits else f"({format_tps(p.tokens_per_s)})")),
        ("range", cells(lambda p, r: _range(p.estimate))),
        ("1st token", cells(lambda p, r: _ttft(p.estimate))),
    ]
    if any(r.measured for r in results):  # measured beats estimated: this machine's bench run, when there is one
        rows.append(("measured", [_measured(r) for r in results]))
    return rows


def _measured(result: BoxResult) -> str:
    """``6,400 t/s (bench, 2026-01-01)``: this machine's latest bench run of the model, or "-"."""
    from tui.core.hardware.measured import measured_text

    return measured_text(result.measured).removeprefix("measured ") if result.measured else "-"


def _range(estimate) -> str:
    """The decode range from the device class's residuals, or '?' for a class without data."""
    span = estimate.est_tokens_per_s_range
    if not span:
        return "?"
    return f"{span[0]:.0f}-{span[1]:.0f}" if span[0] >= 10 else f"{span[0]:.1f}-{span[1]:.1f}"


def _ttft(estimate) -> str:
    """Time to first token for the estimate's prompt (512 tokens unless asked)."""
    t = estimate.est_ttft_s
    return f"{t * 1e3:.0f} ms" if t < 1 else f"{t:.1f} s"


def format_comparison(title: str, anatomy: ModelAnatomy, results: Sequence[BoxResult], searched: bool) -> str:
    """The side-by-side table (columns wrap into blocks that fit the terminal) and its reading."""
    from tui.commands.advisor_text import column_blocks, format_context, format_tps, terminal_width
    from tui.core.advisor.compare import best_box

    first = next((r.placement for r in results if r.placement is not None), None)
    lines = [describe_model(title, anatomy)]
    if first is not None:
        s = first.settings
        how = "best per box (llama.cpp --fit's order: all on GPU, else MoE experts in RAM, else fewer layers)" \
            if searched else "as given on every box"
        lines.append(f"{format_context(s.n_ctx)} tokens of context, KV cache {s.cache_type_k}/{s.cache_type_v}; "
                     f"placement {how}")
    lines.append("")
    rows = comparison_rows(results)
    titles = [r.box.title for r in results]
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(titles[i]), *(len(cells[i]) for _, cells in rows)) for i in range(len(results))]
    for block_number, block in enumerate(column_blocks(widths, label_width, terminal_width())):
        if block_number:
            lines.append("")
        lines.append("  ".join([" " * label_width] + [titles[i].ljust(widths[i]) for i in block]).rstrip())
        for label, cells in rows:
            lines.append("  ".join([label.ljust(label_width)] + [cells[i].ljust(widths[i]) for i in block]).rstrip())
    lines.append("")
    lines.append("VRAM/RAM GiB: used/available; longest ctx: the longest context that placement holds; "
                 "(tokens/s) in brackets: does not fit.")
    winner = best_box(results)
    if winner is None or winner.placement is None:
        lines.append("It fits none of these boxes at this context.")
    else:
        lines.append(f"Fastest: {winner.box.title}, ~{format_tps(winner.placement.tokens_per_s)} tokens/s "
                     f"({winner.box.profile.name}).")
    return "\n".join(lines)


def format_sweep(title: str, profile_name: str, points: Sequence[SweepPoint], searched: bool) -> str:
    """The context sweep on one box as a table: a row per context step."""
    from tui.commands.advisor_text import format_context, format_table, format_tps
    from tui.core.advisor.placement import describe_placement
    from tui.core.advisor.sweep import longest_fitting
    from tui.units import format_duration, format_gib

    how = "best placement at each context" if searched else "the placement given"
    lines = [f"context sweep on {title} ({profile_name}), {how}:"]
    rows = [("CONTEXT", "T/S", "FILL", "VERDICT", "PLACEMENT", "KV GiB", "VRAM GiB", "RAM GiB")]
    for p in points:
        if p.placement is None:
            rows.append((format_context(p.n_ctx), "-", "-", f"refused: {p.error}", "", "", "", ""))
            continue
        rows.append((format_context(p.n_ctx), format_tps(p.tokens_per_s), format_duration(p.fill_s), p.verdict,
                     describe_placement(p.placement), format_gib(p.kv_bytes),
                     format_gib(p.gpu_bytes) if p.placement.estimate.gpu_devices else "-", format_gib(p.host_bytes)))
    lines += format_table(rows, right={1, 2, 5, 6, 7})
    longest = longest_fitting(points)
    lines.append(f"longest context that fits: {format_context(longest.n_ctx)} tokens" if longest
                 else "no context step fits")
    lines.append("FILL: time to first token for a prompt that fills the context")
    return "\n".join(lines)


def format_depth_sweep(title: str, n_ctx: int, points: Sequence[DepthPoint]) -> str:
    """Decode speed as the cache fills (llama-bench ``-d``) at one context, a row per depth."""
    from tui.commands.advisor_text import format_context, format_table, format_tps

    lines = [f"decode speed by depth on {title}, {format_context(n_ctx)} context:"]
    rows = [("DEPTH", "T/S", "RANGE")]
    for p in points:
        span = p.tokens_per_s_range
        rows.append((format_context(p.depth) if p.depth else "0", format_tps(p.tokens_per_s),
                     (f"{span[0]:.0f}-{span[1]:.0f}" if span[0] >= 10 else f"{span[0]:.1f}-{span[1]:.1f}") if span else "?"))
    lines += format_table(rows, right={1, 2})
    lines.append("depth: tokens already in the cache when the token is generated (llama-bench -d)")
    return "\n".join(lines)
