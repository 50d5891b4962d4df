"""A repo's files as quant rows: publishers' layouts, shards summed, side files apart; the `files` CLI."""

from __future__ import annotations

import json

import pytest

from tests.hub_fixtures.catalog import default_repos
from tui.core.errors import LocalAIError


def _quants(repo_id: str):
    from tui.core.hub.repo_files import group_repo_files
    from tui.core.hub.repo_listing import fetch_repo_listing

    return group_repo_files(fetch_repo_listing(repo_id))


def _size(repo_id: str, *paths: str) -> int:
    repo = next(r for r in default_repos() if r.repo_id == repo_id)
    return sum(repo.file(p).size for p in paths)


def test_unsloth_root_files_and_a_folder_per_quant(hub_env):
    q = _quants("unsloth/Qwen3-30B-A3B-GGUF")
    assert [g.label for g in q.groups] == ["UD-IQ1_S", "Q4_K_M", "UD-Q4_K_XL", "Q8_0", "BF16"]  # smallest first
    bf16 = q.find("bf16")
    shards = ["BF16/Qwen3-30B-A3B-BF16-00001-of-00002.gguf", "BF16/Qwen3-30B-A3B-BF16-00002-of-00002.gguf"]
    assert [f.path for f in bf16.files] == shards and bf16.folder == "BF16"
    assert bf16.size_bytes == _size("unsloth/Qwen3-30B-A3B-GGUF", *shards) and bf16.complete
    assert bf16.bits_per_weight == pytest.approx(16.0, abs=0.05)  # bytes * 8 / the Hub's parameter count
    assert q.find("UD-Q4_K_XL").family == "k-quant"
    assert [(s.kind, s.path) for s in q.side_files] == [("imatrix", "imatrix_unsloth.dat")]


def test_qwen_lower_case_shards_and_label_spellings(hub_env):
    q = _quants("Qwen/Qwen2.5-7B-Instruct-GGUF")
    assert [(g.label, g.shards) for g in q.groups] == [("Q2_K", 1), ("Q4_K_M", 2), ("Q8_0", 3), ("FP16", 4)]
    assert q.find("q4_k_m").first_path == "qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf"
    assert q.find("F16").label == "FP16"  # llama.cpp's name finds Qwen's spelling
    assert q.find("Q4_K").label == "Q4_K_M"  # an alias
    with pytest.raises(LocalAIError, match="no Q5_K_M file") as info:
        q.find("Q5_K_M")
    assert "Q2_K, Q4_K_M, Q8_0, FP16" in str(info.value)


def test_bartowski_l_variants_and_mradermacher_i1(hub_env):
    bart = _quants("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF")
    q4l = bart.find("Q4_K_L")
    assert q4l.quant.base == "Q4_K_M" and q4l.size_bytes > bart.find("Q4_K_M").size_bytes
    assert bart.find("q4_k_m").label == "Q4_K_M"  # the exact label wins over the variant
    mrad = _quants("mradermacher/Meta-Llama-3.1-8B-Instruct-i1-GGUF")
    assert [g.label for g in mrad.groups] == ["i1-IQ2_XXS", "i1-Q4_K_M", "i1-Q6_K"]
    assert mrad.find("i1-q4_k_m").first_path == "Meta-Llama-3.1-8B-Instruct.i1-Q4_K_M.gguf"
    assert mrad.find("Q4_K_M").label == "i1-Q4_K_M"  # the only Q4_K_M there
    assert [s.path for s in mrad.side_files] == ["imatrix.dat"]


def test_mmproj_side_files_are_linked_to_the_models(hub_env):
    from tui.core.hub.model_ref import best_mmproj

    q = _quants("unsloth/Qwen2.5-VL-7B-Instruct-GGUF")
    assert [g.label for g in q.groups] == ["Q4_K_M", "UD-Q4_K_XL"]  # projectors are not quant rows
    assert {s.path for s in q.side_files} == {"mmproj-F16.gguf", "mmproj-BF16.gguf", "mmproj-F32.gguf"}
    for side in q.side_files:
        assert side.kind == "mmproj" and set(side.serves) == {"Q4_K_M", "UD-Q4_K_XL"}
    assert best_mmproj(q, q.find("Q4_K_M")).path == "mmproj-F16.gguf"


def test_listing_is_pinned_to_a_commit_and_cached_for_offline(hub_env, monkeypatch):
    from tui.core.hub.errors import HubOfflineError
    from tui.core.hub.repo_listing import fetch_repo_listing

    online = fetch_repo_listing("TheBloke/Llama-2-7B-Chat-GGUF")
    repo = next(r for r in default_repos() if r.repo_id == "TheBloke/Llama-2-7B-Chat-GGUF")
    assert online.commit == repo.sha and online.stale_because is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = fetch_repo_listing("TheBloke/Llama-2-7B-Chat-GGUF")
    assert isinstance(offline.stale_because, HubOfflineError)
    assert offline.files == online.files and offline.commit == online.commit
    with pytest.raises(HubOfflineError):
        fetch_repo_listing("Qwen/Qwen2.5-7B-Instruct-GGUF")


@pytest.mark.parametrize("bad", ["just-a-name", "a/b/c", "owner/", "../x", "a--b/c"])
def test_bad_repo_ids(hub_env, bad):
    from tui.core.hub.repo_listing import fetch_repo_listing

    with pytest.raises(LocalAIError, match="not a Hub repo id"):
        fetch_repo_listing(bad)


def test_cli_files_json(hub_env, capsys):
    from tui.cli import main

    assert main(["files", "Qwen/Qwen2.5-7B-Instruct-GGUF", "--json", "--no-fit"]) == 0
    rows = json.loads(capsys.readouterr().out)
    q8 = next(r for r in rows if r["label"] == "Q8_0")
    assert q8["shards"] == 3 and len(q8["files"]) == 3
    assert q8["size_bytes"] == _size("Qwen/Qwen2.5-7B-Instruct-GGUF", *q8["files"])
    assert q8["bits_per_weight"] == pytest.approx(8.51, abs=0.01) and q8["family"] == "legacy"
    assert q8["explanation"] and q8["spec"] == "Qwen/Qwen2.5-7B-Instruct-GGUF:Q8_0"


def test_cli_files_table_lists_side_files_apart(hub_env, capsys):
    from tui.cli import main

    assert main(["files", "unsloth/Qwen2.5-VL-7B-Instruct-GGUF", "--no-fit"]) == 0
    out = capsys.readouterr().out
    table, side = out.split("side files:")
    assert "mmproj" not in table and "UD-Q4_K_XL" in table
    assert "mmproj-F16.gguf" in side and "vision projector for all models here" in side
