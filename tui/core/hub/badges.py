"""Fit badges for a repo's quant rows: does each label fit this hardware, and how fast would it run?

A badge is ``tui.core.fit.estimate.estimate_fit`` with the user's settings ("fits", "tight"), else with
llama.cpp ``--fit``'s offloading at the same context (``tui.core.fit.autofit``: "partial"), else
"no-fit". It is computed on the label's anatomy:

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

from tui.core.fit.projector import ProjectorSize
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.hub.client import HubClient
from tui.core.hub.repo_files import QuantGroup, RepoQuants

#: Badge verdicts, best first.
FITS = "fits"  # everything where the settings put it (all layers on the GPUs), with llama.cpp's 1 GiB margin
TIGHT = "tight"  # fits, but without the margin
PARTIAL = "partial"  # runs with part of it in system RAM (fewer GPU layers or experts on the CPU): slower
NO_FIT = "no-fit"  # not even with offloading: too big for this machine
VERDICTS = (FITS, TIGHT, PARTIAL, NO_FIT)


@dataclass(frozen=True)
class FitBadge:
    """One row's verdict (``VERDICTS``) and estimated decode speed on a profile, at ``n_ctx`` tokens."""

    group_name: str
    verdict: str
    tokens_per_s: float | None  # estimated decode speed, tokens per second (None when it does not fit)
    source: str  # "header" (its own header) or "size" (estimated from its file size)
    n_ctx: int  # tokens of context the verdict is for
    profile_name: str
    detail: str = ""  # what partial offloading takes ("20 of 33 layers on the GPU (-ngl 20)")

    def short_text(self) -> str:
        """``fits ~42 t/s`` (a trailing * marks an estimate from the file size)."""
        speed = f" ~{self.tokens_per_s:.0f} t/s" if self.tokens_per_s else ""
        return f"{self.verdict}{speed}{'*' if self.source == 'size' else ''}"

    @property
    def context_note(self) -> str:
        return (f"{self.profile_name}, {self.n_ctx:,} tokens of context; partial = part in system RAM; "
                "* = estimated from the file size (--headers reads each label's header)")

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "tokens_per_s": round(self.tokens_per_s, 1) if self.tokens_per_s else None,
                "source": self.source, "n_ctx": self.n_ctx, "profile": self.profile_name, "detail": self.detail}


def fit_badges(quants: RepoQuants, profile: HardwareProfile, settings: LlamaSettings, *,
               read_headers: bool = False, read_reference: bool = True,
               client: HubClient | None = None) -> list[FitBadge]:
    """A badge for every complete row of ``quants`` (none when no header can be had at all)."""
    client = client or HubClient()
    groups = [g for g in quants.groups if g.complete]
    exact: dict[str, ModelAnatomy] = {}
    for group in groups:
        anatomy = group_anatomy(quants, group, client=client, network=read_headers)
        if anatomy is not None:
            exact[group.name] = anatomy
    reference = next(iter(exact.values()), None)
    if reference is None and groups and read_reference:
        reference = group_anatomy(quants, groups[0], client=client, network=True)
        exact[groups[0].name] = reference
    if reference is None:
        return []
    badges = []
    projectors: dict[str, ProjectorSize | None] = {}
    for group in groups:
        projector = group_projector(quants, group, projectors, client=client)
        anatomy = exact.get(group.name)
        source = "header"
        if anatomy is None:
            from tui.core.hub.size_anatomy import anatomy_for_size

            anatomy, source = anatomy_for_size(reference, group.size_bytes, group.shards), "size"
        badges.append(badge_for(group, anatomy, profile, settings, source, projector))
    return badges


def group_projector(quants: RepoQuants, group: QuantGroup, seen: dict[str, ProjectorSize | None] | None = None, *,
                    client: HubClient | None = None) -> ProjectorSize | None:
    """The projector that serves ``group`` (None for a text-only repo); ``seen`` caches by file."""
    from tui.core.fit.projector import projector_from_header
    from tui.core.hub.model_ref import best_mmproj
    from tui.core.hub.remote_header import RemoteShard, read_remote_headers

    side = best_mmproj(quants, group)
    if side is None:
        return None
    if seen is not None and side.path in seen:
        return seen[side.path]
    listing = quants.listing
    (header,), _ = read_remote_headers(listing.repo_id, listing.commit, [RemoteShard(side.path, side.file.size)],
                                       client=client)
    projector = projector_from_header(header, f"{listing.repo_id}/{side.path}")
    if seen is not None:
        seen[side.path] = projector
    return projector


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
    from tui.core.fit.estimate import VERDICT_FITS, VERDICT_TIGHT, estimate_fit

    estimate = estimate_fit(anatomy, profile, settings, projector=projector)
    verdict, detail = {VERDICT_FITS: FITS, VERDICT_TIGHT: TIGHT}.get(estimate.verdict), ""
    if verdict is None and not profile.is_cpu_only:
        adjusted = explain_auto_fit(anatomy, profile, settings, fit_context=False, projector=projector)
        if adjusted.estimate.verdict in (VERDICT_FITS, VERDICT_TIGHT):
            estimate, verdict, detail = adjusted.estimate, PARTIAL, "; ".join(adjusted.changes)
    if verdict is None:
        return FitBadge(group.name, NO_FIT, None, source, estimate.n_ctx, profile.name)
    return FitBadge(group.name, verdict, _tokens_per_s(estimate), source, estimate.n_ctx, profile.name, detail)


def _tokens_per_s(estimate: Any) -> float | None:
    for name in ("est_tokens_per_s", "tokens_per_s"):
        value = getattr(estimate, name, None)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return None
