"""How the Advisor's panes word the core's answers: table cells, notes and plot columns.

Pure presentation of ``tui.core.advisor`` results (Rich text only, no widgets), so each piece is
tested without running the app.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui.core.fit.verdict import Verdict
from tui.core.hardware.devices import HardwareProfile
from tui.core.sizes import GiB
from tui.units import format_context, format_rate
from tui.widgets.sweep_plot import PlotColumn

#: Terminal width from which the tables show their extra columns (params, tasks; the boxes' hardware).
WIDE = 116

TAB_IDS = {"recommend": "advisor-recommend-tab", "compare": "advisor-compare-tab", "sweep": "advisor-sweep-tab"}


def add_columns(table: DataTable, first: tuple[str, str], columns: list[tuple[str, str, int]], width: int) -> None:
    """The first column takes the width the others leave (each cell is padded by one on both sides)."""
    used = sum(w for _, _, w in columns) + 2 * (len(columns) + 1) + 4  # margins and the scrollbar
    table.add_column(first[1], key=first[0], width=max(14, width - used))
    for key, label, column_width in columns:
        table.add_column(label, key=key, width=column_width)


def short_placement(placement: Any) -> str:
    """``GPU``, ``CPU``, ``24/49 GPU``, ``exp 21/48`` (MoE experts of 21 of 48 layers in RAM): a table cell."""
    estimate = placement.estimate
    if not estimate.gpu_devices:
        return "CPU"
    if placement.all_experts_on_cpu:
        return "exp all"
    if placement.n_cpu_moe:
        return f"exp {placement.n_cpu_moe}/{estimate.n_layers_total - 1}"
    if estimate.n_gpu_layers >= estimate.n_layers_total:
        return "GPU"
    return f"{estimate.n_gpu_layers}/{estimate.n_layers_total} GPU"


def hardware_cell(profile: HardwareProfile) -> str:
    """``24 GiB @936 · RAM @51 GB/s``: what decides a box's speed (VRAM size and speeds)."""
    ram = f"RAM @{profile.ram_bandwidth_gbps:.0f} GB/s"
    if profile.is_cpu_only:
        return ram
    vram = sum(g.vram_bytes for g in profile.gpus) / GiB
    speed = max(g.bandwidth_gbps for g in profile.gpus)
    if profile.unified_memory:
        return f"{vram:.0f} GiB @{speed:.0f} GB/s unified"
    return f"{vram:.0f} GiB @{speed:.0f} · {ram}"


def comparison_note(anatomy: Any, results: list[Any]) -> Text:
    """The fastest box, and why boxes differ for this kind of model (dense: VRAM; MoE: RAM speed too)."""
    from tui.core.advisor.compare import best_box

    winner = best_box(results)
    text = Text()
    if winner is None:
        text.append("It fits none of these boxes at this context.", "yellow")
    else:
        text.append("Fastest: ", "dim")
        placement = winner.placement
        rate = format_rate(placement.tokens_per_s) if placement is not None else "?"
        text.append(f"{winner.box.title} ~{rate}", "bold")
    if anatomy.is_moe:
        text.append(f". MoE: a token reads {anatomy.n_expert_used} of {anatomy.n_expert} experts, so experts "
                    "kept in RAM cost little; fast RAM and a modest GPU go far.", "dim")
    else:
        text.append(". Dense: every weight is read for every token, so layers left in RAM run at RAM "
                    "speed: VRAM decides.", "dim")
    return text


def plot_columns(points: list[Any]) -> list[PlotColumn]:
    """Sweep points (``tui.core.advisor.sweep.SweepPoint``) as the plot's columns."""
    columns = []
    for point in points:
        if not point.fits:
            state = Verdict.NO_FIT
        elif point.offloaded:
            state = Verdict.PARTIAL
        else:
            state = Verdict.FITS
        has_gpu = point.placement is not None and bool(point.placement.estimate.gpu_devices)
        columns.append(PlotColumn(format_context(point.n_ctx), point.tokens_per_s if point.fits else 0.0,
                                  point.gpu_bytes, point.host_bytes, state, has_gpu))
    return columns


def depth_plot_columns(points: list[Any], placement: Any) -> list[PlotColumn]:
    """Depth points (``tui.core.advisor.sweep.DepthPoint``) as the plot's columns: one placement, so one
    colour (green as placed, yellow with part in system RAM, red where it does not fit)."""
    estimate = placement.estimate
    offloaded = bool(estimate.gpu_devices) and (estimate.n_gpu_layers < estimate.n_layers_total
                                                or placement.n_cpu_moe > 0 or placement.all_experts_on_cpu)
    state = Verdict.NO_FIT if not placement.fits else Verdict.PARTIAL if offloaded else Verdict.FITS
    return [PlotColumn(format_context(p.depth) if p.depth else "0", p.tokens_per_s if placement.fits else 0.0,
                       placement.gpu_bytes, placement.host_bytes, state, bool(estimate.gpu_devices)) for p in points]


def error_text(error: Exception) -> Text:
    """``error: <why>  (r retries)``: a failed worker's status line."""
    return Text.assemble(("error: ", "bold red"), str(error), ("  (r retries)", "dim"))


def status_text(text: str | Text) -> Text:
    """A pane's status line: plain words dimmed, styled text as it is."""
    return text if isinstance(text, Text) else Text(text, "dim")
