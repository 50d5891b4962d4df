"""Where weights land: llama.cpp's -ngl counting, output layer, tied embeddings, -ot, MoE offload, splits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.fit_models import Q8_0, make_anatomy, tensor_bytes
from tui.core.errors import LocalAIError
from tui.core.fit.placement import assign_layers, place_weights, profile_devices, split_points, tensor_role
from tui.core.fit.settings import LlamaSettings, TensorOverride
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

ONE_GPU = HardwareProfile(name="1 gpu", gpus=(GpuSpec("G", 24 * GiB, 900),), ram_bytes=64 * GiB)
TWO_GPUS = HardwareProfile(name="2 gpus", gpus=(GpuSpec("A", 24 * GiB, 900), GpuSpec("B", 24 * GiB, 900, index=1)),
                           ram_bytes=64 * GiB)
CPU_ONLY = HardwareProfile(name="cpu", ram_bytes=64 * GiB)


def layer_bytes(anatomy, il: int) -> int:
    return tensor_bytes(list(anatomy.tensors), lambda n: n.startswith(f"blk.{il}."))


def test_devices_are_named_like_llama_cpp():
    names = [d.name for d in profile_devices(TWO_GPUS)]
    assert names == ["CUDA0", "CUDA1", "CPU"]
    metal = HardwareProfile(name="mac", gpus=(GpuSpec("M", 8 * GiB, 100, backend="Metal"),), unified_memory=True)
    assert [d.name for d in profile_devices(metal)] == ["MTL0", "CPU"]


def test_ngl_counts_the_output_layer_first():
    # n_layer 4 -> 5 "layers"; -ngl 1 offloads only the output layer, -ngl 2 also block 3
    layers, output = assign_layers(4, 1, [1.0])
    assert layers == [-1, -1, -1, -1] and output == 0
    layers, output = assign_layers(4, 2, [1.0])
    assert layers == [-1, -1, -1, 0] and output == 0
    layers, output = assign_layers(4, 0, [1.0])
    assert layers == [-1] * 4 and output == -1
    assert assign_layers(4, None, [1.0]) == ([0, 0, 0, 0], 0)
    assert assign_layers(4, 999, [1.0]) == ([0, 0, 0, 0], 0)
    assert assign_layers(4, None, []) == ([-1] * 4, -1)  # no GPU


def test_weights_per_device_follow_the_layers():
    a = make_anatomy(n_layer=4)
    embd = tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")
    output = tensor_bytes(list(a.tensors), lambda n: n.startswith("output"))
    p = place_weights(a, ONE_GPU, LlamaSettings(n_gpu_layers=2))
    assert p.n_gpu_layers == 2
    assert p.weights[0] == output + layer_bytes(a, 3)
    assert p.weights[1] == embd + sum(layer_bytes(a, il) for il in range(3))  # token_embd stays on the CPU
    full = place_weights(a, ONE_GPU, LlamaSettings())
    assert full.weights[1] == embd and full.n_gpu_layers == 5
    assert sum(full.weights) == a.tensor_bytes


def test_tied_embeddings_duplicate_token_embd_on_the_output_device():
    a = make_anatomy(tied=True)
    embd = tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")
    on_gpu = place_weights(a, ONE_GPU, LlamaSettings(n_gpu_layers=1))
    assert on_gpu.tied_copy_bytes == embd
    assert sum(on_gpu.weights) == a.tensor_bytes + embd
    on_cpu = place_weights(a, ONE_GPU, LlamaSettings(n_gpu_layers=0))
    assert on_cpu.tied_copy_bytes == 0 and sum(on_cpu.weights) == a.tensor_bytes  # same buffer: reused
    # an override putting token_embd on the CPU also keeps the output's copy there
    moved = place_weights(a, ONE_GPU, LlamaSettings(overrides=(TensorOverride("token_embd", "CPU"),)))
    assert moved.tied_copy_bytes == 0


def test_override_first_match_wins_and_targets_a_device():
    a = make_anatomy(n_layer=4)
    ffn3 = tensor_bytes(list(a.tensors), lambda n: n.startswith("blk.3.ffn_"))
    rules = (TensorOverride(r"blk\.3\.ffn_.*", "CPU"), TensorOverride(r"ffn_.*", "CUDA0"))
    p = place_weights(a, ONE_GPU, LlamaSettings(n_gpu_layers=0, overrides=rules))
    # the second rule pulls every other FFN onto the GPU even with -ngl 0; blk.3's stay on the CPU
    other_ffn = tensor_bytes(list(a.tensors), lambda n: re.search(r"ffn_", n) and not n.startswith("blk.3."))
    assert p.weights[0] == other_ffn
    assert p.weights[1] == a.tensor_bytes - other_ffn
    assert ffn3 > 0


def test_unknown_override_buffer_and_bad_regex_are_user_errors():
    a = make_anatomy()
    with pytest.raises(LocalAIError, match="CUDA1"):
        place_weights(a, ONE_GPU, LlamaSettings(overrides=(TensorOverride("ffn", "CUDA1"),)))
    with pytest.raises(LocalAIError, match="regular expression"):
        place_weights(a, ONE_GPU, LlamaSettings(overrides=(TensorOverride("ffn_(", "CPU"),)))
    # CUDA_Host is host memory
    p = place_weights(a, ONE_GPU, LlamaSettings(overrides=(TensorOverride("ffn", "CUDA_Host"),)))
    assert p.weights[1] > tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")


def moe_anatomy():
    return make_anatomy(n_layer=6, n_expert=8, n_expert_used=2, n_ff_exp=128, n_ff=0, wtype=Q8_0)


def expert_bytes(anatomy, layers) -> int:
    return sum(tensor_bytes(list(anatomy.tensors), lambda n, il=il: n.startswith(f"blk.{il}.") and "_exps" in n)
               for il in layers)


def test_n_cpu_moe_moves_the_experts_of_the_first_layers():
    a = moe_anatomy()
    base = place_weights(a, ONE_GPU, LlamaSettings())
    p = place_weights(a, ONE_GPU, LlamaSettings(n_cpu_moe=2))
    moved = expert_bytes(a, [0, 1])
    assert p.weights[0] == base.weights[0] - moved
    assert p.weights[1] == base.weights[1] + moved
    everything = place_weights(a, ONE_GPU, LlamaSettings(cpu_moe=True))
    assert everything.weights[1] == base.weights[1] + expert_bytes(a, range(6))


@hsettings(max_examples=25, deadline=None)
@given(n_cpu_moe=st.integers(0, 7), cpu_moe=st.booleans(), ngl=st.sampled_from([None, 0, 3, 7]),
       explicit=st.sampled_from([(), (TensorOverride(r"blk\.4\.ffn_up_exps", "CUDA0"),),
                                 (TensorOverride(r"ffn_down", "CPU"),)]))
def test_cpu_moe_shortcut_equals_the_regex_rules(n_cpu_moe, cpu_moe, ngl, explicit):
    """The structural --cpu-moe/--n-cpu-moe path must agree with applying effective_overrides() as -ot rules."""
    a = moe_anatomy()
    s = LlamaSettings(n_gpu_layers=ngl, n_cpu_moe=n_cpu_moe, cpu_moe=cpu_moe, overrides=explicit)
    fast = place_weights(a, ONE_GPU, s)
    as_rules = LlamaSettings(n_gpu_layers=ngl, overrides=s.effective_overrides())
    slow = place_weights(a, ONE_GPU, as_rules)
    assert fast.weights == slow.weights
    assert fast.read_per_token == pytest.approx(slow.read_per_token)


def test_nextn_layers_cost_nothing_but_count_for_ngl():
    a = make_anatomy(n_layer=5, n_nextn=1)
    p = place_weights(a, ONE_GPU, LlamaSettings(n_gpu_layers=2))
    # layers are 0..4 (4 = MTP): -ngl 2 = output + block 4, which is skipped
    assert p.layer_device == (1, 1, 1, 1, 0)
    assert p.weights[0] == tensor_bytes(list(a.tensors), lambda n: n.startswith("output"))
    assert sum(p.weights) == a.tensor_bytes - layer_bytes(a, 4)
    assert tensor_role("blk.4.attn_q.weight", 4) == ("skipped", 4)


def test_split_is_proportional_to_free_memory_or_tensor_split():
    a = make_anatomy(n_layer=7)
    p = place_weights(a, TWO_GPUS, LlamaSettings())
    # 8 layers (7 + output) over two equal GPUs: 4 and 4, the output layer on the last one
    assert p.layer_device == (0, 0, 0, 0, 1, 1, 1) and p.output_device == 1
    uneven = TWO_GPUS.with_changes(gpus=(TWO_GPUS.gpus[0], GpuSpec("B", 24 * GiB, 900, free_bytes=8 * GiB, index=1)))
    p = place_weights(a, uneven, LlamaSettings())
    assert p.layer_device.count(0) == 6  # 24:8 -> 3/4 of the 8 layers on the first GPU
    p = place_weights(a, TWO_GPUS, LlamaSettings(tensor_split=(1, 3)))
    assert p.layer_device == (0, 0, 1, 1, 1, 1, 1)


def test_split_points_are_float32_like_llama_cpp():
    assert split_points([1.0, 1.0]) == [0.5, 1.0]
    assert split_points([0.0, 0.0]) == [0.5, 1.0]
    points = split_points([1.0, 1.0, 1.0])
    assert points[0] == pytest.approx(1 / 3) and points[-1] == 1.0


def test_cpu_only_profile_ignores_ngl():
    a = make_anatomy()
    p = place_weights(a, CPU_ONLY, LlamaSettings(n_gpu_layers=10))
    assert p.n_gpu_layers == 0 and p.weights == (a.tensor_bytes,)


def test_moe_reads_only_the_active_experts():
    a = moe_anatomy()
    p = place_weights(a, CPU_ONLY, LlamaSettings())
    experts = expert_bytes(a, range(6))
    embd = tensor_bytes(list(a.tensors), lambda n: n == "token_embd.weight")
    dense = a.tensor_bytes - experts - embd
    assert p.read_per_token[0] == pytest.approx(dense + experts * 2 / 8 + embd / a.n_vocab)
