"""``localai-tui fit``: the table, the JSON, -ngl auto, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main


def run(capsys, *argv):
    code = main(["fit", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_verdict_speed_and_command(capsys, stories_model):
    code, out, err = run(capsys, stories_model, "--gpu", "cpu")
    assert code == 0, err
    assert "context 2048 cells" in out  # min(4096, the model's 2048)
    assert "CPU" in out and "verdict: fits" in out and "tokens/s" in out
    assert f"llama-server -m {stories_model} -c 2048 -np 1" in out  # CPU only: no offload flags


def test_json_output(capsys, stories_model):
    code, out, _ = run(capsys, stories_model, "--gpu", "cpu", "-c", "1000", "-ctk", "q4_0", "-fa", "off", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["n_ctx"] == 1024 and data["fits"] is True
    assert data["devices"][0]["name"] == "CPU" and data["devices"][0]["kv_bytes"] > 0
    assert data["llama_server_command"][:3] == ["llama-server", "-m", str(stories_model)]
    assert "-ctk" in data["llama_cpp_args"]


def test_ngl_auto_and_what_if_vram(capsys, stories_model):
    code, out, err = run(capsys, stories_model, "--gpu", "RTX 3090", "--vram", "2", "-ngl", "auto", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["n_gpu_layers"] == 6  # 5 blocks + output: a tiny model fits in 2 GiB with the margin
    assert data["devices"][0]["capacity_bytes"] == 2 * 1024**3
    assert any("-ngl auto" in n for n in data["notes"])


@pytest.mark.parametrize("argv, message", [
    (["/no/such/model.gguf"], "no such file"),
    (["{model}", "--gpu", "cpu", "-ctv", "q8_0", "-fa", "off"], "requires flash attention"),
    (["{model}", "--gpu", "cpu", "-ot", "ffn=CUDA0"], "not a device"),
])
def test_errors_are_one_line(capsys, stories_model, argv, message):
    argv = [a.replace("{model}", str(stories_model)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_fit_depth_and_prompt_tokens_flags(capsys):
    from tui.cli import main

    model = str(Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "stories260K.gguf")
    if not Path(model).exists():
        pytest.skip("../shared/models/stories260K.gguf is absent")
    assert main(["fit", model, "--gpu", "RTX 3090@Vulkan", "--depth", "100", "--prompt-tokens", "1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["speed_context_tokens"] == 100 and out["prompt_tokens"] == 1000
    assert out["est_prompt_tokens_per_s"] > 0 and out["est_ttft_s"] >= 0
    assert out["est_tokens_per_s_range"][0] < out["est_tokens_per_s"] < out["est_tokens_per_s_range"][1]
    with pytest.raises(SystemExit):
        main(["fit", model, "--gpu", "cpu", "--depth", "-3"])
    assert "out of range" in capsys.readouterr().err
