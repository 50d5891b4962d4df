"""GGUF headers read off the Hub with range requests: only the header's bytes, cached on disk."""

from __future__ import annotations

import json

import pytest

from tests.fake_hub import GRANTED_TOKEN
from tests.hub_fixtures.catalog import VOCAB_LLAMA_BPE, default_repos
from tui.core.gguf.reader import DEFAULT_MAX_CHUNK

BARTOWSKI = "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"
Q4 = "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"


def _file(repo_id: str, path: str):
    repo = next(r for r in default_repos() if r.repo_id == repo_id)
    return repo, repo.file(path)


def _anatomy(spec: str):
    from tui.core.hub.model_ref import parse_hub_ref
    from tui.core.hub.remote_header import read_hub_model_anatomy

    return read_hub_model_anatomy(parse_hub_ref(spec))


def test_a_remote_fit_costs_the_header_plus_at_most_one_chunk(hub_env):
    if not VOCAB_LLAMA_BPE.exists():
        pytest.skip("../shared is absent: no realistic (7.8 MB) tokenizer header to measure")
    repo, file = _file(BARTOWSKI, Q4)
    result = _anatomy(f"{BARTOWSKI}:Q4_K_M")
    served = hub_env.served(BARTOWSKI, Q4)
    header_size = len(file.prefix)
    assert header_size > 7_000_000
    assert header_size <= served <= header_size + DEFAULT_MAX_CHUNK
    assert result.bytes_fetched == served
    assert result.anatomy.file_size == file.size and result.anatomy.n_params == 8_030_261_248
    ranges = [r.range for r in hub_env.requests if r.range]
    assert len(ranges) <= 8 and all(r.startswith("bytes=") for r in ranges)


def test_remote_anatomy_equals_the_local_one(hub_env, tmp_path):
    from tui.core.gguf.anatomy import anatomy_to_dict, load_anatomy

    _, file = _file("TheBloke/Llama-2-7B-Chat-GGUF", "llama-2-7b-chat.Q4_K_M.gguf")
    local = tmp_path / "llama-2-7b-chat.Q4_K_M.gguf"
    with open(local, "wb") as fh:  # the same bytes as a sparse local file
        fh.write(file.prefix)
        fh.truncate(file.size)
    remote = _anatomy("TheBloke/Llama-2-7B-Chat-GGUF:Q4_K_M").anatomy
    assert anatomy_to_dict(remote, include_tensors=True) == anatomy_to_dict(load_anatomy(local), include_tensors=True)


def test_headers_are_cached_on_disk_and_work_offline(hub_env, monkeypatch):
    from tui.core.hub.remote_header import header_cache_path

    repo, file = _file(BARTOWSKI, Q4)
    first = _anatomy(f"{BARTOWSKI}:Q4_K_M")
    cached = header_cache_path(BARTOWSKI, repo.sha, Q4)
    kept = cached.read_bytes()
    assert len(file.prefix) <= len(kept) and kept == file.content_bytes(0, len(kept))
    hub_env.reset_counters()
    again = _anatomy(f"{BARTOWSKI}:Q4_K_M")
    assert again.bytes_fetched == 0 and hub_env.served(BARTOWSKI, Q4) == 0
    assert [r.path for r in hub_env.requests] == [f"/api/models/{BARTOWSKI}/revision/main?blobs=true"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = _anatomy(f"{BARTOWSKI}:Q4_K_M")
    assert offline.anatomy == first.anatomy and len(hub_env.requests) == 1


def test_split_models_read_every_shard_header_and_little_else(hub_env):
    from tui.core.hub.remote_header import LATER_SHARD_FIRST_CHUNK

    repo_id = "Qwen/Qwen2.5-7B-Instruct-GGUF"
    result = _anatomy(f"{repo_id}:Q8_0")
    repo = next(r for r in default_repos() if r.repo_id == repo_id)
    shards = [f for f in repo.files if "q8_0" in f.path]
    assert result.anatomy.n_shards == 3 and result.anatomy.file_size == sum(f.size for f in shards)
    first, *later = shards
    assert len(first.prefix) <= hub_env.served(repo_id, first.path) <= len(first.prefix) + DEFAULT_MAX_CHUNK
    for shard in later:
        assert hub_env.served(repo_id, shard.path) <= max(len(shard.prefix), LATER_SHARD_FIRST_CHUNK)
    assert {t.shard for t in result.anatomy.tensors} == {0, 1, 2}


def test_a_shard_path_names_its_whole_model(hub_env):
    result = _anatomy("unsloth/Qwen3-30B-A3B-GGUF/BF16/Qwen3-30B-A3B-BF16-00002-of-00002.gguf")
    assert result.resolved.group.label == "BF16" and result.anatomy.n_shards == 2


def test_cdn_url_is_reused_and_never_gets_the_token(hub_env, monkeypatch):
    from tui.core.hub.remote_header import RemoteFileSource

    monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)
    repo, file = _file(BARTOWSKI, Q4)
    source = RemoteFileSource(BARTOWSKI, Q4, repo.sha, file.size, use_cache=False)
    assert source.read(0, 4) == b"GGUF"
    assert source.read(1_000_000, 64) == file.prefix[1_000_000:1_000_064]
    resolves = hub_env.requests_for(f"/{BARTOWSKI}/resolve/")
    cdn = hub_env.requests_for("/cdn/")
    assert len(resolves) == 1 and resolves[0].authorized  # the Hub gets the token ...
    assert len(cdn) == 2 and not any(r.authorized for r in cdn)  # ... the CDN never does
    hub_env.inject(403, "/cdn/", message="Request has expired")  # a signed URL expired
    assert source.read(2_000_000, 8) == file.prefix[2_000_000:2_000_008]
    assert len(hub_env.requests_for(f"/{BARTOWSKI}/resolve/")) == 2  # resolved again


def test_a_server_ignoring_ranges_is_read_correctly(hub_env):
    from tui.core.hub.remote_header import RemoteFileSource

    hub_env.ignore_ranges = True
    repo, file = _file("ggml-org/models", "tinyllamas/stories15M-q4_0.gguf")
    source = RemoteFileSource("ggml-org/models", file.path, repo.sha, file.size, use_cache=False)
    assert source.read(100, 50) == file.prefix[100:150]
    assert source.bytes_fetched < 1024 * 1024 < file.size  # stopped reading the 200 once it had the bytes


def test_gated_headers_need_a_granted_token(hub_env, monkeypatch):
    from tui.core.hub.errors import HubGatedError

    with pytest.raises(HubGatedError, match="is gated"):
        _anatomy("google/gemma-3-1b-it-qat-q4_0-gguf")
    monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)
    result = _anatomy("google/gemma-3-1b-it-qat-q4_0-gguf")
    assert result.anatomy.architecture == "gemma3" and result.anatomy.tied_embeddings


def test_cli_inspect_reads_only_the_header(hub_env, capsys):
    from tui.cli import main

    assert main(["inspect", "Qwen/Qwen2.5-7B-Instruct-GGUF:q4_k_m", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["architecture"] == "qwen2" and data["n_shards"] == 2 and data["n_layer"] == 28
    repo = next(r for r in default_repos() if r.repo_id == "Qwen/Qwen2.5-7B-Instruct-GGUF")
    total = sum(v for k, v in hub_env.bytes_served.items() if k.startswith(repo.repo_id))
    assert total < 16 * 1024 * 1024 < data["file_size"]
    assert main(["inspect", "https://huggingface.co/ggml-org/models/blob/main/tinyllamas/stories15M-q4_0.gguf"]) == 0
    assert "stories15M" in capsys.readouterr().out


def test_cli_inspect_local_paths_still_win(hub_env, capsys, stories_model, tmp_path, monkeypatch):
    from tui.cli import main

    (tmp_path / "ggml-org" / "models").mkdir(parents=True)
    local = tmp_path / "ggml-org" / "models" / "stories260K.gguf"
    local.write_bytes(stories_model.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", "ggml-org/models/stories260K.gguf"]) == 0  # exists here: the local file
    assert "llama" in capsys.readouterr().out and hub_env.requests == []
    assert main(["inspect", "nowhere/at-all/model.gguf"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("localai-tui: error: no such file: nowhere/at-all/model.gguf (and not on the Hub")


def test_cli_fit_on_a_hub_spec_reads_only_the_header(hub_env, capsys):
    import importlib.util

    from tui.cli import main

    if importlib.util.find_spec("tui.commands.fit") is None:
        pytest.skip("the fit command is not there yet")
    _, file = _file(BARTOWSKI, Q4)
    assert main(["fit", f"{BARTOWSKI}:Q4_K_M", "--gpu", "cpu", "--ram", "32", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fits"] is True
    assert hub_env.served(BARTOWSKI, Q4) <= len(file.prefix) + DEFAULT_MAX_CHUNK < file.size
