"""Hub model specs: llama.cpp's ``-hf`` syntax, file paths and URLs; llama.cpp's default quant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.hub.model_ref import HubModelRef, parse_hub_ref


@pytest.mark.parametrize(("text", "expected"), [
    ("unsloth/Qwen3-8B-GGUF:UD-Q4_K_XL", HubModelRef("unsloth/Qwen3-8B-GGUF", label="UD-Q4_K_XL")),
    ("unsloth/Qwen3-8B-GGUF", HubModelRef("unsloth/Qwen3-8B-GGUF")),
    ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:q4_k_m", HubModelRef("bartowski/Llama-3.2-1B-Instruct-GGUF", "q4_k_m")),
    ("Qwen/Qwen2.5-7B-Instruct-GGUF/qwen2.5-7b-instruct-q8_0-00002-of-00003.gguf",
     HubModelRef("Qwen/Qwen2.5-7B-Instruct-GGUF", path="qwen2.5-7b-instruct-q8_0-00002-of-00003.gguf")),
    ("unsloth/Qwen3-30B-A3B-GGUF/BF16/Qwen3-30B-A3B-BF16-00001-of-00002.gguf",
     HubModelRef("unsloth/Qwen3-30B-A3B-GGUF", path="BF16/Qwen3-30B-A3B-BF16-00001-of-00002.gguf")),
    ("https://huggingface.co/ggml-org/models/blob/main/tinyllamas/stories15M-q4_0.gguf",
     HubModelRef("ggml-org/models", path="tinyllamas/stories15M-q4_0.gguf")),
    ("https://huggingface.co/ggml-org/models/resolve/abc123/x.gguf?download=true",
     HubModelRef("ggml-org/models", path="x.gguf", revision="abc123")),
])
def test_specs_people_type(text, expected):
    assert parse_hub_ref(text) == expected


@pytest.mark.parametrize("text", ["/models/x.gguf", "./x.gguf", "~/x.gguf", "x.gguf", "C:\\models\\x.gguf",
                                  "just-a-name", "a/b/../c.gguf", "a/b:Q4 K", "owner/repo/file.bin", ""])
def test_not_hub_specs(text):
    assert parse_hub_ref(text) is None


def test_a_bare_repo_can_be_refused():
    assert parse_hub_ref("owner/repo", allow_bare_repo=False) is None
    assert parse_hub_ref("owner/repo:Q8_0", allow_bare_repo=False) == HubModelRef("owner/repo", "Q8_0")


_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True).filter(lambda s: "--" not in s
                                                                                  and ".." not in s)
_label = st.sampled_from(["Q4_K_M", "UD-Q4_K_XL", "i1-IQ2_XXS", "bf16", "Q8_0"])


@settings(max_examples=60, deadline=None)
@given(owner=_name, repo=_name, label=_label)
def test_label_specs_round_trip(owner, repo, label):
    ref = parse_hub_ref(f"{owner}/{repo}:{label}")
    assert ref == HubModelRef(f"{owner}/{repo}", label=label)
    assert parse_hub_ref(str(ref)) == ref


@pytest.mark.parametrize(("repo_id", "label"), [
    ("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", "Q4_K_M"),  # llama.cpp's default
    ("Qwen/Qwen2.5-7B-Instruct-GGUF", "Q4_K_M"),
    ("TheBloke/Llama-2-7B-Chat-GGUF", "Q4_K_M"),
    ("ggml-org/models", "Q8_0"),  # no Q4_K_M: Q8_0 next, as llama.cpp does
    ("google/gemma-3-1b-it-qat-q4_0-gguf", "Q4_0"),  # neither: the first model file
])
def test_default_quant_follows_llama_cpp(hub_env, repo_id, label):
    from tui.core.hub.model_ref import resolve_hub_model

    assert resolve_hub_model(HubModelRef(repo_id)).group.label == label
