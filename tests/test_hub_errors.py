"""Every Hub failure, through the CLI: one line saying what to do, exit code 1, never a traceback or the token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.fake_hub import GRANTED_TOKEN, NOT_GRANTED_TOKEN, point_hf_at

GATED = "google/gemma-3-1b-it-qat-q4_0-gguf"


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from tui.cli import main

    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("localai-tui: error: ") and "Traceback" not in err
    return lines[0]


def test_gated_repo_without_a_token(hub_env, capsys):
    rc, out, err = _cli(capsys, "inspect", f"{GATED}:Q4_0")
    line = _one_error_line(err)
    assert rc == 1 and out == ""
    assert f"{GATED} is gated" in line and "accept the license at" in line and "hf auth login" in line


def test_gated_repo_with_a_token_not_yet_granted(hub_env, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", NOT_GRANTED_TOKEN)
    rc, out, err = _cli(capsys, "download", f"{GATED}:Q4_0")
    line = _one_error_line(err)
    assert rc == 1 and "has not been granted access" in line and "request access" in line
    assert NOT_GRANTED_TOKEN not in out + err


def test_a_granted_token_is_used_and_never_shown(hub_env, capsys, monkeypatch):
    from tui.core.paths import default_log_file

    monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)
    rc, out, err = _cli(capsys, "inspect", f"{GATED}:Q4_0")
    assert rc == 0 and "gemma3" in out
    assert all(r.authorized for r in hub_env.requests_for(GATED) if "/cdn/" not in r.path)
    assert GRANTED_TOKEN not in out + err
    log = default_log_file()
    assert not log.exists() or GRANTED_TOKEN not in log.read_text()


def test_the_token_saved_by_hf_auth_login_is_used(hub_env, hf_home, capsys):
    hf_home.mkdir(parents=True, exist_ok=True)
    (hf_home / "token").write_text(GRANTED_TOKEN)  # where `hf auth login` saves it
    rc, out, err = _cli(capsys, "files", "someuser/private-stories-GGUF", "--no-fit")
    assert rc == 0 and "Q4_0" in out and GRANTED_TOKEN not in out + err


def test_an_invalid_token(hub_env, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_thisTokenDoesNotExist")
    rc, _, err = _cli(capsys, "files", "Qwen/Qwen2.5-7B-Instruct-GGUF")
    assert rc == 1 and "the Hub rejected your token" in _one_error_line(err)
    assert "hf_thisTokenDoesNotExist" not in err


@pytest.mark.parametrize(("argv", "expected"), [
    (("files", "nobody/nothing"), "no model repo nobody/nothing on the Hub"),
    (("files", "someuser/private-stories-GGUF"), "no model repo someuser/private-stories-GGUF"),
    (("inspect", "ggml-org/models/tinyllamas/missing.gguf"), "no file tinyllamas/missing.gguf in ggml-org/models"),
    (("download", "Qwen/Qwen2.5-7B-Instruct-GGUF:Q5_K_M"), "has no Q5_K_M file"),
    (("download", "unsloth/Qwen2.5-VL-7B-Instruct-GGUF/mmproj-F16.gguf"), "is a vision projector (mmproj), not a model"),
    (("download", "not a repo"), "is not a Hub model"),
])
def test_missing_things(hub_env, capsys, argv, expected):
    rc, out, err = _cli(capsys, *argv)
    assert rc == 1 and out == "" and expected in _one_error_line(err)


def test_rate_limit(hub_env, capsys):
    hub_env.inject(429, "/api/models/", retry_after=7, message="You have been rate-limited")
    rc, _, err = _cli(capsys, "files", "Qwen/Qwen2.5-7B-Instruct-GGUF", "--no-fit")
    line = _one_error_line(err)
    assert rc == 1 and "rate-limiting requests (HTTP 429)" in line and "wait 7 s" in line


def test_server_error(hub_env, capsys):
    hub_env.inject(503, "/api/models")
    rc, _, err = _cli(capsys, "search", "llama")
    assert rc == 1 and "the Hub answered HTTP 503 (a server error)" in _one_error_line(err)


def test_timeout(hub_env, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "0.3")
    hub_env.delay_s = 2.0
    rc, _, err = _cli(capsys, "files", "Qwen/Qwen2.5-7B-Instruct-GGUF")
    line = _one_error_line(err)
    assert rc == 1 and "did not answer within 0.3 s" in line and "HF_HUB_DOWNLOAD_TIMEOUT" in line


def test_no_network(hub_env, hf_home, capsys, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_hf_at(f"http://127.0.0.1:{port}", hf_home, monkeypatch)
    rc, _, err = _cli(capsys, "search", "llama")
    line = _one_error_line(err)
    assert rc == 1 and f"cannot reach the Hub at http://127.0.0.1:{port}: connection refused" in line


def test_offline_mode_with_nothing_cached(hub_env, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for argv in (("search", "llama"), ("files", "Qwen/Qwen2.5-7B-Instruct-GGUF"), ("download", "ggml-org/models:Q8_0")):
        rc, _, err = _cli(capsys, *argv)
        assert rc == 1 and "offline mode is on (HF_HUB_OFFLINE=1)" in _one_error_line(err)
    assert hub_env.requests == []


def test_cached_answers_still_show_when_the_hub_fails(hub_env, capsys, monkeypatch):
    rc, first, _ = _cli(capsys, "files", "TheBloke/Llama-2-7B-Chat-GGUF", "--no-fit")
    assert rc == 0
    hub_env.inject(500, "/api/models/")
    rc, out, err = _cli(capsys, "files", "TheBloke/Llama-2-7B-Chat-GGUF", "--no-fit")
    assert rc == 0 and out == first
    assert err.startswith("localai-tui: warning: the Hub answered HTTP 500") and err.count("\n") == 1
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rc, out, err = _cli(capsys, "files", "TheBloke/Llama-2-7B-Chat-GGUF", "--no-fit")
    assert rc == 0 and out == first and "offline mode is on" in err


def _run_cli(env: dict, *argv: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    for key in ("HF_TOKEN", "HF_HUB_OFFLINE"):
        full_env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, timeout=60)


def test_a_fresh_process_reads_hf_endpoint_from_the_environment(fake_hub, hf_home, monkeypatch):
    """The real configuration path: HF_ENDPOINT etc. set before huggingface_hub is imported."""
    env = point_hf_at(fake_hub.url, hf_home, monkeypatch)
    done = _run_cli(env, "search", "qwen3", "--json")
    assert done.returncode == 0, done.stderr
    assert '"unsloth/Qwen3-30B-A3B-GGUF"' in done.stdout
    done = _run_cli(env, "download", "ggml-org/models/tinyllamas/stories260K.gguf", "-q")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip().endswith("snapshots/" + fake_hub.repos["ggml-org/models"].sha
                                        + "/tinyllamas/stories260K.gguf")
    done = _run_cli(env, "download", f"{GATED}:Q4_0")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"localai-tui: error: {GATED} is gated") and "Traceback" not in done.stderr


def test_a_gated_repo_lists_its_files_but_cannot_be_sized(hub_env, capsys):
    rc, out, err = _cli(capsys, "files", GATED, "--gpu", "cpu")
    assert rc == 0 and "Q4_0" in out and "gated: accept its license on the Hub" in out
    assert err.startswith(f"localai-tui: warning: no fit badges: {GATED} is gated") and err.count("\n") == 1
