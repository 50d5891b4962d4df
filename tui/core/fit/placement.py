"""Which device each weight lands on, the way llama.cpp's loader decides it.

Mirrors ``llama_model_base::load_tensors`` (src/llama-model.cpp) and
``llama_model_loader::create_tensor`` (src/llama-model-loader.cpp) as vendored in
llama-cpp-python 0.3.36:

* ``-ngl`` counts the output layer first: of the ``n_layer + 1`` "layers" (every block plus
  the output layer), the last ``n_gpu_layers`` go to the GPUs (``i_gpu_start =
  max(n_layer + 1 - n_gpu_layers, 0)``), so ``-ngl 1`` offloads only the output layer.
  ``n_gpu_layers`` None (``-ngl all``/``-1``) means all ``n_layer + 1``.
* The input layer (``token_embd``: a row lookup) always stays on the CPU.
* Several GPUs share the offloaded layers in proportion to ``-ts`` or, without it, to each
  GPU's free memory: layer ``il`` goes to the first GPU whose cumulative share exceeds
  ``(il - i_gpu_start) / n_offloaded`` (``std::upper_bound`` on float split points).
* Which layer a tensor belongs to comes from ``LLM_TENSOR_INFOS`` (src/llama-arch.cpp):
  input tensors, output tensors (``output``, ``output_norm``, ``cls`` ...) and repeating
  ``blk.N.*`` tensors.
* ``-ot PATTERN=BUFFER`` rules (and ``--cpu-moe``/``--n-cpu-moe``, which common/arg.cpp turns
  into such rules after the explicit ones) are tried in order with ``std::regex_search``; the
  first match wins.
* Tied embeddings (no ``output.weight``): the output layer loads ``token_embd`` a second time
  with ``TENSOR_DUPLICATED``; the copy costs its full size on the output layer's device
  unless that device is where ``token_embd`` already is (the loader then reuses it).
* The tensors of nextn (MTP) layers are created with ``TENSOR_SKIP`` unless speculative MTP
  decoding is requested, so they cost nothing (but still count as layers for ``-ngl``).

Sizes are bytes.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from tui.core.errors import LocalAIError
from tui.core.fit.cache import cached_for
from tui.core.fit.settings import FFN_EXPS_REGEX, LlamaSettings, TensorOverride
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile

#: Tensors of the input layer (``LLM_TENSOR_LAYER_INPUT``): kept on the CPU.
INPUT_TENSORS = frozenset({"token_embd", "position_embd", "token_types", "per_layer_token_embd",
                           "masked_embd_centroids", "masked_embd_ordering"})

#: Tensors of the output layer (``LLM_TENSOR_LAYER_OUTPUT``): on the output layer's device.
OUTPUT_TENSORS = frozenset({
    "output", "cls", "cls.output", "cls.norm", "dense_2", "dense_3", "output_norm", "token_embd_norm",
    "dec.output_norm", "enc.output_norm", "output_hc_fn", "output_hc_base", "output_hc_scale",
    "output_hc_norm", "output_hc_down", "output_hc_up", "output_res_score", "altup_proj",
    "altup_unembd_proj", "nextn.post_projection", "fc", "d2t", "markov_w1", "markov_w2", "conf_proj",
    "selector_predecessor", "selector_successor", "selector_hidden",
})

#: Input tensors read one row per token (a ``GGML_OP_GET_ROWS`` lookup), not as a whole.
ROW_LOOKUP_TENSORS = frozenset({"token_embd", "position_embd", "token_types", "per_layer_token_embd"})

#: llama.cpp's name for each backend's devices (``ggml_backend_dev_name``): CUDA0, ROCm0, MTL0, ...
BACKEND_DEVICE_PREFIX = {"CUDA": "CUDA", "ROCM": "ROCm", "HIP": "ROCm", "METAL": "MTL", "MTL": "MTL",
                         "VULKAN": "Vulkan", "SYCL": "SYCL", "OPENCL": "GPUOpenCL", "CANN": "CANN", "MUSA": "MUSA"}

_RE_BLOCK = re.compile(r"^blk\.(\d+)\.")
_RE_EXPERTS = re.compile(FFN_EXPS_REGEX)

ROLE_INPUT, ROLE_OUTPUT, ROLE_LAYER, ROLE_SKIPPED = "input", "output", "layer", "skipped"


@dataclass(frozen=True)
class Device:
    """A place buffers live: one GPU (``gpu`` is its index in the profile) or the CPU (host RAM).

    A device on a helper box (``box`` is its rpc-server's ``host:port``) is an RPC device to
    llama.cpp: named ``RPC0``, ``RPC1`` ... in registration order (``ggml_backend_rpc_add_server``),
    its buffers ``RPC<i>[host:port]`` with ``i`` its index on that server; ``backend`` stays the
    backend the remote rpc-server drives (``CUDA``, ``Metal``, ``CPU`` ...).
    """

    name: str
    kind: str  # "gpu" | "cpu"
    gpu: int = -1
    backend: str = "CPU"  # GpuSpec.backend for GPUs
    box: str = ""  # rpc-server endpoint; "" = the head machine
    buffer: str = ""  # llama.cpp's buffer type name when it differs from ``name`` (RPC devices)

    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"

    @property
    def is_rpc(self) -> bool:
        return bool(self.box)

    @property
    def buffer_name(self) -> str:
        return self.buffer or self.name


def profile_devices(profile: HardwareProfile) -> tuple[Device, ...]:
    """The profile's devices in llama.cpp's order: GPUs first (named like ``CUDA0``), the CPU last.

    Helper boxes' devices lead ``profile.gpus`` (``tui.core.hardware.boxes.attach_boxes``), as
    ``llama_prepare_model_devices`` puts RPC devices before local GPUs.
    """
    counters: dict[str, int] = {}
    per_box: dict[str, int] = {}
    devices = []
    for i, gpu in enumerate(profile.gpus):
        if gpu.is_remote:
            n = counters.get("RPC", 0)
            counters["RPC"] = n + 1
            on_box = per_box.get(gpu.box, 0)
            per_box[gpu.box] = on_box + 1
            devices.append(Device(f"RPC{n}", "gpu", i, gpu.backend, gpu.box, f"RPC{on_box}[{gpu.box}]"))
            continue
        prefix = BACKEND_DEVICE_PREFIX.get(gpu.backend.upper(), gpu.backend)
        n = counters.get(prefix, 0)
        counters[prefix] = n + 1
        devices.append(Device(f"{prefix}{n}", "gpu", i, gpu.backend))
    devices.append(Device("CPU", "cpu"))
    return tuple(devices)


def tensor_role(name: str, n_layer_main: int) -> tuple[str, int]:
    """(role, layer) of a tensor by name: input / output / repeating layer N / skipped (nextn layer)."""
    match = _RE_BLOCK.match(name)
    if match:
        layer = int(match.group(1))
        return (ROLE_SKIPPED if layer >= n_layer_main else ROLE_LAYER), layer
    base = name.rsplit(".", 1)[0] if name.endswith((".weight", ".bias", ".scale")) else name
    if base in INPUT_TENSORS:
        return ROLE_INPUT, -1
    if base in OUTPUT_TENSORS:
        return ROLE_OUTPUT, -1
    return ROLE_LAYER, 0  # rope_freqs and other per-model tensors llama.cpp creates with layer 0


def _is_matmul_weight(name: str, shape: tuple[int, ...]) -> bool:
    """A matrix a GPU would multiply by (what op offload copies to the GPU), not a norm or bias."""
    return len(shape) >= 2 and shape[1] > 1 and not name.endswith(".bias")


@dataclass(frozen=True)
class ModelIndex:
    """Per-layer weight aggregates of one anatomy, computed once so a placement costs O(layers)."""

    n_layer: int
    n_layer_main: int
    names: tuple[str, ...]
    nbytes: tuple[int, ...]
    read: tuple[float, ...]  # bytes read per decoded token (experts: the active share; row lookups: one row)
    roles: tuple[str, ...]
    layers: tuple[int, ...]
    is_expert: tuple[bool, ...]
    is_matmul: tuple[bool, ...]
    layer_dense: tuple[int, ...]  # bytes per layer, expert tensors excluded
    layer_expert: tuple[int, ...]
    layer_dense_read: tuple[float, ...]
    layer_expert_read: tuple[float, ...]
    layer_dense_max: tuple[int, ...]  # largest matmul weight per layer (op offload copies one at a time)
    layer_expert_max: tuple[int, ...]
    input_tensors: tuple[int, ...]  # tensor indices
    output_tensors: tuple[int, ...]
    token_embd: int  # tensor index, -1 if absent
    tied: bool

    @property
    def total_bytes(self) -> int:
        return sum(b for b, r in zip(self.nbytes, self.roles, strict=True) if r != ROLE_SKIPPED)


def build_index(anatomy: ModelAnatomy) -> ModelIndex:
    n_layer = anatomy.n_layer
    n_main = n_layer - anatomy.n_nextn_layers
    names, nbytes, reads, roles, layers, experts, matmuls = [], [], [], [], [], [], []
    layer_dense = [0] * n_layer
    layer_expert = [0] * n_layer
    layer_dense_read = [0.0] * n_layer
    layer_expert_read = [0.0] * n_layer
    layer_dense_max = [0] * n_layer
    layer_expert_max = [0] * n_layer
    inputs, outputs = [], []
    token_embd = -1
    active = anatomy.n_expert_used / anatomy.n_expert if anatomy.n_expert else 1.0
    for i, t in enumerate(anatomy.tensors):
        role, layer = tensor_role(t.name, n_main)
        size = t.n_bytes if role != ROLE_SKIPPED else 0
        expert = bool(_RE_EXPERTS.search(t.name))
        base = t.name.rsplit(".", 1)[0]
        if base in ROW_LOOKUP_TENSORS:
            rows = t.shape[1] if len(t.shape) > 1 else 1
            read = size / max(1, rows)
        elif expert:
            read = size * active
        else:
            read = float(size)
        matmul = _is_matmul_weight(t.name, t.shape)
        names.append(t.name)
        nbytes.append(size)
        reads.append(read)
        roles.append(role)
        layers.append(layer)
        experts.append(expert)
        matmuls.append(matmul)
        if t.name == "token_embd.weight":
            token_embd = i
        if role == ROLE_INPUT:
            inputs.append(i)
        elif role == ROLE_OUTPUT:
            outputs.append(i)
        elif role == ROLE_LAYER and 0 <= layer < n_layer:
            if expert:
                layer_expert[layer] += size
                layer_expert_read[layer] += read
                if matmul:
                    layer_expert_max[layer] = max(layer_expert_max[layer], size)
            else:
                layer_dense[layer] += size
                layer_dense_read[layer] += read
                if matmul:
                    layer_dense_max[layer] = max(layer_dense_max[layer], size)
    tied = token_embd >= 0 and not any(n == "output.weight" for n in names)
    return ModelIndex(
        n_layer, n_main, tuple(names), tuple(nbytes), tuple(reads), tuple(roles), tuple(layers),
        tuple(experts), tuple(matmuls), tuple(layer_dense), tuple(layer_expert), tuple(layer_dense_read),
        tuple(layer_expert_read), tuple(layer_dense_max), tuple(layer_expert_max), tuple(inputs),
        tuple(outputs), token_embd, tied,
    )


def model_index(anatomy: ModelAnatomy) -> ModelIndex:
    return cached_for(anatomy, "index", lambda: build_index(anatomy))


# --- layer -> device ---------------------------------------------------------------------------


def _f32(x: float) -> float:
    """Round to IEEE single precision, as llama.cpp's ``float`` split points are."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def split_points(shares: list[float]) -> list[float]:
    """Cumulative, normalised split points (``splits`` in load_tensors), in float32 like llama.cpp."""
    points = []
    total = 0.0
    for share in shares:
        total = _f32(total + _f32(share))
        points.append(total)
    if total <= 0:
        return [_f32((i + 1) / len(shares)) for i in range(len(shares))]
    return [_f32(p / total) for p in points]


def resolved_gpu_layers(n_gpu_layers: int | None, n_layer: int, n_gpus: int) -> int:
    """How many of the ``n_layer + 1`` layers are offloaded (``act_gpu_layers``)."""
    if n_gpus == 0:
        return 0
    wanted = n_layer + 1 if n_gpu_layers is None or n_gpu_layers < 0 else n_gpu_layers
    return min(wanted, n_layer + 1)


def assign_layers(n_layer: int, n_gpu_layers: int | None, gpu_shares: list[float]) -> tuple[list[int], int]:
    """Device of every block and of the output layer: a GPU index, or -1 for the CPU.

    ``gpu_shares`` are ``-ts`` proportions or the GPUs' free bytes (``get_layer_buft_list``).
    """
    act = resolved_gpu_layers(n_gpu_layers, n_layer, len(gpu_shares))
    start = max(n_layer + 1 - act, 0)
    splits = split_points(gpu_shares) if gpu_shares else []

    def device_of(il: int) -> int:
        if il < start or il - start >= act:
            return -1
        position = _f32(_f32(il - start) / act)
        for g, point in enumerate(splits):  # std::upper_bound: first split point > position
            if point > position:
                return g
        return len(splits) - 1

    return [device_of(il) for il in range(n_layer)], device_of(n_layer)


# --- overrides ---------------------------------------------------------------------------------


def _explicit_matches(anatomy: ModelAnatomy, rules: tuple[TensorOverride, ...]) -> dict[int, str]:
    """Tensor index -> buffer name for tensors an explicit ``-ot`` rule claims (first match wins)."""

    def build() -> dict[int, str]:
        compiled = []
        for rule in rules:
            try:
                compiled.append((re.compile(rule.pattern), rule.buffer))
            except re.error as exc:
                raise LocalAIError(f"-ot pattern '{rule.pattern}' is not a valid regular expression: {exc}") from None
        out = {}
        for i, t in enumerate(anatomy.tensors):
            for pattern, buffer in compiled:
                if pattern.search(t.name):
                    out[i] = buffer
                    break
        return out

    key = "ot:" + "\x00".join(f"{r.pattern}\x01{r.buffer}" for r in rules)
    return cached_for(anatomy, key, build)


def buffer_device(buffer: str, devices: tuple[Device, ...]) -> int:
    """Index in ``devices`` of an ``-ot`` buffer name (``CPU``, ``CUDA0``, ``CUDA_Host`` ...)."""
    for i, d in enumerate(devices):
        if buffer.lower() in (d.name.lower(), d.buffer_name.lower()):
            return i
    upper = buffer.upper()
    if upper == "CPU" or upper.endswith("_HOST") or upper.startswith("CPU_"):
        return len(devices) - 1
    names = ", ".join(d.name for d in devices)
    raise LocalAIError(f"-ot buffer '{buffer}' is not a device of this hardware profile",
                       hint=f"use one of: {names}")


# --- the placement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where every weight lives for one set of settings. Per-device tuples follow ``devices``."""

    devices: tuple[Device, ...]
    layer_device: tuple[int, ...]  # device index of each block (its KV cache follows it)
    output_device: int
    n_gpu_layers: int  # offloaded layers, output layer included (llama.cpp's "offloaded N/M")
    weights: tuple[int, ...]  # bytes per device
    read_per_token: tuple[float, ...]  # weight bytes each device reads per decoded token
    tied_copy_bytes: int  # the duplicated token_embd on the output device (tied embeddings)
    largest_host_matmul: int  # largest CPU-resident matrix a GPU multiplies during prompt processing
    expert_read_per_token: tuple[float, ...] = ()  # the MoE expert share of read_per_token, per device

    @property
    def cpu(self) -> int:
        return len(self.devices) - 1


def place_weights(anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                  devices: tuple[Device, ...] | None = None) -> Placement:
    """Assign every tensor to a device and total the bytes per device (O(layers) per call)."""
    index = model_index(anatomy)
    devices = devices or profile_devices(profile)
    cpu = len(devices) - 1
    gpus = [d for d in devices if d.is_gpu]
    n_gpus = len(gpus)
    shares = _gpu_shares(profile, settings, n_gpus)
    layer_gpu, output_gpu = assign_layers(index.n_layer, settings.n_gpu_layers, shares)
    layer_device = [cpu if g < 0 else g for g in layer_gpu]
    output_device = cpu if output_gpu < 0 else output_gpu

    weights = [0] * len(devices)
    reads = [0.0] * len(devices)
    expert_reads = [0.0] * len(devices)
    host_matmul = 0

    explicit = _explicit_matches(anatomy, tuple(settings.overrides)) if settings.overrides else {}
    claimed_dense = [0] * index.n_layer
    claimed_expert = [0] * index.n_layer
    claimed_dense_read = [0.0] * index.n_layer
    claimed_expert_read = [0.0] * index.n_layer
    for i, buffer in explicit.items():
        role, layer = index.roles[i], index.layers[i]
        if role == ROLE_SKIPPED:
            continue
        dev = buffer_device(buffer, devices)
        weights[dev] += index.nbytes[i]
        reads[dev] += index.read[i]
        if index.is_expert[i]:
            expert_reads[dev] += index.read[i]
        if dev == cpu and index.is_matmul[i] and role != ROLE_INPUT:
            host_matmul = max(host_matmul, index.nbytes[i])
        if role == ROLE_LAYER:
            if index.is_expert[i]:
                claimed_expert[layer] += index.nbytes[i]
                claimed_expert_read[layer] += index.read[i]
            else:
                claimed_dense[layer] += index.nbytes[i]
                claimed_dense_read[layer] += index.read[i]

    # --cpu-moe / --n-cpu-moe: after the explicit rules, expert tensors of the first N layers (or all)
    moe_cpu_layers = index.n_layer if settings.cpu_moe else min(settings.n_cpu_moe, index.n_layer)

    for il in range(index.n_layer):
        dev = layer_device[il]
        dense = index.layer_dense[il] - claimed_dense[il]
        expert = index.layer_expert[il] - claimed_expert[il]
        dense_read = index.layer_dense_read[il] - claimed_dense_read[il]
        expert_read = index.layer_expert_read[il] - claimed_expert_read[il]
        weights[dev] += dense
        reads[dev] += dense_read
        expert_dev = cpu if il < moe_cpu_layers else dev
        weights[expert_dev] += expert
        reads[expert_dev] += expert_read
        expert_reads[expert_dev] += expert_read
        if dev == cpu and dense:
            host_matmul = max(host_matmul, index.layer_dense_max[il])
        if expert_dev == cpu and expert:
            host_matmul = max(host_matmul, index.layer_expert_max[il])

    for i in index.input_tensors:
        if i in explicit:
            continue
        weights[cpu] += index.nbytes[i]
        reads[cpu] += index.read[i]
    for i in index.output_tensors:
        if i in explicit:
            continue
        weights[output_device] += index.nbytes[i]
        reads[output_device] += index.read[i]
        if output_device == cpu and index.is_matmul[i]:
            host_matmul = max(host_matmul, index.nbytes[i])

    tied_copy = 0
    if index.tied and index.token_embd >= 0:
        te = index.token_embd
        embd_dev = buffer_device(explicit[te], devices) if te in explicit else cpu
        copy_dev = buffer_device(explicit[te], devices) if te in explicit else output_device
        size = index.nbytes[te]
        # the output layer multiplies by the whole matrix every token, wherever it lives
        reads[copy_dev] += size
        if copy_dev != embd_dev:
            weights[copy_dev] += size
            tied_copy = size
        elif copy_dev == cpu:
            host_matmul = max(host_matmul, size)

    n_offloaded = resolved_gpu_layers(settings.n_gpu_layers, index.n_layer, n_gpus)
    return Placement(devices, tuple(layer_device), output_device, n_offloaded, tuple(weights), tuple(reads),
                     tied_copy, host_matmul, tuple(expert_reads))


def _gpu_shares(profile: HardwareProfile, settings: LlamaSettings, n_gpus: int) -> list[float]:
    """``-ts`` proportions (missing entries are 0), or each GPU's free memory when all are 0."""
    if n_gpus == 0:
        return []
    split = list(settings.tensor_split[:n_gpus]) + [0.0] * max(0, n_gpus - len(settings.tensor_split))
    if any(s > 0 for s in split):
        return split
    return [float(g.available_bytes) for g in profile.gpus[:n_gpus]]


def split_for_boxes(profile: HardwareProfile, settings: LlamaSettings) -> LlamaSettings:
    """``settings`` with an explicit ``-ts`` (each GPU's available GiB) when the profile has helper boxes.

    Without ``-ts`` llama.cpp splits by the free memory each device *reports*
    (``ggml_backend_dev_memory`` in ``load_tensors``); an ``rpc-server`` reports its backend's
    free memory, for a CPU helper the whole machine's free RAM, not what the user means to lend.
    So a plan with boxes states its split, and the printed command reproduces the estimate
    whatever the servers report. A ``-ts`` the user gave is kept.
    """
    if not profile.boxes or any(s > 0 for s in settings.tensor_split):
        return settings
    shares = tuple(max(0.01, round(g.available_bytes / 1024**3, 2)) for g in profile.gpus)
    return settings.with_changes(tensor_split=shares)
