"""Which box for my model: one model and one set of settings, side by side over several boxes.

Each box (a ``HardwareProfile``) gets its best placement (``tui.core.advisor.placement``):
all layers on the GPU when they fit, experts of the first layers in RAM for a MoE model,
fewer GPU layers otherwise; then the verdict, the memory used, the estimated tokens/s, and the
longest context that placement still holds. The seed question it answers: for dense models
VRAM is king (a layer left in RAM is read at RAM speed on every token); for MoE models only a
few experts are read per token, so fast RAM plus a modest GPU can come close to a big card.

Boxes are named the way ``--gpu`` names them: ``auto`` (this machine), ``cpu``, a catalog
name, a custom profile, and ``A+B`` for several devices in one box ("RTX 3060 12GB+RTX 3060
12GB", or a card with a RAM setup: "RTX 3060 12GB+DDR5-6000 dual channel").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.advisor.placement import BestPlacement, best_placement
from tui.core.errors import LocalAIError
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.hardware.speed_store import BenchRecord

#: What ``--gpu`` values name this machine, and the column title it gets.
THIS_MACHINE = ("auto", "current", "this machine")
THIS_MACHINE_TITLE = "this machine"
#: Column title of the app's chosen profile when it is not this machine as detected.
CURRENT_TITLE = "current profile"


@dataclass(frozen=True)
class BoxSpec:
    """A box to compare: ``title`` heads its column, ``profile`` is the hardware; ``spec`` is the
    ``--gpu`` text it came from ("" for a profile given directly, such as the app's current one)."""

    title: str
    profile: HardwareProfile
    spec: str = ""


@dataclass(frozen=True)
class BoxResult:
    """How the model runs on one box: its best placement, and the longest context it holds.

    ``max_context`` is in tokens (a multiple of 256, at most the model's trained context), for
    the placement found: 0 when not even 256 tokens fit. ``error`` is set instead of
    ``placement`` when llama.cpp would refuse these settings on this box.
    """

    box: BoxSpec
    placement: BestPlacement | None
    max_context: int = 0
    error: str | None = None
    measured: BenchRecord | None = None  # this machine's latest bench run of the model (``with_measured``)

    @property
    def fits(self) -> bool:
        return self.placement is not None and self.placement.fits

    def to_dict(self) -> dict[str, Any]:
        from tui.core.hardware.profiles import profile_to_dict

        out: dict[str, Any] = {"title": self.box.title, "spec": self.box.spec, "profile": profile_to_dict(self.box.profile),
                               "measured_tokens_per_s": (round(self.measured.tg_tokens_per_s or 0.0, 2)
                                                         if self.measured else None),
                               "measured_at": self.measured.measured_at if self.measured else None}
        if self.placement is None:
            out["error"] = self.error
            return out
        p = self.placement
        out.update({
            "verdict": p.verdict,
            "fits": p.fits,
            "est_tokens_per_s": round(p.tokens_per_s, 2),
            "est_tokens_per_s_range": ([round(x, 2) for x in p.estimate.est_tokens_per_s_range]
                                       if p.estimate.est_tokens_per_s_range else None),
            "est_prompt_tokens_per_s": round(p.estimate.est_prompt_tokens_per_s, 1),
            "est_ttft_s": round(p.estimate.est_ttft_s, 3),
            "pages_from_disk": p.estimate.ram_overflow_bytes > 0,
            "n_ctx": p.estimate.n_ctx,
            "n_gpu_layers": p.estimate.n_gpu_layers,
            "n_layers_total": p.estimate.n_layers_total,
            "n_cpu_moe": p.n_cpu_moe,
            "cpu_moe": p.all_experts_on_cpu,
            "gpu_bytes": p.gpu_bytes,
            "gpu_capacity_bytes": p.gpu_capacity_bytes,
            "host_bytes": p.host_bytes,
            "host_capacity_bytes": p.host_capacity_bytes,
            "max_context": self.max_context,
            "placement_searched": p.searched,
            "changes": list(p.changes),
            "llama_cpp_args": list(p.estimate.llama_cpp_args),
            "estimate": p.estimate.to_dict(),
        })
        return out


# --- naming boxes ------------------------------------------------------------------------------


def default_box_specs() -> tuple[tuple[str, str], ...]:
    """(title, ``--gpu`` spec) of the boxes compared when none are named (``tui/data/advisor.toml``)."""
    from tui.core.advisor.data import load_advisor_data

    return load_advisor_data().compare_profiles


def split_box_spec(spec: str) -> list[str]:
    """The devices one ``--gpu`` value names: "A+B" is two, unless "A+B" is a catalog name written
    out in full (the "Ryzen AI Max+ 395 128GB" has a plus in its name)."""
    from tui.core.hardware.catalog import load_gpu_catalog, name_tokens

    text = spec.strip()
    if "+" not in text:
        return [text]
    words = name_tokens(text)
    if any(words == name_tokens(spelling) for device in load_gpu_catalog().devices for spelling in device.spellings):
        return [text]
    return [part.strip() for part in text.split("+") if part.strip()]


def resolve_box(spec: str, *, title: str | None = None, ram_gib: float | None = None,
                like: HardwareProfile | None = None) -> BoxSpec:
    """The box ``spec`` names (see the module), as ``localai-tui fit --gpu`` would size it.

    ``ram_gib`` sets the RAM of every box that does not bring its own (what-if, as ``--ram``).
    ``like``: a profile whose RAM (size, free, speed) the box shares unless the box brings its
    own (an Apple machine) or names a RAM setup: "this card in my box".
    """
    from tui.core.hardware.profiles import AUTO, apply_what_if, resolve_profile

    text = spec.strip()
    if not text:
        raise LocalAIError("--gpu needs a value", hint="'auto', 'cpu', a catalog name, or 'A+B' for several devices")
    if text.casefold() in THIS_MACHINE:
        if like is not None:
            return BoxSpec(title or THIS_MACHINE_TITLE, like, AUTO)
        return BoxSpec(title or THIS_MACHINE_TITLE, resolve_profile(None, None, ram_gib), AUTO)
    parts = split_box_spec(text)
    try:
        profile = resolve_profile(parts)
    except LocalAIError:
        if len(parts) == 1:
            raise
        profile = resolve_profile([text])  # "Max+ 395": a plus inside a name after all
        parts = [text]
    if not profile.unified_memory:
        if like is not None:
            profile = _with_ram_of(profile, like, _names_ram_setup(parts))
        if ram_gib is not None:
            profile = apply_what_if(profile, None, ram_gib)
    return BoxSpec(title or text, profile, text)


def _names_ram_setup(parts: list[str]) -> bool:
    from tui.core.hardware.catalog import find_device

    for part in parts:
        try:
            if find_device(part).is_cpu:
                return True
        except LocalAIError:
            continue
    return False


def _with_ram_of(profile: HardwareProfile, like: HardwareProfile, keep_speed: bool) -> HardwareProfile:
    """``profile`` with ``like``'s RAM size (and speed, unless ``keep_speed``: a RAM setup was named)."""
    changes: dict[str, Any] = {"ram_bytes": like.ram_bytes, "ram_free_bytes": like.ram_free_bytes,
                     "cpu_threads": like.cpu_threads}
    if not keep_speed:
        changes.update(ram_bandwidth_gbps=like.ram_bandwidth_gbps, ram_efficiency=like.ram_efficiency)
        if profile.is_cpu_only:
            changes["efficiency"] = like.ram_efficiency if not like.is_cpu_only else like.efficiency
    return profile.with_changes(**changes)


def default_boxes(*, current: HardwareProfile | None = None, ram_gib: float | None = None) -> list[BoxSpec]:
    """This machine (or ``current``) and the catalog picks of ``tui/data/advisor.toml``.

    With ``current`` (the app's chosen profile), the picks share its RAM: "this card in my box".
    """
    if current is not None:
        boxes = [BoxSpec(THIS_MACHINE_TITLE if current.source == "detected" else CURRENT_TITLE, current, "")]
    else:
        boxes = [resolve_box("auto", ram_gib=ram_gib)]
    for title, spec in default_box_specs():
        boxes.append(resolve_box(spec, title=title, ram_gib=ram_gib, like=current))
    return boxes


# --- comparing ---------------------------------------------------------------------------------


def compare_boxes(anatomy: ModelAnatomy, boxes: Sequence[BoxSpec], settings: LlamaSettings, *,
                  search: bool = True, with_max_context: bool = True) -> list[BoxResult]:
    """``anatomy`` on every box in ``boxes`` with ``settings`` (context, cache types, batches ...).

    ``search``: find each box's best placement; otherwise use the one in ``settings``.
    """
    if not boxes:
        raise LocalAIError("no boxes to compare", hint="name some with --gpu")
    return [compare_one(anatomy, box, settings, search=search, with_max_context=with_max_context) for box in boxes]


def compare_one(anatomy: ModelAnatomy, box: BoxSpec, settings: LlamaSettings, *, search: bool = True,
                with_max_context: bool = True) -> BoxResult:
    try:
        placement = best_placement(anatomy, box.profile, settings, search=search)
    except LocalAIError as exc:
        return BoxResult(box, None, 0, str(exc))
    longest = longest_context(anatomy, box.profile, placement) if with_max_context else 0
    return BoxResult(box, placement, longest)


def with_measured(results: Sequence[BoxResult], anatomy: ModelAnatomy, file_name: str | None) -> list[BoxResult]:
    """``results`` with this machine's latest bench run of the model on the box that is this machine
    (``file_name``: the model's file, as ``tui.core.hardware.measured.measured_speed`` takes it)."""
    from dataclasses import replace

    from tui.core.hardware.measured import measured_speed

    return [replace(r, measured=measured_speed(anatomy, file_name, r.box.profile)) for r in results]


def longest_context(anatomy: ModelAnatomy, profile: HardwareProfile, placement: BestPlacement) -> int:
    """The longest context (tokens) that still fits with ``placement``'s layers and experts where they are."""
    from tui.core.fit.autofit import max_context

    try:
        return max_context(anatomy, profile, placement.settings, limit=anatomy.n_ctx_train or None)
    except LocalAIError:
        return 0


def best_box(results: Sequence[BoxResult]) -> BoxResult | None:
    """The fastest box the model fits on (None when it fits on none)."""
    fitting = [(r, r.placement) for r in results if r.fits and r.placement is not None]
    return max(fitting, key=lambda pair: pair[1].tokens_per_s)[0] if fitting else None
