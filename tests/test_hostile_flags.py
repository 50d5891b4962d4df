"""Bad flags: every numeric flag is checked against what llama.cpp accepts, with one line and exit code 2.

Before, ``-t 100000`` crashed ggml, ``-b 1`` aborted in ``GGML_ASSERT(n_tokens_all <= cparams.n_batch)``,
``-c 1099511627776`` wrapped to 2048 and ``--temp nan`` was taken. Now the flags are refused (or,
where llama.cpp gives them a meaning, used with it: ``-c 0`` is the trained context, ``-t 0`` the
default, ``--seed -1`` a random seed).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.hostile_data import control_bytes
from tui.core.fit.settings import LlamaSettings, max_threads

CRASH_CODES = {70, 134, 139, -6, -11}
PROMPT = "Once upon a time there was a little girl who liked to play in the garden with her dog"


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ})


BAD_FLAGS = [
    ["-t", "100000"], ["-t", "20000"], ["-t", str(max_threads() + 1)], ["-b", "0"], ["-ub", "0"], ["-b", "-5"],
    ["-c", "1099511627776"], ["-c", "-1"], ["--temp", "nan"], ["--temp", "inf"], ["--temp", "-1"],
    ["--top-p", "1.5"], ["--top-p", "nan"], ["--min-p", "nan"], ["--repeat-penalty", "0"],
    ["-n", "99999999999"], ["--top-k", "-3"], ["-ts", "nan"], ["-ts", "0,0"], ["-ngl", "x"],
]


@pytest.mark.parametrize("flags", BAD_FLAGS, ids=[" ".join(f) for f in BAD_FLAGS])
def test_bad_flags_get_one_line_and_exit_2(stories_model, flags):
    done = run_cli("chat", str(stories_model), "--prompt", "hi", "-n", "4", *flags)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and control_bytes(done.stderr) == []
    assert done.stderr.strip().splitlines()[-1].startswith("localai-tui chat: error: argument")


@pytest.mark.parametrize("flags", [["-t", "100000"], ["-c", "1099511627776"], ["-b", "0"], ["--ram", "nan"]],
                         ids=["threads", "context", "batch", "ram"])
def test_fit_refuses_the_same_flags(stories_model, flags):
    done = run_cli("fit", str(stories_model), "--gpu", "cpu", *flags)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("flags", [["-b", "1"], ["-b", "1", "-ub", "1"], ["-b", "2", "-ub", "8"], ["-c", "0"],
                                   ["-t", "0"], ["--seed", "-1"]],
                         ids=["b1", "b1-ub1", "ub-above-b", "c0", "t0", "seed-1"])
def test_flags_llama_cpp_gives_a_meaning_run(stories_model, flags):
    done = run_cli("chat", str(stories_model), "--prompt", PROMPT, "-n", "4", *flags)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.returncode not in CRASH_CODES and "GGML_ASSERT" not in done.stderr
    if flags == ["-c", "0"]:
        assert "/2048 ·" in done.stderr  # stories260K was trained on 2,048 tokens


def test_bench_with_a_batch_of_one(stories_model):
    done = run_cli("bench", str(stories_model), "-p", "16", "-n", "2", "-r", "1", "-b", "1")
    assert done.returncode == 0, done.stderr
    assert "GGML_ASSERT" not in done.stderr


def test_a_context_past_the_trained_one_is_warned_about(stories_model):
    done = run_cli("chat", str(stories_model), "--prompt", "hi", "-n", "2", "-c", "8192")
    assert done.returncode == 0, done.stderr
    assert "past the 2,048 tokens" in done.stderr


def test_settings_validate_with_llama_cpp_ranges():
    LlamaSettings(n_ctx=0).validate()  # 0 = the model's trained context
    LlamaSettings(n_batch=1, n_ubatch=512).validate()  # llama.cpp lowers ubatch to the batch
    for bad in (dict(n_ctx=2**31), dict(n_batch=0), dict(n_threads=10**5), dict(tensor_split=(float("nan"),)),
                dict(n_ubatch=-1), dict(n_seq_max=0)):
        with pytest.raises(ValueError):
            LlamaSettings(**bad).validate()


@pytest.mark.parametrize("command", ["chat", "inspect"])
def test_a_device_or_a_mistyped_path_gets_the_right_message(tmp_path, stories_model, command):
    device = run_cli(command, "/dev/zero", *(["--prompt", "hi"] if command == "chat" else []))
    assert device.returncode == 1 and "/dev/zero is not a regular file" in device.stderr
    typo = tmp_path / stories_model.name.lower()  # stories260k.gguf for stories260K.gguf
    (tmp_path / stories_model.name).write_bytes(stories_model.read_bytes())
    done = run_cli(command, str(typo), *(["--prompt", "hi"] if command == "chat" else []))
    assert done.returncode == 1 and "no such file" in done.stderr and "did you mean" in done.stderr
    assert "not downloaded yet" not in done.stderr
    nested = run_cli(command, "modles/foo.gguf", *(["--prompt", "hi"] if command == "chat" else []))
    assert "no such file: modles/foo.gguf" in nested.stderr and "download" not in nested.stderr
