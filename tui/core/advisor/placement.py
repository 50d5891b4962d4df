"""The best way to run one model on one box: the placement every Advisor answer is built on.

"Best" is llama.cpp ``--fit``'s order of preference at the context asked for
(``tui.core.fit.autofit.explain_auto_fit`` with the context kept): everything on the GPUs if it
fits with the 1 GiB margin; for a MoE model, all layers on the GPU with the experts of the
fewest leading layers in system RAM (``--n-cpu-moe``); otherwise the most GPU layers that fit.
A person who fixed the placement (``-ngl``, ``--n-cpu-moe``, ``--cpu-moe``, ``-ot``) gets
exactly that instead: the Advisor then compares their placement across boxes.

The estimate in a ``BestPlacement`` is ``estimate_fit`` for its ``settings``, so running
``localai-tui fit`` with ``llama_cpp_args`` gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.fit.estimate import FitEstimate
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.verdict import Verdict
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile


@dataclass(frozen=True)
class BestPlacement:
    """Settings with the placement chosen, their estimate, and what was changed to get there (for people)."""

    settings: LlamaSettings
    estimate: FitEstimate
    changes: tuple[str, ...]
    searched: bool  # False: the person fixed the placement and it was kept

    @property
    def fits(self) -> bool:
        """llama.cpp can load it: "fits" (margin kept) or "tight" (no margin)."""
        return self.estimate.fits

    @property
    def verdict(self) -> Verdict:
        return self.estimate.verdict

    @property
    def tokens_per_s(self) -> float:
        """Estimated decode speed (tokens/s); 0.0 when a device's bandwidth is unknown."""
        return self.estimate.est_tokens_per_s

    @property
    def n_cpu_moe(self) -> int:
        """Leading layers whose MoE experts stay in system RAM (all of them with ``--cpu-moe``)."""
        return self.settings.n_cpu_moe

    @property
    def all_experts_on_cpu(self) -> bool:
        return self.settings.cpu_moe

    @property
    def gpu_bytes(self) -> int:
        """Memory used on all GPUs together (bytes)."""
        return sum(d.total_bytes for d in self.estimate.gpu_devices)

    @property
    def gpu_capacity_bytes(self) -> int:
        return sum(d.capacity_bytes for d in self.estimate.gpu_devices)

    @property
    def host_bytes(self) -> int:
        """System RAM used (bytes): weights kept on the CPU, their cache, buffers, the process."""
        return self.estimate.host.total_bytes

    @property
    def host_capacity_bytes(self) -> int:
        return self.estimate.host.capacity_bytes


def placement_is_fixed(settings: LlamaSettings) -> bool:
    """Whether ``settings`` name a placement (``-ngl``, ``--cpu-moe``, ``--n-cpu-moe``, ``-ot``)."""
    return settings.n_gpu_layers is not None or settings.cpu_moe or settings.n_cpu_moe > 0 or bool(settings.overrides)


def without_placement(settings: LlamaSettings) -> LlamaSettings:
    """``settings`` with the placement left to the search: all layers, no expert or tensor overrides,
    and no ``-ts`` (its proportions belong to one set of GPUs, not to every box compared)."""
    return settings.with_changes(n_gpu_layers=None, cpu_moe=False, n_cpu_moe=0, overrides=(), tensor_split=())


def best_placement(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, *,
                   search: bool = True) -> BestPlacement:
    """The placement to run ``anatomy`` on ``profile`` at ``settings.n_ctx`` tokens of context.

    ``search``: choose it as llama.cpp ``--fit`` would (see the module); otherwise keep the
    placement in ``settings``. The context is never changed. Raises ``LocalAIError`` when
    llama.cpp would refuse the settings on this box.
    """
    from tui.core.fit.autofit import explain_auto_fit
    from tui.core.fit.estimate import estimate_fit

    if not search:
        return BestPlacement(settings, estimate_fit(anatomy, profile, settings), (), False)
    chosen = explain_auto_fit(anatomy, profile, without_placement(settings), fit_context=False)
    return BestPlacement(chosen.settings, chosen.estimate, chosen.changes, True)


def describe_placement(placement: BestPlacement) -> str:
    """Where the model runs, in a few words: ``all on GPU``, ``CPU only``, ``experts of 21/48 layers in RAM``,
    ``20/49 layers on GPU`` (the output layer counts, as llama.cpp counts it)."""
    estimate = placement.estimate
    if not estimate.gpu_devices:
        return "CPU only"
    n_layer = estimate.n_layers_total - 1
    parts = []
    if estimate.n_gpu_layers == 0:
        parts.append("CPU only (0 GPU layers)")
    elif estimate.n_gpu_layers < estimate.n_layers_total:
        parts.append(f"{estimate.n_gpu_layers}/{estimate.n_layers_total} layers on GPU")
    if placement.all_experts_on_cpu:
        parts.append("all experts in RAM")
    elif placement.n_cpu_moe:
        parts.append(f"experts of {min(placement.n_cpu_moe, n_layer)}/{n_layer} layers in RAM")
    return ", ".join(parts) or "all on GPU"
