"""How every screen colours a verdict (``tui.core.fit.verdict.Verdict``): one map, so "tight" looks
the same on Fit, in a repo's file list and in the Advisor.

Text styles are Rich colour names (the terminal's own green, yellow, red); the sweep plot's bars
use colours from the xterm 256-colour cube (they look the same without truecolor); the memory
bars use the theme's $success/$warning/$error through a component class per verdict.
"""

from __future__ import annotations

from rich.text import Text

from tui.core.fit.verdict import Verdict

#: Colour of a verdict word in text.
VERDICT_STYLES: dict[Verdict, str] = {
    Verdict.FITS: "green",
    Verdict.TIGHT: "yellow",
    Verdict.PARTIAL: "yellow",
    Verdict.NO_FIT: "red",
    Verdict.REFUSED: "red",
}

#: Colour of a bar in the context sweep plot.
VERDICT_BAR_COLOURS: dict[Verdict, str] = {
    Verdict.FITS: "#87d787",
    Verdict.TIGHT: "#87d787",
    Verdict.PARTIAL: "#ffaf5f",
    Verdict.NO_FIT: "#ff5f5f",
    Verdict.REFUSED: "#ff5f5f",
}

#: The memory bar's component class for a verdict (``memory-bar--<name>``).
VERDICT_CLASSES: dict[Verdict, str] = {
    Verdict.FITS: "fits",
    Verdict.TIGHT: "tight",
    Verdict.PARTIAL: "spills",
    Verdict.NO_FIT: "no-fit",
    Verdict.REFUSED: "no-fit",
}


def verdict_style(verdict: Verdict | str, *, bold: bool = False) -> str:
    """The Rich style for ``verdict`` (a member or its word); plain for words that are no verdict."""
    known = verdict if isinstance(verdict, Verdict) else Verdict.parse(verdict)
    colour = VERDICT_STYLES.get(known, "") if known is not None else ""
    return f"bold {colour}".strip() if bold else colour


def verdict_text(verdict: Verdict, *, short: bool = False, bold: bool = False, suffix: str = "") -> Text:
    """The verdict's word (``short``: its narrow form) in its colour, ``suffix`` appended in the same style."""
    word = verdict.short if short else verdict.value
    return Text(word + suffix, verdict_style(verdict, bold=bold))
