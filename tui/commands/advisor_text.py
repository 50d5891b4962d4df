"""Plain-text pieces ``recommend`` and ``compare`` share: aligned tables and short figures.

Sizes are printed in GiB (binary, as llama.cpp prints them), speeds in tokens/s, contexts as
llama.cpp users write them (``4k``, ``128k``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from tui.units import format_context as _format_context

#: Columns assumed when the terminal's width cannot be read (a pipe, a test).
FALLBACK_WIDTH = 100


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins), or ``FALLBACK_WIDTH``."""
    return max(40, shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns)


def format_table(rows: Sequence[Sequence[str]], right: set[int] | frozenset[int] = frozenset(),
                 rule: bool = True) -> list[str]:
    """Rows as aligned lines (two spaces between columns); ``right``: columns aligned right; a rule
    under the first row when ``rule``."""
    if not rows:
        return []
    n = max(len(r) for r in rows)
    cells = [list(r) + [""] * (n - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(n)]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if index == 0 and rule:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_context(n_tokens: int) -> str:
    """``512``, ``4k``, ``40k``, ``5.2k``: narrow table columns round to a tenth of a k."""
    return _format_context(n_tokens, approximate=True)


def format_tps(tokens_per_s: float | None) -> str:
    """``45.4`` tokens/s (no decimals from 100 up); ``-`` when unknown."""
    if not tokens_per_s:
        return "-"
    return f"{tokens_per_s:.0f}" if tokens_per_s >= 100 else f"{tokens_per_s:.1f}"


def column_blocks(widths: Sequence[int], label_width: int, total: int, gap: int = 2) -> list[list[int]]:
    """Split columns (their ``widths``) into blocks that fit ``total`` characters after a label column."""
    blocks: list[list[int]] = [[]]
    used = label_width
    for index, width in enumerate(widths):
        if blocks[-1] and used + gap + width > total:
            blocks.append([])
            used = label_width
        blocks[-1].append(index)
        used += gap + width
    return blocks
