"""Fit badges for a repo's quant rows: does each label fit this hardware, and how fast would it run?

A badge is ``tui.core.fit.estimate.estimate_fit`` with the user's settings ("fits", "tight"), else with
llama.cpp ``--fit``'s offloading at the same context (``tui.core.fit.autofit``: "partial"), else
"no-fit" (``Verdict.NO_FIT``, written in its short form here). It is computed on the label's anatomy:

* from its own GGUF header when that header has been read (it is cached on disk after the first
  read, so labels looked at before are exact for free; ``read_headers=True`` reads them all);
* otherwise from its file size and the repo's architecture: one sibling's header (the first
  label's, read once if none is cached) retyped to the label's size (``size_anatomy``).

``source`` says which: "header" (exact) or "size" (estimated). A vision repo's projector (its
``mmproj`` file, the one ``best_mmproj`` picks for the row) counts too, as llama-server's ``--fit``
counts it: its header is read once per repo (a few KiB, cached on disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.fit.projector import ProjectorSize
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.verdict import Verdict
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.hub.client import HubClient
from tui.core.hub.repo_files import QuantGroup, RepoQuants

#: Badge verdicts, best first: FITS with every layer where the settings put it and llama.cpp's 1 GiB
#: margin; TIGHT without the margin; PARTIAL with part of it in system RAM; NO_FIT not even then.
VERDICTS = (Verdict.FITS, Verdict.TIGHT, Verdict.PARTIAL, Verdict.NO_FIT)


@dataclass(frozen=True)
class FitBadge:
    """One row's verdict (``VERDICTS``) and estimated decode speed on a profile, at ``n_ctx`` tokens."""

    group_name: str
    verdict: Verdict
    tokens_per_s: float | None  # estimated decode speed, tokens per second (None when it does not fit)
    source: str  # "header" (its own header) or "size" (estimated from its file size)
    n_ctx: int  # tokens of context the verdict is for
    profile_name: str
    detail: str = ""  # what partial offloading takes ("20 of 33 layers on the GPU (-ngl 20)")
    # prompt processing for ``prompt_tokens`` tokens (fit's est_prompt_tokens_per_s / est_ttft_s), when it runs
    prompt_tokens_per_s: float | None = None
    ttft_s: float | None = None  # seconds to the first token of a reply to that prompt
    prompt_tokens: int = 0

    def short_text(self) -> str:
        """``fits ~42 t/s`` (a trailing * marks an estimate from the file size)."""
        speed = f" ~{self.tokens_per_s:.0f} t/s" if self.tokens_per_s else ""
        return f"{self.verdict.short}{speed}{'*' if self.source == 'size' else ''}"

    @property
    def context_note(self) -> str:
        return (f"{self.profile_name}, {self.n_ctx:,} tokens of context; partial = part in system RAM; "
                "* = estimated from the file size (--headers reads each label's header)")

    def ttft_text(self) -> str:
        """``1.2 s`` / ``340 ms``: time to the first token of a ``prompt_tokens`` prompt, or "-"."""
        if not self.ttft_s:
            return "-"
        return f"{self.ttft_s * 1e3:.0f} ms" if self.ttft_s < 1 else f"{self.ttft_s:.1f} s"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.short, "tokens_per_s": round(self.tokens_per_s, 1) if self.tokens_per_s else None,
                "est_prompt_tokens_per_s": round(self.prompt_tokens_per_s, 1) if self.prompt_tokens_per_s else None,
                "est_ttft_s": round(self.ttft_s, 3) if self.ttft_s else None,
                "prompt_tokens": self.prompt_tokens or None,
                "source": self.source, "n_ctx": self.n_ctx, "profile": self.profile_name, "detail": self.detail}


def fit_badges(quants: RepoQuants, profile: HardwareProfile, settings: LlamaSettings, *,
               read_headers: bool = False, read_reference: bool = True,
               client: HubClient | None = None) -> list[FitBadge]:
    """A badge for every complete row of ``quants`` (none when no header can be had at all)."""
    from tui.core.gguf.reader import GGUFError

    client = client or HubClient()
    groups = [g for g in quants.groups if g.complete]
    exact: dict[str, ModelAnatomy] = {}
    unreadable: dict[str, str] = {}  # one broken file marks its own row, never the whole repo
    for group in groups:
        try:
            anatomy = group_anatomy(quants, group, client=client, network=read_headers)
        except GGUFError as exc:
            unreadable[group.name] = str(exc)
            continue
        if anatomy is not None:
            exact[group.name] = anatomy
    reference = next(iter(exact.values()), None)
    if reference is None and read_reference:
        for group in [g for g in groups if g.name not in unreadable][:REFERENCE_TRIES]:
            try:
                reference = group_anatomy(quants, group, client=client, network=True)
            except GGUFError as exc:
                unreadable[group.name] = str(exc)
                continue
            if reference is not None:
                exact[group.name] = reference
                break
    if reference is None and not unreadable:
        return []
    badges = []
    projectors: dict[str, ProjectorSize | None] = {}
    for group in groups:
        if group.name in unreadable:
            badges.append(_unreadable_badge(group, unreadable[group.name], profile, settings))
            continue
        if reference is None:
            continue
        from tui.core.hub.projector import group_projector

        projector = group_projector(quants, group, projectors, client=client)
        anatomy = exact.get(group.name)
        source = "header"
        if anatomy is None:
            from tui.core.hub.size_anatomy import anatomy_for_size

            anatomy, source = anatomy_for_size(reference, group.size_bytes, group.shards), "size"
        try:
            badges.append(badge_for(group, anatomy, profile, settings, source, projector))
        except LocalAIError as exc:
            badges.append(_unreadable_badge(group, str(exc), profile, settings))
    return badges


#: Rows tried in turn for a reference header when the first cannot be read.
REFERENCE_TRIES = 3


def _unreadable_badge(group: QuantGroup, reason: str, profile: HardwareProfile, settings: LlamaSettings) -> FitBadge:
    """A row whose file llama.cpp would refuse (its header cannot be read): marked, with the reason."""
    from tui.core.safe_text import one_line

    return FitBadge(group.name, Verdict.REFUSED, None, "unreadable", settings.n_ctx, profile.name,
                    f"header unreadable: {one_line(reason)}")
def fit_badges_by_group(quants: RepoQuants, profile: HardwareProfile, settings: LlamaSettings, *,
                        client: HubClient | None = None) -> dict[str, FitBadge]:
    """``fit_badges`` keyed by the row's group name (what a table of the rows looks up)."""
    return {badge.group_name: badge for badge in fit_badges(quants, profile, settings, client=client)}


def group_anatomy(quants: RepoQuants, group: QuantGroup, *, client: HubClient | None = None,
                  network: bool = True) -> ModelAnatomy | None:
    """The row's exact anatomy from its header(s); with ``network=False`` only from the disk cache (else None)."""
    from tui.core.hub.remote_header import NotCached, read_group_anatomy

    listing = quants.listing
    try:
        anatomy, _ = read_group_anatomy(listing.repo_id, listing.commit, group.files, client=client,
                                        cache_only=not network)
    except NotCached:
        return None
    return anatomy


def badge_for(group: QuantGroup, anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
              source: str, projector: ProjectorSize | None = None) -> FitBadge:
    """The verdict as asked (``settings``), else with llama.cpp ``--fit``'s offloading at the same context."""
    from tui.core.fit.autofit import explain_auto_fit
    from tui.core.fit.estimate import estimate_fit

    estimate = estimate_fit(anatomy, profile, settings, projector=projector)
    verdict, detail = estimate.verdict, ""
    if not estimate.fits and not profile.is_cpu_only:
        adjusted = explain_auto_fit(anatomy, profile, settings, fit_context=False, projector=projector)
        if adjusted.estimate.fits:
            estimate, verdict, detail = adjusted.estimate, Verdict.PARTIAL, "; ".join(adjusted.changes)
    if not verdict.runs:
        return FitBadge(group.name, Verdict.NO_FIT, None, source, estimate.n_ctx, profile.name)
    return FitBadge(group.name, verdict, _tokens_per_s(estimate), source, estimate.n_ctx, profile.name, detail,
                    estimate.est_prompt_tokens_per_s or None, estimate.est_ttft_s or None, estimate.prompt_tokens)


def _tokens_per_s(estimate: Any) -> float | None:
    for name in ("est_tokens_per_s", "tokens_per_s"):
        value = getattr(estimate, name, None)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return None
