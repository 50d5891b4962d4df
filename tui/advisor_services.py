"""The Advisor screen's doors into ``tui.core.advisor``, apart from ``tui.services`` (another screen's file).

Each function imports its module when called, forwards to the core function that owns the
answer, and takes the app's ``Services`` for what it knows (the Hub endpoint), so tests that
point the services at the fake Hub point these too. No Textual here; nothing decides here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.advisor.compare import BoxResult, BoxSpec
    from tui.core.advisor.recommend import LabelPick, Recommendation, RepoAdvice
    from tui.core.advisor.sweep import SweepPoint
    from tui.core.fit.settings import LlamaSettings
    from tui.core.gguf.anatomy import ModelAnatomy
    from tui.core.hardware.devices import HardwareProfile
    from tui.services import Services
    from tui.session import ChosenModel


def recommend_for(services: Services, profile: HardwareProfile, n_ctx: int | None, text: str,
                  min_tokens_per_s: float, *, on_progress: Callable[[int, int, str], None] | None = None,
                  cancel: threading.Event | None = None) -> Recommendation:
    """Hub repos matching ``text`` (or the most downloaded) ranked for ``profile``: ``localai-tui recommend``
    with ``-c n_ctx`` (None: its default, 4096 tokens or the model's trained context if less) and
    llama.cpp's default settings, so the Advisor and the command rank alike."""
    from tui.core.advisor.recommend import RecommendRequest, recommend_models
    from tui.core.fit.settings import LlamaSettings

    request = RecommendRequest(text=text.strip(), n_ctx=n_ctx, min_tokens_per_s=min_tokens_per_s)
    return recommend_models(request, profile, LlamaSettings(), client=services.hub_client(),
                            on_progress=on_progress, cancel=cancel)


def open_pick(services: Services, advice: RepoAdvice, pick: LabelPick) -> ChosenModel:
    """The picked label as the app's ``ChosenModel`` (its header is cached: no new download)."""
    from tui.core.errors import LocalAIError

    quants = advice.quants
    group = next((g for g in quants.groups if g.name == pick.label), None) if quants is not None else None
    if quants is None or group is None:
        raise LocalAIError(f"{pick.spec} is no longer in the repo's file list", hint="refresh the ranking")
    return services.choose_remote_model(quants, group)


def boxes_like(profile: HardwareProfile) -> list[BoxSpec]:
    """The current profile and the catalog picks, each in a box with the current profile's RAM."""
    from tui.core.advisor.compare import default_boxes

    return default_boxes(current=profile)


def compare_for(anatomy: ModelAnatomy, boxes: list[BoxSpec], settings: LlamaSettings,
                file_name: str | None = None) -> list[BoxResult]:
    """The model on every box, placement searched per box (the Fit screen's own placement set aside),
    with this machine's latest bench run of the model's file ``file_name`` on the box that is this machine."""
    from tui.core.advisor.compare import compare_boxes, with_measured

    return with_measured(compare_boxes(anatomy, boxes, settings, search=True), anatomy, file_name)


def sweep_for(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings) -> list[SweepPoint]:
    """Tokens/s and memory from 512 tokens up to the model's trained context, best placement at each step."""
    from tui.core.advisor.sweep import context_sweep

    return context_sweep(anatomy, profile, settings, search=True)


def depth_sweep_for(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings) -> tuple | None:
    """(placement, depth points): decode tokens/s from an empty cache up to the context in ``settings``,
    best placement for that context; None when llama.cpp would refuse the settings."""
    from tui.core.advisor.sweep import depth_sweep
    from tui.core.errors import LocalAIError

    try:
        return depth_sweep(anatomy, profile, settings, search=True)
    except LocalAIError:
        return None
