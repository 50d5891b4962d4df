"""The equivalent llama-server command: llama.cpp's flag names, defaults left out, shell-quoted."""

from __future__ import annotations

import shlex

from tui.core.fit.llama_args import llama_server_args, llama_server_command, model_args, settings_args
from tui.core.fit.settings import LlamaSettings, TensorOverride


def test_defaults_give_the_short_command():
    assert llama_server_args("model.gguf", LlamaSettings()) == [
        "llama-server", "-m", "model.gguf", "-c", "4096", "-ngl", "all", "-np", "1"]


def test_every_setting_maps_to_its_flag():
    s = LlamaSettings(n_ctx=8192, n_gpu_layers=20, cache_type_k="q8_0", cache_type_v="q4_0", flash_attn="on",
                      n_batch=1024, n_ubatch=256, swa_full=True, cpu_moe=False, n_cpu_moe=3,
                      overrides=(TensorOverride(r"blk\.1\.ffn_.*", "CPU"),), tensor_split=(3.0, 1.0),
                      n_threads=8, use_mmap=False)
    args = settings_args(s)
    assert args == ["-c", "8192", "-ngl", "20", "-fa", "on", "-ctk", "q8_0", "-ctv", "q4_0", "-b", "1024",
                    "-ub", "256", "--swa-full", "-ot", r"blk\.1\.ffn_.*=CPU", "--n-cpu-moe", "3", "-ts", "3,1",
                    "-t", "8", "--load-mode", "none", "-np", "1"]
    # -ot before --n-cpu-moe: llama.cpp applies override rules in command-line order, as the app does
    assert args.index("-ot") < args.index("--n-cpu-moe")
    assert "--cpu-moe" in settings_args(LlamaSettings(cpu_moe=True))
    assert settings_args(LlamaSettings(tensor_split=(0.6, 0.4)))[-3] == "0.6,0.4"


def test_model_source_path_or_hub():
    assert model_args("bartowski/Qwen3-8B-GGUF:Q4_K_M") == ["-hf", "bartowski/Qwen3-8B-GGUF:Q4_K_M"]
    assert model_args("owner/repo") == ["-hf", "owner/repo"]
    assert model_args("models/m.gguf") == ["-m", "models/m.gguf"]
    assert model_args("/abs/path/m.gguf") == ["-m", "/abs/path/m.gguf"]
    assert model_args("owner/repo", source="path") == ["-m", "owner/repo"]


def test_shell_string_round_trips():
    s = LlamaSettings(overrides=(TensorOverride(r"blk\.(0|1)\.ffn_.*_exps", "CPU"),))
    command = llama_server_command("/models/my model.gguf", s)
    assert shlex.split(command) == llama_server_args("/models/my model.gguf", s)
    assert "'/models/my model.gguf'" in command
