"""``chat`` and ``bench`` take a Hub spec: fetched once into the HF cache (progress on stderr), then loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, STORIES_MODEL
from tests.fake_hub import point_hf_at

pytest.importorskip("llama_cpp")
SPEC = "ggml-org/models/tinyllamas/stories260K.gguf"


def _cli(env: dict, *argv: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    full_env.pop("HF_TOKEN", None)
    full_env.pop("HF_HUB_OFFLINE", None)
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, timeout=120)


@pytest.mark.skipif(not STORIES_MODEL.exists(), reason="../shared/models/stories260K.gguf is absent")
def test_chat_downloads_a_hub_model_then_reuses_the_cache(fake_hub, hf_home, monkeypatch):  # noqa: F811
    env = point_hf_at(fake_hub.url, hf_home, monkeypatch)
    first = _cli(env, "chat", SPEC, "--prompt", "Once upon a time", "-n", "6", "-t", "1", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["n_gen_tokens"] == 6
    served = fake_hub.served("ggml-org/models", "tinyllamas/stories260K.gguf")
    assert served == STORIES_MODEL.stat().st_size
    assert (hf_home / "hub" / "models--ggml-org--models").is_dir()

    # Offline now: the cached copy is used, nothing more is fetched.
    again = _cli({**env, "HF_HUB_OFFLINE": "1"}, "chat", SPEC, "--prompt", "Once", "-n", "3", "-t", "1", "--json")
    assert again.returncode == 0, again.stderr
    assert fake_hub.served("ggml-org/models", "tinyllamas/stories260K.gguf") == served


def test_a_hub_spec_that_cannot_be_fetched_is_one_line(fake_hub, hf_home, monkeypatch):  # noqa: F811
    env = point_hf_at(fake_hub.url, hf_home, monkeypatch)
    done = _cli(env, "bench", "ggml-org/models/tinyllamas/missing.gguf", "-r", "1")
    assert done.returncode == 1
    assert done.stderr.startswith("localai-tui: error: ") and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr
