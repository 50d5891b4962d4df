"""The one vocabulary for "will it run here?", shared by the fit estimate, the Hub badges and the Advisor.

Each member's value is the word people read and JSON carries ("fits", "tight", "does not fit"),
so ``str(verdict)``, f-strings and ``json.dumps`` all give that word. ``short`` is the compact
form narrow table cells and the ``files`` badges use ("no-fit").

Where each comes from:

* ``FITS`` / ``TIGHT`` / ``NO_FIT``: ``tui.core.fit.estimate`` per device and overall, against
  llama.cpp ``--fit``'s 1 GiB margin (common.h ``fit_params_target``);
* ``PARTIAL``: it runs only with part of the model in system RAM (fewer GPU layers, experts on the
  CPU): ``tui.core.hub.badges`` after ``--fit``'s offloading, the Advisor's sweep on a GPU box;
* ``REFUSED``: llama.cpp refuses the settings themselves (``tui.core.advisor``: a box where the
  asked cache types or placement cannot be set up).
"""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """Best first: ``rank`` orders them, so the worst device decides a model's overall verdict."""

    FITS = "fits"  # with llama.cpp's 1 GiB margin to spare
    TIGHT = "tight"  # fits, but without the margin
    PARTIAL = "partial"  # runs, with part of it in system RAM (slower)
    NO_FIT = "does not fit"  # not even with offloading
    REFUSED = "refused"  # llama.cpp would not accept these settings at all

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __hash__(self) -> int:  # equal to its word, so it hashes like it: ``{"fits": ...}[Verdict.FITS]`` works
        return hash(self.value)

    @classmethod
    def parse(cls, word: str) -> Verdict | None:
        """The verdict a word names, in its long or short form (``"no-fit"``); None for any other word."""
        for verdict in cls:
            if word in (verdict.value, verdict.short):
                return verdict
        return None

    @property
    def short(self) -> str:
        """At most 7 characters, for narrow cells: ``no-fit`` for "does not fit", else the word itself."""
        return _SHORT.get(self, self.value)

    @property
    def runs(self) -> bool:
        """llama.cpp can load it: every verdict but ``NO_FIT`` and ``REFUSED``."""
        return self in (Verdict.FITS, Verdict.TIGHT, Verdict.PARTIAL)

    @property
    def rank(self) -> int:
        """0 for ``FITS`` ... 4 for ``REFUSED``: higher is worse."""
        return list(Verdict).index(self)

    @classmethod
    def worst(cls, verdicts: list[Verdict] | tuple[Verdict, ...]) -> Verdict:
        """The worst of ``verdicts`` (a model fits only where every device fits)."""
        return max(verdicts, key=lambda v: v.rank)


_SHORT = {Verdict.NO_FIT: "no-fit"}
