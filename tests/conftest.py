"""Shared fixtures: the ../shared data (skipped with a reason when absent), isolated app dirs, and the
fake Hub (``fake_hub``, ``hf_home``, ``hub_env`` from ``tests.fake_hub``; ``advisor_hub`` from
``tests.advisor_fixtures``), so test modules ask for them by name without importing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.advisor_fixtures import advisor_hub  # noqa: F401 - fixture, registered by being here
from tests.fake_hub import fake_hub, hf_home, hub_env  # noqa: F401 - fixtures, registered by being here

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
STORIES_MODEL = SHARED / "models" / "stories260K.gguf"
VOCAB_QWEN2 = SHARED / "vocab" / "ggml-vocab-qwen2.gguf"
VOCAB_LLAMA_BPE = SHARED / "vocab" / "ggml-vocab-llama-bpe.gguf"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared holds the test data (see shared/README.md)")
    return path


@pytest.fixture
def stories_model() -> Path:
    return _require(STORIES_MODEL)


@pytest.fixture
def vocab_qwen2() -> Path:
    return _require(VOCAB_QWEN2)


@pytest.fixture
def vocab_llama_bpe() -> Path:
    return _require(VOCAB_LLAMA_BPE)


@pytest.fixture(autouse=True)
def isolated_app_dirs(tmp_path_factory, monkeypatch):
    """Point config, cache and log dirs at a temp folder so tests never touch the user's."""
    base = tmp_path_factory.mktemp("xdg")
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(base / var.lower()))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    yield base
