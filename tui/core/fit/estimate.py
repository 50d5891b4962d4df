"""Will it fit, and how fast: the memory llama.cpp will allocate per device, and a verdict.

``estimate_fit(anatomy, profile, settings)`` answers for one model, one machine and one set
of llama.cpp settings, reproducing the vendored llama.cpp's own rules (each module cites the
functions it mirrors):

* weights per device: ``tui.core.fit.placement`` (``llama_model_base::load_tensors``);
* KV cache / recurrent state per layer, on its layer's device: ``tui.core.fit.kv_cache``;
* compute buffers: ``tui.core.fit.compute_buffer`` (``llama_context::sched_reserve`` replayed);
* per-device overhead: the backend's own footprint (``tui/data/fit_backends.toml``) and, on
  the host, the process plus llama.cpp's output buffer (``llama_context::output_reserve``:
  ``n_vocab`` floats per sequence);
* speed: ``tui.core.fit.speed``.

A device "fits" with at least ``FIT_MARGIN_BYTES`` to spare (llama.cpp's ``--fit`` aims to
leave 1 GiB free on each device: ``fit_params_target`` in common/common.h), is "tight" when
it fits only without that margin, and "does not fit" otherwise. Host RAM counts the weights
kept on the CPU even when they are memory-mapped: a mapped model pages from disk when RAM
runs short, which makes it crawl. On unified-memory machines (Apple silicon) the GPU's share
comes out of the same RAM, so the host's capacity is what the GPU leaves.

The work per call is O(layers): everything that depends only on the model is computed once
per anatomy object, and compute buffers are cached per graph shape, so a slider can call this
on every tick (``time_estimate`` measures it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.fit.backends import cpu_traits, gpu_traits, rpc_device_overhead
from tui.core.fit.compute_buffer import compute_buffer_bytes, graph_params, host_copy_bytes, pipeline_copies
from tui.core.fit.kv_cache import (
    CacheLayout,
    cache_layout,
    has_kv,
    head_k,
    head_v,
    is_mla,
    is_recurrent_layer,
    resolve_context,
)
from tui.core.fit.llama_args import settings_args
from tui.core.fit.network import NetworkCost, forward_network_cost, with_network, with_prompt_network
from tui.core.fit.placement import Placement, place_weights, profile_devices, split_for_boxes
from tui.core.fit.projector import ProjectorSize
from tui.core.fit.settings import LlamaSettings
from tui.core.fit.speed import SpeedEstimate, decode_speed, ram_pressure
from tui.core.fit.speed_prompt import prompt_speed
from tui.core.fit.speed_range import speed_range
from tui.core.fit.verdict import Verdict
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.gguf.ggml_types import ggml_type_named
from tui.core.hardware.devices import HardwareProfile
from tui.core.sizes import GiB, MiB

#: Free memory llama.cpp's ``--fit`` leaves on every device (common.h ``fit_params_target``).
FIT_MARGIN_BYTES = 1 * GiB


#: Prompt length the time to first token is quoted for when none is asked (llama-bench's pp512).
DEFAULT_PROMPT_TOKENS = 512

#: CPU-resident weights read per token above which RAM pressure slows decode (bytes): below it the
#: CPU only looks up embedding rows, and pages the GPU's share of the file never re-reads.
HOST_READ_PAGING_BYTES = 64 * 1024 * 1024

#: Architectures llama.cpp runs without flash attention whatever is asked (llama_init_from_model).
NO_FLASH_ATTN_ARCHS = frozenset({"grok"})


@dataclass(frozen=True)
class DeviceUsage:
    """One device's share. Sizes are bytes; ``headroom_bytes`` is capacity minus total (negative: short)."""

    name: str
    kind: str  # "gpu" | "cpu"
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    overhead_bytes: int
    total_bytes: int
    capacity_bytes: int
    headroom_bytes: int
    verdict: Verdict
    box: str = ""  # the helper box's rpc-server endpoint ("" = the head machine)
    buffer: str = ""  # llama.cpp's buffer type name (``RPC0[host:port]``) when it differs from ``name``
    projector_bytes: int = 0  # a vision projector's weights (mmproj), part of total_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "box": self.box,
            "buffer": self.buffer or self.name,
            "weights_bytes": self.weights_bytes,
            "projector_bytes": self.projector_bytes,
            "kv_bytes": self.kv_bytes,
            "compute_bytes": self.compute_bytes,
            "overhead_bytes": self.overhead_bytes,
            "total_bytes": self.total_bytes,
            "capacity_bytes": self.capacity_bytes,
            "headroom_bytes": self.headroom_bytes,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class MemoryPool:
    """Unified memory (Apple silicon): one RAM holding the GPU's share and the CPU's share.

    ``gpu_bytes`` + ``cpu_bytes`` = ``total_bytes`` out of ``capacity_bytes``; the GPU share is
    also capped by Metal's working-set limit (the GPU device's capacity).
    """

    capacity_bytes: int
    gpu_bytes: int
    cpu_bytes: int
    total_bytes: int
    headroom_bytes: int
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {"capacity_bytes": self.capacity_bytes, "gpu_bytes": self.gpu_bytes, "cpu_bytes": self.cpu_bytes,
                "total_bytes": self.total_bytes, "headroom_bytes": self.headroom_bytes, "verdict": self.verdict}


def host_capacity(profile: HardwareProfile, gpu_totals: int, gpu_caps: int) -> int:
    """RAM the CPU's share may use. On unified memory the GPU's share comes out of the same RAM: the
    CPU gets what the GPU uses, but the GPU never takes more than its cap (a GPU over its cap is that
    device's shortfall, not the host's), so the capacity is never negative."""
    ram = profile.ram_available_bytes
    if not profile.unified_memory:
        return ram
    return max(0, ram - min(gpu_totals, gpu_caps))


def memory_pool(profile: HardwareProfile, usages: list[DeviceUsage], margin: int) -> MemoryPool | None:
    """The unified pool's sum (None for a discrete GPU or no GPU): both shares against one RAM."""
    if not profile.unified_memory or profile.is_cpu_only:
        return None
    gpu = sum(u.total_bytes for u in usages if u.kind == "gpu" and not u.box)  # helper boxes have their own
    cpu = sum(u.total_bytes for u in usages if u.kind != "gpu")
    capacity = profile.ram_available_bytes
    return MemoryPool(capacity, gpu, cpu, gpu + cpu, capacity - gpu - cpu, _verdict(gpu + cpu, capacity, margin))


@dataclass(frozen=True)
class FitEstimate:
    """The answer for one model, profile and settings.

    ``n_ctx`` is the KV cells llama.cpp allocates (the request padded to 256);
    ``n_gpu_layers`` the layers offloaded, output layer included, out of ``n_layers_total``
    (blocks + 1), as llama.cpp's "offloaded N/M layers to GPU" counts them.
    ``llama_cpp_args`` are the llama-server flags for these settings (add ``-m``/``-hf``:
    ``tui.core.fit.llama_args.llama_server_args``).
    """

    devices: tuple[DeviceUsage, ...]
    n_ctx: int
    n_gpu_layers: int
    n_layers_total: int
    fits: bool
    verdict: Verdict  # FITS, TIGHT or NO_FIT: the worst device's
    est_tokens_per_s: float
    settings: LlamaSettings
    warnings: tuple[str, ...]
    flash_attn_enabled: bool
    llama_cpp_args: tuple[str, ...]
    margin_bytes: int = FIT_MARGIN_BYTES
    speed_context_tokens: int = 0  # cached tokens the speed assumes
    pool: MemoryPool | None = None  # unified memory (Apple silicon): GPU and CPU shares of one RAM
    ram_overflow_bytes: int = 0  # > 0: the plan overflows free RAM and pages from disk (speed says so)
    est_tokens_per_s_range: tuple[float, float] | None = None  # from the class's residuals; None: no data
    speed_class: str = ""
    prompt_tokens: int = 0
    est_prompt_tokens_per_s: float = 0.0
    est_ttft_s: float = 0.0
    kv_cache_bytes: int = 0  # all devices
    weights_bytes: int = 0  # all devices (tied-embedding copy included)
    placement: Placement | None = field(default=None, compare=False, repr=False)
    layout: CacheLayout | None = field(default=None, compare=False, repr=False)
    speed: SpeedEstimate | None = field(default=None, compare=False, repr=False)
    rpc_endpoints: tuple[str, ...] = ()  # helper boxes, in --rpc order (their devices lead ``devices``)
    network: NetworkCost | None = None  # per decoded token, with boxes
    prompt_network: NetworkCost | None = None  # per prompt micro-batch (n_ubatch tokens), with boxes
    projector: ProjectorSize | None = None

    def device(self, name: str) -> DeviceUsage:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    @property
    def gpu_devices(self) -> tuple[DeviceUsage, ...]:
        return tuple(d for d in self.devices if d.kind == "gpu")

    @property
    def host(self) -> DeviceUsage:
        return self.devices[-1]

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "devices": [d.to_dict() for d in self.devices],
            "n_ctx": self.n_ctx,
            "n_ctx_requested": s.n_ctx,
            "n_gpu_layers": self.n_gpu_layers,
            "n_layers_total": self.n_layers_total,
            "fits": self.fits,
            "verdict": self.verdict,
            "margin_bytes": self.margin_bytes,
            "est_tokens_per_s": round(self.est_tokens_per_s, 2),
            "speed_context_tokens": self.speed_context_tokens,
            "est_tokens_per_s_range": ([round(x, 2) for x in self.est_tokens_per_s_range]
                                       if self.est_tokens_per_s_range else None),
            "speed_class": self.speed_class,
            "speed_terms": ("measured on this machine" if self.speed is not None and self.speed.measured_terms
                            else "device class"),
            "speed_correction": (round(self.speed.correction, 3)
                                 if self.speed is not None and self.speed.correction != 1.0 else None),
            "prompt_tokens": self.prompt_tokens,
            "est_prompt_tokens_per_s": round(self.est_prompt_tokens_per_s, 1),
            "est_ttft_s": round(self.est_ttft_s, 3),
            "pages_from_disk": self.ram_overflow_bytes > 0,
            "ram_overflow_bytes": self.ram_overflow_bytes,
            "flash_attn_enabled": self.flash_attn_enabled,
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "unified_memory": self.pool.to_dict() if self.pool is not None else None,
            "projector": self.projector.to_dict() if self.projector is not None else None,
            "warnings": list(self.warnings),
            "llama_cpp_args": list(self.llama_cpp_args),
            "rpc": list(self.rpc_endpoints),
            "network_per_token": self.network.to_dict() if self.network else None,
            "network_per_ubatch": self.prompt_network.to_dict() if self.prompt_network else None,
            "settings": {
                "n_ctx": s.n_ctx, "n_gpu_layers": s.n_gpu_layers, "cache_type_k": s.cache_type_k,
                "cache_type_v": s.cache_type_v, "flash_attn": s.flash_attn, "n_batch": s.n_batch,
                "n_ubatch": s.n_ubatch, "swa_full": s.swa_full, "cpu_moe": s.cpu_moe, "n_cpu_moe": s.n_cpu_moe,
                "overrides": [r.to_arg() for r in s.overrides], "tensor_split": list(s.tensor_split),
                "n_threads": s.n_threads, "use_mmap": s.use_mmap, "n_seq_max": s.n_seq_max,
            },
        }


# --- flash attention ---------------------------------------------------------------------------


def _fa_layer_heads(anatomy: ModelAnatomy) -> list[tuple[int, int, int, int]]:
    """(layer, K head, V head, GQA ratio) of every layer with a KV cache, as the FA kernel sees them."""
    out = []
    mla = is_mla(anatomy)
    n_main = anatomy.n_layer - anatomy.n_nextn_layers
    for il in range(n_main):
        if anatomy.n_head_kv[il] <= 0 or not has_kv(anatomy, il) or is_recurrent_layer(anatomy, il):
            continue
        k = head_k(anatomy, il)
        v = anatomy.kv_lora_rank if mla else head_v(anatomy, il)
        gqa = anatomy.n_head[il] // anatomy.n_head_kv[il] if anatomy.n_head_kv[il] else 0
        out.append((il, k, v, gqa))
    return out


def flash_attn_decision(anatomy: ModelAnatomy, settings: LlamaSettings, profile: HardwareProfile | None = None,
                        placement: Placement | None = None) -> tuple[bool, list[str]]:
    """Flash attention on or off, and why, as ``llama_init_from_model`` and the context resolve it.

    * grok: forced off;
    * MLA models need the same K and V cache types (error otherwise);
    * a quantized V cache needs flash attention: ``auto`` turns it on, ``off`` is an error;
    * with flash attention, a quantized cache type's block size must divide the head sizes;
    * ``auto`` otherwise turns it on unless a layer's GPU cannot run the kernel for the
      model's head sizes (``llama_context::resolve_fused_ops``: the op would fall back to
      the CPU, so llama.cpp disables it); the CPU runs every head size.

    Raises ``LocalAIError`` where llama.cpp would refuse the context.
    """
    notes: list[str] = []
    mode = settings.flash_attn
    type_k = ggml_type_named(settings.cache_type_k)
    type_v = ggml_type_named(settings.cache_type_v)
    if anatomy.architecture in NO_FLASH_ATTN_ARCHS and mode != "off":
        notes.append(f"flash attention is not compatible with {anatomy.architecture}: llama.cpp turns it off")
        mode = "off"
    if is_mla(anatomy) and settings.cache_type_k != settings.cache_type_v:
        raise LocalAIError(
            f"this model (MLA attention) needs the same K and V cache types, not {settings.cache_type_k} "
            f"and {settings.cache_type_v}", hint="give -ctk and -ctv the same type")
    if type_v.block_size > 1:
        if mode == "off":
            raise LocalAIError(f"a quantized V cache (-ctv {settings.cache_type_v}) requires flash attention",
                               hint="use -fa on (or auto), or -ctv f16")
        if mode == "auto":
            notes.append(f"flash attention enabled: the {settings.cache_type_v} V cache requires it")
            mode = "on"
    heads = _fa_layer_heads(anatomy)
    if mode != "off":
        for t, which, index in ((type_k, "K", 1), (type_v, "V", 2)):
            if t.block_size <= 1:
                continue
            for entry in heads:
                if entry[index] % t.block_size:
                    raise LocalAIError(
                        f"{which} cache type {t.name.lower()} (blocks of {t.block_size}) does not divide the "
                        f"model's {which} head size {entry[index]}", hint=f"use another -ct{which.lower()}")
    if mode != "auto":
        return mode == "on", notes
    if profile is None or profile.is_cpu_only:
        return True, notes
    if placement is None:
        placement = place_weights(anatomy, profile, settings)
    for il, k, v, gqa in heads:
        device = placement.devices[placement.layer_device[il]]
        if not device.is_gpu or device.is_rpc:  # RPC devices claim every op (ggml_backend_rpc_device_supports_op)
            continue
        traits = gpu_traits(profile.gpus[device.gpu].backend)
        if not traits.supports_flash_attn(k, v, gqa):
            notes.append(f"flash attention off: {device.name} ({traits.name}) has no kernel for "
                         f"{k}/{v} head sizes (llama.cpp's -fa auto disables it)")
            return False, notes
    return True, notes


# --- the estimate ------------------------------------------------------------------------------


def _verdict(total: int, capacity: int, margin: int) -> Verdict:
    if total + margin <= capacity:
        return Verdict.FITS
    if total <= capacity:
        return Verdict.TIGHT
    return Verdict.NO_FIT


def output_buffer_bytes(anatomy: ModelAnatomy, settings: LlamaSettings) -> int:
    """llama.cpp's host-side logits buffer: ``n_vocab`` floats for each of ``n_seq_max`` outputs."""
    return anatomy.n_vocab * 4 * max(1, settings.n_seq_max)


def estimate_fit(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                 *, margin_bytes: int = FIT_MARGIN_BYTES, depth: int | None = None,
                 prompt_tokens: int = DEFAULT_PROMPT_TOKENS, projector: ProjectorSize | None = None) -> FitEstimate:
    """Memory per device, verdicts, speed and the llama-server flags for running ``anatomy`` on ``profile``.

    ``depth``: tokens already in the KV cache when decode speed is quoted (llama-bench ``-d``);
    None means half the context. ``prompt_tokens``: the prompt whose processing speed and time to
    first token are quoted. ``projector``: a vision model's mmproj file, whose weights go on the
    first GPU (or the CPU) as llama.cpp's clip.cpp places them (tui/core/fit/projector.py).
    """
    try:
        settings.validate()
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    if not anatomy.tensors:
        raise LocalAIError("this GGUF file has no weights (a vocabulary-only file?): nothing to run")
    if anatomy.n_layer <= 0:
        raise LocalAIError("this model has no layers (block_count is 0)")

    settings = split_for_boxes(profile, settings)
    devices = profile_devices(profile)
    cpu = len(devices) - 1
    placement = place_weights(anatomy, profile, settings, devices)
    flash_attn, notes = flash_attn_decision(anatomy, settings, profile, placement)
    context = resolve_context(settings, anatomy.n_ctx_train)
    try:
        layout = cache_layout(anatomy, settings, flash_attn, context)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None

    kv = [0] * len(devices)
    for il, size in enumerate(layout.layer_bytes):
        kv[placement.layer_device[il]] += size
    params = graph_params(anatomy, layout, flash_attn, settings.cache_type_k, settings.cache_type_v)
    copies = pipeline_copies(placement, anatomy.n_layer, bool(settings.effective_overrides()))
    compute = compute_buffer_bytes(anatomy, placement, params, host_copy_bytes(placement, layout.layer_bytes), copies)

    usages = []
    gpu_totals = gpu_caps = 0
    projector_device = next((dev for dev, device in enumerate(devices) if device.is_gpu), cpu)
    for dev, device in enumerate(devices):
        if device.is_gpu:
            gpu = profile.gpus[device.gpu]
            overhead = rpc_device_overhead(gpu.backend) if device.is_rpc else gpu_traits(gpu.backend).overhead_bytes
            capacity = gpu.available_bytes
        else:
            overhead = cpu_traits().overhead_bytes + output_buffer_bytes(anatomy, settings)
            capacity = host_capacity(profile, gpu_totals, gpu_caps)
        projector_bytes = projector.weights_bytes if projector is not None and dev == projector_device else 0
        total = placement.weights[dev] + kv[dev] + compute[dev] + overhead + projector_bytes
        if device.is_gpu and not device.is_rpc:  # a box's memory is its own, not the head's
            gpu_totals += total
            gpu_caps += capacity
        usages.append(DeviceUsage(
            name=device.name, kind=device.kind, weights_bytes=placement.weights[dev], kv_bytes=kv[dev],
            compute_bytes=compute[dev], overhead_bytes=overhead, total_bytes=total, capacity_bytes=capacity,
            headroom_bytes=capacity - total, verdict=_verdict(total, capacity, margin_bytes),
            projector_bytes=projector_bytes, box=device.box, buffer=device.buffer,
        ))

    host = usages[cpu]
    reads_host = placement.read_per_token[cpu] > HOST_READ_PAGING_BYTES
    overflow = 0 if profile.unified_memory or not reads_host else ram_pressure(
        profile, host.total_bytes, anatomy.file_size or anatomy.tensor_bytes, host.weights_bytes, settings.use_mmap)
    speed = decode_speed(profile, placement, layout, depth, anatomy=anatomy, n_threads=settings.n_threads,
                         pages_from_disk=overflow > 0)
    prompt = prompt_speed(profile, placement, anatomy, prompt_tokens, depth=0, n_ubatch=settings.n_ubatch,
                          n_threads=settings.n_threads)
    network = prompt_network = None
    if profile.boxes:  # helper boxes: every token and every prompt micro-batch crosses their links
        network = forward_network_cost(profile, placement, n_embd=anatomy.n_embd, n_vocab=anatomy.n_vocab,
                                       n_tokens=1, n_outputs=1, n_kv=speed.context_tokens + 1,
                                       flash_attn=flash_attn)
        prompt_network = forward_network_cost(profile, placement, n_embd=anatomy.n_embd, n_vocab=anatomy.n_vocab,
                                              n_tokens=context.n_ubatch, n_outputs=1, n_kv=context.n_ubatch,
                                              flash_attn=flash_attn)
        speed = with_network(speed, network)
        prompt = with_prompt_network(prompt, prompt_network)
    pool = memory_pool(profile, usages, margin_bytes)
    verdict = Verdict.worst([u.verdict for u in usages])
    warnings = notes + _warnings(anatomy, profile, settings, placement, layout, usages, cpu)
    if overflow > 0 and host.verdict != Verdict.NO_FIT:
        warnings.append(f"RAM pressure: the plan needs {_gib(overflow)} more than the free RAM (with mmap the "
                        "page cache holds the whole model file): weights will be re-read from disk every token, "
                        "so it runs far below the memory-bound speed")
        if verdict == Verdict.FITS:
            verdict = Verdict.TIGHT
    if projector is not None:
        warnings.append(f"vision projector {Path(projector.name).name}: {_gib(projector.weights_bytes)} of weights on "
                        f"{devices[projector_device].name}; the compute buffer for an image (clip's warm-up graph) "
                        "is not counted")
    return FitEstimate(
        devices=tuple(usages),
        n_ctx=context.n_ctx,
        n_gpu_layers=placement.n_gpu_layers,
        n_layers_total=anatomy.n_layer + 1,
        fits=verdict != Verdict.NO_FIT,
        verdict=verdict,
        est_tokens_per_s=speed.tokens_per_s,
        settings=settings,
        warnings=tuple(warnings),
        flash_attn_enabled=flash_attn,
        llama_cpp_args=tuple((["--rpc", ",".join(b.endpoint for b in profile.boxes)] if profile.boxes else [])
                             + settings_args(settings)),
        margin_bytes=margin_bytes,
        speed_context_tokens=speed.context_tokens,
        pool=pool,
        ram_overflow_bytes=overflow,
        est_tokens_per_s_range=box_or_class_range(speed, profile),
        speed_class=speed.speed_class,
        prompt_tokens=prompt.n_tokens,
        est_prompt_tokens_per_s=prompt.tokens_per_s,
        est_ttft_s=prompt.ttft_s,
        kv_cache_bytes=layout.total_bytes,
        weights_bytes=sum(placement.weights),
        placement=placement,
        layout=layout,
        speed=speed,
        rpc_endpoints=tuple(b.endpoint for b in profile.boxes),
        network=network,
        prompt_network=prompt_network,
        projector=projector,
    )


def _gib(n: int) -> str:
    return f"{n / GiB:.2f} GiB"


def box_or_class_range(speed: SpeedEstimate, profile: HardwareProfile) -> tuple[float, float] | None:
    """The decode range: this box's own bench residuals once it has enough runs
    (``tui.core.fit.bench_feedback``), else the device class's published ones."""
    if profile.speed_spread is not None and speed.correction != 1.0 and speed.tokens_per_s > 0:
        low, high = profile.speed_spread
        return speed.tokens_per_s * low, speed.tokens_per_s * high
    return speed_range(speed.tokens_per_s, speed.speed_class)


def _warnings(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings, placement: Placement,
              layout: CacheLayout, usages: list[DeviceUsage], cpu: int) -> list[str]:
    out = []
    context = layout.context
    if not anatomy.known_architecture:
        out.append(f"llama.cpp (as bundled) does not know the '{anatomy.architecture}' architecture: "
                   "it will refuse to load this model; the estimate follows generic rules")
    if settings.n_ctx and context.n_ctx != settings.n_ctx:
        out.append(f"context {settings.n_ctx} rounded up to {context.n_ctx} cells (llama.cpp pads to 256)")
    if anatomy.n_ctx_train and context.n_ctx_seq > anatomy.n_ctx_train:
        out.append(f"context {context.n_ctx_seq} is beyond the model's trained {anatomy.n_ctx_train} tokens: "
                   "quality may degrade")
    if layout.swa_cells and not settings.swa_full:
        window, batch = anatomy.sliding_window, context.n_ubatch
        if layout.swa_cells < context.n_ctx_seq:
            out.append(f"sliding-window layers keep only {layout.swa_cells} of the {context.n_ctx_seq} cells: their "
                       f"{window}-token window plus one {batch}-token batch, padded to 256 (llama_kv_cache_iswa); "
                       "--swa-full would give them the whole context")
        else:
            out.append(f"sliding-window layers (a {window}-token window) hold the whole {context.n_ctx_seq}-cell "
                       f"context here: it is no longer than the window plus one {batch}-token batch")
    if settings.n_gpu_layers is not None and settings.n_gpu_layers > anatomy.n_layer + 1 and not profile.is_cpu_only:
        out.append(f"-ngl {settings.n_gpu_layers} is more than the model's {anatomy.n_layer + 1} layers: all offloaded")
    if profile.is_cpu_only and settings.n_gpu_layers:
        out.append("no GPU in this profile: -ngl is ignored, everything runs on the CPU")
    if anatomy.n_nextn_layers:
        out.append(f"{anatomy.n_nextn_layers} multi-token-prediction layer(s) are not loaded (llama.cpp skips "
                   "them unless MTP speculative decoding is on)")
    if placement.tied_copy_bytes:
        out.append(f"tied embeddings: the output layer on {placement.devices[placement.output_device].name} "
                   f"holds its own copy of token_embd ({_gib(placement.tied_copy_bytes)})")
    host = usages[cpu]
    if host.weights_bytes and settings.use_mmap and host.weights_bytes > 64 * MiB:
        out.append(f"{_gib(host.weights_bytes)} of weights stay on the CPU, memory-mapped from the file: they "
                   "still need that much free RAM to run at full speed (without it the OS reads them from disk "
                   "on every token)")
    if profile.boxes:
        out.append("rpc-server has no authentication or encryption (its own start-up warning): run it only on a "
                   "network you trust; the helpers load the weights over it once (-c caches them on each box)")
    if not profile.is_cpu_only and placement.layer_device and any(d == cpu for d in placement.layer_device):
        if context.n_tokens >= 32:
            out.append("layers left on the CPU: prompt processing still runs them on "
                       f"{placement.devices[0].name}, copying each weight (and their KV cache) over, so its "
                       "compute buffer holds the largest such copy")
    return out


# --- timing helper -----------------------------------------------------------------------------


def time_estimate(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                  repeats: int = 50, vary_context: bool = True) -> dict[str, float]:
    """Milliseconds per ``estimate_fit`` call: the first call (cold caches) and the median of ``repeats``.

    With ``vary_context`` each repeat asks for a different context (as a context slider does),
    so compute buffers are recomputed rather than served from the cache.
    """
    start = time.perf_counter()
    estimate_fit(anatomy, profile, settings)
    cold = (time.perf_counter() - start) * 1e3
    samples = []
    base = max(256, settings.n_ctx)
    for i in range(repeats):
        s = settings.with_changes(n_ctx=base + 256 * (i + 1)) if vary_context else settings
        start = time.perf_counter()
        estimate_fit(anatomy, profile, s)
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    return {"cold_ms": cold, "median_ms": samples[len(samples) // 2], "max_ms": samples[-1]}
