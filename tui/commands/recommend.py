"""``localai-tui recommend``: which Hub GGUF models run well on this box, best first.

Ranks the repos of a Hub search (``--search``, ``--author``, or the most downloaded) by the best
quant label that fits the hardware and decodes at least ``--min-tps`` tokens/s, with faster
runner-up labels, task tags and license flags (``tui.core.advisor.recommend``). Only GGUF
headers are read, and they are cached: a second run costs nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tui.commands.fit_flags import add_fit_flags, add_profile_flags

#: Same as ``tui.core.advisor.recommend.DEFAULT_MIN_TOKENS_PER_S`` (not imported: ``--help`` stays light).
DEFAULT_MIN_TOKENS_PER_S = 10.0

if TYPE_CHECKING:
    from tui.core.advisor.recommend import LabelPick, Recommendation, RepoAdvice

RANKINGS = ("params", "quality", "speed", "downloads")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="which Hub GGUF models run well on your hardware, best first",
        description="Rank GGUF repos from the Hugging Face Hub (a search, an author, or the most downloaded) "
                    "by the best quant label that fits your GPU/RAM and decodes at least --min-tps tokens/s, "
                    "with faster runner-up labels, what each model is for (chat, code, vision, embedding...) "
                    "and its license (non-commercial and gated ones flagged). Reads only GGUF headers "
                    "(cached), never weights.",
        epilog="Ranking (--rank-by): params = largest model first (more parameters at a good quant know more); "
               "quality = most bits per weight (counted up to Q8_0's 8.5: beyond, files only get slower); "
               "speed = tokens/s; downloads = the Hub's order. A label counts when it fits (with llama.cpp "
               "--fit's placement: all on the GPU, else MoE experts in RAM, else fewer GPU layers), reaches "
               "--min-tps and keeps --min-bits.",
    )
    hub = parser.add_argument_group("which repos")
    hub.add_argument("--search", metavar="TEXT", default="", help="words in the repo name, e.g. 'qwen3' or 'coder'")
    hub.add_argument("--author", metavar="A", default=None, help="only this user's or organization's repos "
                                                                 "(unsloth, bartowski, ggml-org ...)")
    hub.add_argument("--limit", metavar="N", type=_count, default=20,
                     help="repos to consider: the first N of the search, most downloaded first (default: 20)")
    add_profile_flags(parser)
    wants = parser.add_argument_group("what counts as good enough")
    wants.add_argument("--min-tps", metavar="X", dest="min_tps", type=_number, default=DEFAULT_MIN_TOKENS_PER_S,
                       help="slowest acceptable decode speed in tokens/s (default: %(default)g, comfortable for "
                            "chat; reading speed is about 5; 0: any)")
    wants.add_argument("--min-bits", metavar="B", dest="min_bits", type=_number, default=3.0,
                       help="fewest bits per weight a label may have (default: 3; 0 allows IQ1/IQ2 quants)")
    wants.add_argument("--rank-by", choices=RANKINGS, default="params", help="ranking order (default: params)")
    wants.add_argument("--runner-ups", metavar="N", dest="runner_ups", type=_count, default=2,
                       help="faster labels to show after the best one (default: 2)")
    add_fit_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the ranking as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tui.commands.fit_flags import profile_from_args, settings_from_args
    from tui.core.advisor.recommend import RecommendRequest, recommend_models
    from tui.core.errors import LocalAIError

    request = RecommendRequest(text=args.search, author=args.author, limit=args.limit, n_ctx=args.n_ctx,
                               min_tokens_per_s=args.min_tps, min_bits=args.min_bits, rank_by=args.rank_by,
                               runner_ups=args.runner_ups).check()
    profile = profile_from_args(args)
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(done: int, total: int, repo_id: str) -> None:
            from tui.commands.terminal import clear_line, redraw_line

            if done < total:
                redraw_line(sys.stderr, f"sizing {done}/{total}: {repo_id[:60]}")
            else:
                clear_line(sys.stderr)
    recommendation = recommend_models(request, profile, settings, on_progress=progress)
    if recommendation.stale_because is not None:
        print(f"localai-tui: warning: {recommendation.stale_because}; ranking the Hub's last cached answer",
              file=sys.stderr)
    if args.json:
        print(json.dumps(recommendation.to_dict(), indent=2))
    else:
        print(format_recommendation(recommendation))
    return 0


def format_recommendation(recommendation: Recommendation) -> str:
    """The ranking as a table, the repos that did not make it with their reasons, and a legend."""
    from tui.commands.advisor_text import format_context, format_table

    r = recommendation.request
    source = (f"GGUF repos matching '{r.text}'" if r.text else "the most downloaded GGUF repos")
    if r.author:
        source += f" by {r.author}"
    context = f"{r.n_ctx:,} tokens of context" if r.n_ctx else "4k tokens of context (or the model's, if less)"
    lines = [f"hardware: {recommendation.profile_name}",
             f"{source} (first {r.limit}); {context}; at least {r.min_tokens_per_s:g} t/s and "
             f"{r.min_bits:g} bits/weight; ranked by {r.rank_by}", ""]
    ranked = [a for a in recommendation.repos if a.best is not None]
    others = [a for a in recommendation.repos if a.best is None]
    if ranked:
        header = ("#", "REPO", "PARAMS", "BEST", "GiB", "T/S", "RUNS", "FASTER", "TASKS", "LICENSE")
        rows = [header] + [_row(i, a, a.best) for i, a in enumerate(ranked, 1) if a.best is not None]
        lines += format_table(rows, right={0, 2, 4, 5})
    else:
        lines.append("no repo has a label that fits and reaches the speed asked")
    if others:
        lines += ["", "not recommended:"]
        width = max(len(a.repo_id) for a in others)
        lines += [f"  {a.repo_id.ljust(width)}  {a.reason}" for a in others]
    top = ranked[0].best if ranked else None
    if top is not None:
        lines += ["", "RUNS: where the best label runs; FASTER: runner-up labels and their t/s. "
                      f"Contexts: {', '.join(format_context(n) for n in sorted({a.n_ctx for a in ranked}))} tokens.",
                  f"Details: localai-tui fit {top.spec} (same hardware flags); other boxes: "
                  f"localai-tui compare {top.spec}"]
    return "\n".join(lines)


def _row(index: int, advice: RepoAdvice, best: LabelPick) -> tuple[str, ...]:
    """One table row: ``advice`` and its ``best`` label (the rows are the repos that have one)."""
    from tui.commands.advisor_text import format_tps
    from tui.core.advisor.placement import describe_placement
    from tui.units import format_count, format_gib

    faster = ", ".join(f"{p.label} {format_tps(p.tokens_per_s)}" for p in advice.runner_ups) or "-"
    license_ = advice.license or "-"
    if advice.flags:
        license_ += f" ({', '.join(advice.flags)})"
    verdict = "" if best.placement.verdict == "fits" else f" ({best.placement.verdict})"
    return (str(index), advice.repo_id, format_count(advice.n_params or None) + (" MoE" if advice.is_moe else ""),
            best.label, format_gib(best.size_bytes), format_tps(best.tokens_per_s),
            describe_placement(best.placement) + verdict, faster, ",".join(advice.tasks), license_)
