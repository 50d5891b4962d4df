"""``localai-tui chat``: one-shot replies on stdout, measurements after, llama.cpp's log in a file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp")


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=timeout)


def test_json_output_is_one_object_with_the_measurements(stories_model, tmp_path):
    log = tmp_path / "llama-debug.log"
    done = _cli("chat", str(stories_model), "--prompt", "Once upon a time", "-n", "48", "--temp", "0",
                "-t", "1", "--json", "--log-file", str(log))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    data = json.loads(done.stdout)
    assert data["text"].startswith(", there was a little")
    assert data["n_prompt_tokens"] == 5  # BOS + "Once upon a time"
    assert data["n_gen_tokens"] == 48 and data["finish_reason"] == "length"
    assert data["prompt_tokens_per_s"] > 0 and data["gen_tokens_per_s"] > 0 and 0 < data["ttft_s"] < 10
    assert data["n_ctx"] == 2048  # no -c: the model's 2048 rather than 4096
    perf = data["llama_perf"]
    assert perf["n_p_eval"] == data["n_prompt_tokens"] and perf["n_eval"] == data["n_gen_tokens"] - 1
    text = log.read_text()
    assert "llama_model_loader: loaded meta data" in text
    assert "load_tensors: layer   0 assigned to device CPU" in text  # a debug line: --log-file keeps them


def test_text_output_streams_the_reply_then_one_line_of_figures(stories_model):
    args = ("chat", str(stories_model), "--prompt", "Once upon a time", "-n", "30", "--seed", "11", "-t", "1")
    streamed = _cli(*args)
    as_json = _cli(*args, "--json")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == json.loads(as_json.stdout)["text"] + "\n"  # same seed, same reply
    lines = streamed.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("prompt 5 tokens at ")
    for part in ("tok/s", "first token after", "generated 30 tokens at", "context 34/2048",
                 "ended: reached the token limit (-n)"):
        assert part in lines[0]
    assert lines[1].startswith("saved as conversation 1 (continue: localai-tui chat --resume 1")


def test_ngl_auto_uses_the_fit_engine_on_the_detected_box(stories_model):
    done = _cli("chat", str(stories_model), "--prompt", "Once upon a time", "-n", "4", "-t", "1",
                "-ngl", "auto", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_gen_tokens"] == 4


def test_system_prompt_and_sampling_flags_reach_the_engine(stories_model):
    done = _cli("chat", str(stories_model), "--prompt", "Once upon a time", "--system", "A story about a cat.",
                "-n", "8", "--temp", "0.7", "--top-p", "0.9", "--top-k", "20", "--min-p", "0.1",
                "--repeat-penalty", "1.2", "--seed", "4", "-c", "512", "-t", "1", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["n_prompt_tokens"] > 5  # the system prompt went in front
    assert data["n_ctx"] == 512


def test_without_prompt_it_points_at_the_chat_screen(stories_model):
    done = _cli("chat", str(stories_model))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "needs `--prompt TEXT`" in done.stderr and done.stderr.count("\n") == 1


def test_errors_are_one_line(tmp_path, stories_model):
    missing = _cli("chat", str(tmp_path / "missing.gguf"), "--prompt", "hi")
    assert missing.returncode == 1
    assert missing.stderr.startswith("localai-tui: error: model file not found:") and missing.stderr.count("\n") == 1

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(stories_model.read_bytes()[:4000])
    corrupt = _cli("chat", str(broken), "--prompt", "hi")
    assert corrupt.returncode == 1
    assert corrupt.stderr.startswith("localai-tui: error: load broken.gguf: the file is corrupt or truncated")
    assert corrupt.stderr.count("\n") == 1

    bad_flag = _cli("chat", str(stories_model), "--prompt", "hi", "--top-p", "3")
    assert bad_flag.returncode == 1 and "top-p" in bad_flag.stderr

    unwritable = _cli("chat", str(stories_model), "--prompt", "hi", "--log-file", str(broken / "sub" / "x.log"))
    assert unwritable.returncode == 1
    assert unwritable.stderr.startswith("localai-tui: error: cannot write llama.cpp's log to")


def test_moe_offload_flag_is_applied(tmp_path):
    pytest.importorskip("gguf")
    from tests.engine_models import tiny_moe_model

    model = tiny_moe_model(tmp_path / "moe.gguf")
    log = tmp_path / "moe.log"
    done = _cli("chat", str(model), "--prompt", "hello", "-n", "4", "--n-cpu-moe", "1", "-c", "256", "-t", "1",
                "--json", "--log-file", str(log))
    assert done.returncode == 0, done.stderr
    overridden = [line for line in log.read_text().splitlines() if "buffer type overridden to CPU" in line]
    assert len(overridden) == 3 and all(line.startswith("tensor blk.0.ffn_") for line in overridden)


def test_ctrl_c_while_generating_exits_cleanly(stories_model):
    import signal

    command = [sys.executable, "-m", "tui", "chat", str(stories_model), "--prompt", "Once upon a time",
               "-n", "-1", "-c", "8192", "-t", "1"]  # thousands of tokens: still running at the signal
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(1)  # generating now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode() == "localai-tui: interrupted\n"  # no traceback, nothing from llama.cpp or ctypes
