"""``localai-tui files OWNER/REPO``: a repo's GGUF files, one row per quant label, with a fit badge.

Each row: the label, its size (shards summed), shard count, bits per weight (bytes * 8 / the
model's parameters), the label's family and what it means, and whether it fits the chosen
hardware (``--gpu``, ``--vram``, ``--ram``, ``-c``) with an estimated speed. Badges come from
the file's GGUF header where it has been read (``--headers`` reads them all: a few MB each),
else from the file size and the repo's architecture. Side files (vision projectors,
importance matrices) are listed apart.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.hub.badges import FitBadge
    from tui.core.hub.repo_files import QuantGroup, RepoQuants


def register(subparsers: argparse._SubParsersAction) -> None:
    from tui.commands.fit_flags import add_profile_flags, non_negative_int

    parser = subparsers.add_parser(
        "files",
        help="list a Hub repo's GGUF files by quant label, with fit badges",
        description="List a Hugging Face repo's GGUF files grouped by quant label (split shards summed), "
                    "with what each label means and whether it fits your hardware.",
    )
    parser.add_argument("repo", metavar="OWNER/REPO", help="a model repo, e.g. unsloth/Qwen3-8B-GGUF")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--headers", action="store_true",
                        help="read every label's GGUF header (a few MB each, cached) for exact fit badges")
    parser.add_argument("--no-fit", dest="fit", action="store_false", help="leave out the fit badges")
    parser.add_argument("-c", "--ctx-size", dest="n_ctx", type=non_negative_int, default=None,
                        help="context size in tokens for the fit badges (default: 4096, or the model's if smaller)")
    add_profile_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tui.commands.search import warn_if_stale
    from tui.core.hub.model_ref import parse_hub_ref
    from tui.core.hub.repo_files import group_repo_files
    from tui.core.hub.repo_listing import check_repo_id, fetch_repo_listing

    ref = parse_hub_ref(args.repo)
    repo_id = ref.repo_id if ref is not None else check_repo_id(args.repo)
    listing = fetch_repo_listing(repo_id, ref.revision if ref else "main")
    warn_if_stale(listing.stale_because, listing.fetched_at)
    if listing.unsafe_files:
        print(f"localai-tui: warning: left out {len(listing.unsafe_files)} file(s) with unsafe names "
              f"(e.g. '{listing.unsafe_files[0]}'): they can never be downloaded", file=sys.stderr)
    quants = group_repo_files(listing)
    badges = compute_badges(quants, args) if args.fit else {}
    if args.json:
        print(json.dumps(files_to_json(quants, badges), indent=2))
    else:
        print(format_files(quants, badges))
    return 0


def compute_badges(quants: RepoQuants, args: argparse.Namespace) -> dict[str, FitBadge]:
    from tui.commands.fit_flags import profile_from_args
    from tui.core.fit.settings import LlamaSettings
    from tui.core.hub.badges import fit_badges
    from tui.core.hub.errors import HubError

    if not quants.groups:
        return {}
    profile = profile_from_args(args)
    settings = LlamaSettings() if args.n_ctx is None else LlamaSettings(n_ctx=args.n_ctx)
    try:
        badges = fit_badges(quants, profile, settings, read_headers=args.headers)
    except HubError as exc:  # the list stands without badges
        print(f"localai-tui: warning: no fit badges: {exc}", file=sys.stderr)
        return {}
    return {badge.group_name: badge for badge in badges}


def files_to_json(quants: RepoQuants, badges: dict) -> list[dict]:
    rows = []
    for g in quants.groups:
        badge = badges.get(g.name)
        rows.append({
            "label": g.label,
            "files": [f.path for f in g.files],
            "size_bytes": g.size_bytes,
            "shards": g.shards,
            "complete": g.complete,
            "bits_per_weight": round(g.bits_per_weight, 3) if g.bits_per_weight else None,
            "family": g.family,
            "summary": g.summary,
            "explanation": g.quant.explanation if g.quant else None,
            "folder": g.folder,
            "sha256": [f.sha256 for f in g.files],
            "side_files": [s.path for s in quants.side_files_for(g)],
            "fit": badge.to_dict() if badge is not None else None,
            "spec": f"{quants.repo_id}:{g.label}" if g.label else f"{quants.repo_id}/{g.first_path}",
        })
    for s in quants.side_files:
        rows.append({"label": s.label, "files": [s.path], "size_bytes": s.file.size, "shards": 1, "kind": s.kind,
                     "serves": list(s.serves), "side_file": True})
    return rows


def format_files(quants: RepoQuants, badges: dict) -> str:
    from tui.units import format_count, format_size

    listing = quants.listing
    facts = [f"@ {listing.commit[:7]}"]
    if listing.architecture:
        facts.append(listing.architecture)
    if listing.n_params:
        facts.append(f"{format_count(listing.n_params, precise=True)} params")
    if listing.license:
        facts.append(f"license {listing.license}")
    if listing.gated:
        facts.append("gated: accept its license on the Hub to download")
    lines = [f"{quants.repo_id}  ({', '.join(facts)})"]
    if not quants.groups:
        lines.append("no GGUF model files in this repo")
    else:
        any_badge = bool(badges)
        header = ["LABEL", "SIZE", "SHARDS", "BPW", "FAMILY"] + (["FIT", "TTFT"] if any_badge else []) + ["WHAT IT IS"]
        rows = [header]
        for g in quants.groups:
            row = [_label_cell(g), format_size(g.size_bytes, precise=True), str(g.shards) + ("" if g.complete else "!"),
                   f"{g.bits_per_weight:.2f}" if g.bits_per_weight else "-", g.family or "-"]
            if any_badge:
                badge = badges.get(g.name)
                row.append(badge.short_text() if badge is not None else "-")
                row.append(badge.ttft_text() if badge is not None else "-")
            row.append(g.summary or "")
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
        for r in rows:
            right = (1, 2, 3, 6) if any_badge else (1, 2, 3)  # sizes, counts and the time to first token
            cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r[:-1], widths, strict=True))]
            lines.append("  ".join(cells + [r[-1]]).rstrip())
        if any_badge:
            first = next(iter(badges.values()))
            lines.append(f"fit: {first.context_note}")
            prompt = next((b.prompt_tokens for b in badges.values() if b.prompt_tokens), 0)
            if prompt:
                lines.append(f"TTFT: estimated time to the first token of a reply to a {prompt:,}-token prompt "
                             "(fit --prompt-tokens N for another length)")
        if any(not g.complete for g in quants.groups):
            lines.append("! shards missing from the repo")
    if quants.side_files:
        lines += ["", "side files:"]
        width = max(len(s.path) for s in quants.side_files)
        for s in quants.side_files:
            serves = "all models here" if len(s.serves) == len(quants.groups) else ", ".join(s.serves)
            lines.append(f"  {s.path:<{width}}  {format_size(s.file.size, precise=True):>10}  {_side_name(s.kind)} for {serves}")
    return "\n".join(lines)


def _label_cell(g: QuantGroup) -> str:
    return g.label or g.first_path


def _side_name(kind: str) -> str:
    return {"mmproj": "vision projector", "mtp": "multi-token prediction", "imatrix": "importance matrix"}.get(kind, kind)
