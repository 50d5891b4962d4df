"""How fast a prompt is processed and how long until the first token (llama-bench ``pp``).

Prompt tokens go through the model in batches of ``n_ubatch``: each matrix multiplication then
does 2 flops per weight per token at the device's matrix throughput, so prompt processing is
compute bound where decode is memory bound:

    seconds = sum over devices of 2 x active weights x N / (FP16 throughput x efficiency)
              + attention: 4 x layers x heads x head size x N x (depth + N/2) flops
              + per ubatch: layers x layer cost + weights left on the CPU copied to the GPU (op offload)

Time to first token is the time to process the prompt (its last batch yields the first token).
Constants: ``[prompt]`` in ``tui/data/speed.toml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tui.core.fit.placement import Placement
from tui.core.fit.speed import cpu_cores, model_facts
from tui.core.fit.speed_constants import SpeedConstants, speed_constants
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile


@dataclass(frozen=True)
class PromptEstimate:
    """Prompt processing for ``n_tokens`` on top of ``depth`` cached tokens."""

    n_tokens: int
    tokens_per_s: float
    ttft_s: float  # seconds until the first generated token


def device_flops(profile: HardwareProfile, placement: Placement, dev: int, n_threads: int | None,
                 constants: SpeedConstants) -> float:
    """Matrix flops/s a device sustains in prompt processing."""
    device = placement.devices[dev]
    table = constants.extra.get("prompt", {})
    if device.is_gpu:
        gpu = profile.gpus[device.gpu]
        if gpu.fp16_tflops:
            return gpu.fp16_tflops * 1e12 * float(table.get("gpu_efficiency", 0.58))
        return gpu.bandwidth_gbps * 1e9 * float(table.get("flops_per_byte_fallback", 150.0))
    return cpu_cores(profile, n_threads, constants) * float(table.get("cpu_gflops_per_core", 48.0)) * 1e9


def prompt_speed(profile: HardwareProfile, placement: Placement, anatomy: ModelAnatomy, n_tokens: int,
                 *, depth: int = 0, n_ubatch: int = 512, n_threads: int | None = None,
                 constants: SpeedConstants | None = None) -> PromptEstimate:
    """Tokens/s and time to first token for a prompt of ``n_tokens`` after ``depth`` cached tokens."""
    c = constants or speed_constants()
    n = max(1, n_tokens)
    batches = math.ceil(n / max(1, n_ubatch))
    elements_per_byte = model_facts(anatomy).elements_per_byte
    n_dev = len(placement.devices)
    layers_on = [0] * n_dev
    for dev in placement.layer_device:
        layers_on[dev] += 1
    has_gpu = any(d.is_gpu for d in placement.devices)
    seconds = 0.0
    attention_per_layer = 4.0 * max(anatomy.n_head, default=0) * max(1, anatomy.n_embd_head_k) * n * (depth + n / 2)
    for dev in range(n_dev):
        device = placement.devices[dev]
        weights = placement.read_per_token[dev] * elements_per_byte
        if weights <= 0 and layers_on[dev] == 0:
            continue
        flops = 2.0 * weights * n + layers_on[dev] * attention_per_layer
        rate = device_flops(profile, placement, dev, n_threads, c)
        if not device.is_gpu and has_gpu and n >= 32:
            # op offload: the GPU multiplies the CPU's weights, copied over the link per ubatch
            gpu0 = next(d for d in range(n_dev) if placement.devices[d].is_gpu)
            rate = device_flops(profile, placement, gpu0, n_threads, c)
            seconds += batches * placement.weights[dev] / (c.link.gbps * 1e9)
        if rate <= 0:
            return PromptEstimate(n, 0.0, 0.0)
        backend = profile.gpus[device.gpu].backend if device.is_gpu else "CPU"
        seconds += flops / rate + batches * (layers_on[dev] + 1) * c.backend(backend).layer_s
    main = profile.gpus[0].backend if profile.gpus else "CPU"
    seconds += batches * c.backend(main).token_s
    return PromptEstimate(n, n / seconds if seconds > 0 else 0.0, seconds)
