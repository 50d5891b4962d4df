"""``localai-tui search QUERY``: GGUF model repos on the Hugging Face Hub."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.hub.search import SearchPage

SORTS = ("downloads", "likes", "trending", "updated")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search the Hugging Face Hub for GGUF models",
        description="Search the Hugging Face Hub for GGUF model repos (the words must appear in the repo name).",
    )
    parser.add_argument("query", metavar="QUERY", nargs="?", default="", help="words in the repo name, e.g. 'qwen3 8b'")
    parser.add_argument("--author", metavar="A", default=None, help="only repos of this user or organization")
    parser.add_argument("--sort", choices=SORTS, default="downloads", help="order, most first (default: downloads)")
    parser.add_argument("--limit", metavar="N", type=int, default=20, help="number of results (default: 20)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tui.core.hub.search import search_models

    page = search_models(args.query, author=args.author, sort=args.sort, limit=args.limit)
    warn_if_stale(page.stale_because, page.fetched_at)
    if args.json:
        print(json.dumps([r.to_dict() for r in page.results], indent=2))
    else:
        print(format_search_page(page))
    return 0


def warn_if_stale(reason, fetched_at: float) -> None:
    """One stderr line when cached results stand in for the Hub's answer."""
    if reason is None:
        return
    import time

    from tui.core.hub.listing_cache import describe_age

    age = describe_age(time.time() - fetched_at)
    print(f"localai-tui: warning: {reason}; showing what the Hub said {age} ago", file=sys.stderr)


def format_search_page(page: SearchPage) -> str:
    from tui.units import format_count

    if not page.results:
        what = f" for '{page.query.text}'" if page.query.text else ""
        by = f" by {page.query.author}" if page.query.author else ""
        return f"no GGUF repos found{what}{by}"
    header = ("REPO", "PARAMS", "ARCH", "DOWNLOADS", "LIKES", "UPDATED", "LICENSE", "ACCESS")
    rows = [header]
    for r in page.results:
        rows.append((
            r.repo_id,
            format_count(r.n_params, precise=True) if r.n_params else "-",
            r.architecture or "-",
            f"{r.downloads:,}",
            f"{r.likes:,}",
            (r.last_modified or "-")[:10],
            r.license or "-",
            "gated" if r.gated else "open",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 3, 4}
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             .rstrip() for row in rows]
    if page.next_url:
        lines.append(f"(more results: raise --limit above {page.query.limit})")
    return "\n".join(lines)
