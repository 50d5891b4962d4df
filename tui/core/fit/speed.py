"""How fast a placement decodes: memory bandwidth, not compute, bounds token generation.

Generating one token reads every weight the forward pass multiplies by, once, plus the KV
cache of every cached token (attention) or the recurrent state, from wherever each lives.
Devices run one after another for a single sequence (layer split, ``-sm layer``), so

    seconds per token = sum over devices of  bytes read there / (peak bandwidth x efficiency)
                        + a fixed per-layer cost (kernel launches, thread synchronisation)

where a MoE model's expert bytes count at the backend's ``moe_expert_efficiency`` (a token
reads a few small, scattered expert slices through ``mul_mat_id``, which streams memory
well below the rate of one large dense matrix).

and tokens/s is its inverse. Bytes read per token (``placement.ModelIndex.read``): dense
weights in full; MoE expert tensors only for the ``n_expert_used / n_expert`` experts a token
picks; ``token_embd`` only one row (a lookup), though with tied embeddings the output layer
reads all of it. Efficiency is the measured fraction of peak bandwidth llama.cpp decode
reaches (the hardware profile's). The KV cache is read at half the context by default: the
average over a conversation that fills it, between the empty-context speed benchmarks quote
and the slowest, full-context speed.

Bandwidths are GB/s (10**9 bytes/s); sizes bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.fit.backends import cpu_traits, gpu_traits
from tui.core.fit.kv_cache import CacheLayout, kv_bytes_read_per_token
from tui.core.fit.placement import Placement
from tui.core.hardware.devices import HardwareProfile


@dataclass(frozen=True)
class SpeedEstimate:
    """Decode speed for one placement. Per-device tuples follow ``placement.devices``."""

    tokens_per_s: float  # 0.0 when a device's bandwidth is unknown
    seconds_per_token: float
    context_tokens: int  # tokens already in the cache the estimate assumes
    bytes_per_token: tuple[float, ...]
    seconds_by_device: tuple[float, ...]


def device_bandwidth(profile: HardwareProfile, placement: Placement, dev: int) -> float:
    """Effective bytes/s of device ``dev``: peak GB/s x decode efficiency."""
    device = placement.devices[dev]
    if device.is_gpu:
        gpu = profile.gpus[device.gpu]
        return gpu.bandwidth_gbps * 1e9 * profile.efficiency_for(gpu)
    efficiency = profile.efficiency if profile.is_cpu_only else profile.ram_efficiency
    return profile.ram_bandwidth_gbps * 1e9 * efficiency


def decode_speed(profile: HardwareProfile, placement: Placement, layout: CacheLayout,
                 n_past: int | None = None) -> SpeedEstimate:
    """Tokens/s generating with ``n_past`` tokens cached (default: half the context)."""
    n_past = layout.context.n_ctx_seq // 2 if n_past is None else n_past
    n_dev = len(placement.devices)
    read = list(placement.read_per_token)
    for il, kv in enumerate(kv_bytes_read_per_token(layout, n_past)):
        read[placement.layer_device[il]] += kv
    layers_on = [0] * n_dev
    for dev in placement.layer_device:
        layers_on[dev] += 1
    layers_on[placement.output_device] += 1
    seconds = []
    unknown = False
    for dev in range(n_dev):
        device = placement.devices[dev]
        traits = gpu_traits(profile.gpus[device.gpu].backend) if device.is_gpu else cpu_traits()
        bandwidth = device_bandwidth(profile, placement, dev)
        if read[dev] <= 0 and layers_on[dev] == 0:
            seconds.append(0.0)
            continue
        if bandwidth <= 0:
            unknown = True
            seconds.append(0.0)
            continue
        experts = placement.expert_read_per_token[dev] if placement.expert_read_per_token else 0.0
        dense = read[dev] - experts
        seconds.append(dense / bandwidth + experts / (bandwidth * traits.moe_expert_efficiency)
                       + layers_on[dev] * traits.layer_seconds)
    total = sum(seconds)
    tps = 0.0 if unknown or total <= 0 else 1.0 / total
    return SpeedEstimate(tps, total, n_past, tuple(read), tuple(seconds))
