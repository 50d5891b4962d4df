"""The fake Hub is faithful: huggingface_hub's own client parses its answers, and its GGUFs are real."""

from __future__ import annotations

import pytest

from tests.fake_hub import GRANTED_TOKEN
from tests.hub_fixtures.catalog import VOCAB_LLAMA_BPE, default_repos


def test_list_models_pages_with_link_header_and_expand(hub_env):
    from huggingface_hub import HfApi

    hub_env.page_size = 2  # force paging: huggingface_hub follows the Link header by itself
    models = list(HfApi().list_models(filter="gguf", sort="downloads", expand=["downloads", "gguf", "gated"]))
    assert [m.downloads for m in models] == sorted((m.downloads for m in models), reverse=True)
    assert len(models) == sum(1 for r in default_repos() if "gguf" in r.all_tags and not r.private)
    assert "meta-llama/Llama-3.1-8B-Instruct" not in {m.id for m in models}  # not a GGUF repo
    assert len(hub_env.requests_for("/api/models?")) >= 2 and "cursor=" in hub_env.requests[-1].path
    qwen = next(m for m in models if m.id == "Qwen/Qwen2.5-7B-Instruct-GGUF")
    assert qwen.gguf["architecture"] == "qwen2" and qwen.gguf["total"] > 7e9
    assert qwen.likes is None  # expand returns only what was asked


def test_model_info_with_blobs_gives_sizes_and_lfs_sha256(hub_env):
    from huggingface_hub import HfApi

    info = HfApi().model_info("unsloth/Qwen3-30B-A3B-GGUF", files_metadata=True)
    repo = next(r for r in default_repos() if r.repo_id == "unsloth/Qwen3-30B-A3B-GGUF")
    assert info.sha == repo.sha and info.card_data.license == "apache-2.0"
    sizes = {s.rfilename: (s.size, s.lfs.sha256 if s.lfs else None) for s in info.siblings}
    for f in repo.files:
        assert sizes[f.path] == (f.size, f.sha256 if f.lfs else None)
    assert HfApi().model_info("unsloth/Qwen3-30B-A3B-GGUF", revision=repo.sha).sha == repo.sha


def test_tree_and_paths_info(hub_env):
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFolder

    api = HfApi()
    tree = list(api.list_repo_tree("unsloth/Qwen3-30B-A3B-GGUF", recursive=True))
    assert any(isinstance(e, RepoFolder) and e.path == "BF16" for e in tree)
    assert "BF16/Qwen3-30B-A3B-BF16-00002-of-00002.gguf" in {e.path for e in tree}
    top = {e.path for e in api.list_repo_tree("unsloth/Qwen3-30B-A3B-GGUF")}
    assert "BF16" in top and not any(p.startswith("BF16/") for p in top)
    info = api.get_paths_info("unsloth/Qwen3-30B-A3B-GGUF", ["README.md", "BF16/Qwen3-30B-A3B-BF16-00001-of-00002.gguf"])
    assert {e.path for e in info} == {"README.md", "BF16/Qwen3-30B-A3B-BF16-00001-of-00002.gguf"}
    assert next(e for e in info if e.path == "README.md").lfs is None


def test_hf_hub_download_through_the_cdn_redirect(hub_env):
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    meta = get_hf_file_metadata(hf_hub_url("ggml-org/models", "tinyllamas/stories15M-q4_0.gguf"))
    repo = next(r for r in default_repos() if r.repo_id == "ggml-org/models")
    file = repo.file("tinyllamas/stories15M-q4_0.gguf")
    assert (meta.commit_hash, meta.etag, meta.size) == (repo.sha, file.sha256, file.size)
    assert meta.location.startswith(hub_env.cdn_url)  # the LFS redirect goes to another origin
    path = hf_hub_download("ggml-org/models", "tinyllamas/stories15M-q4_0.gguf")
    data = open(path, "rb").read()
    assert len(data) == file.size and data[:4] == b"GGUF"
    import hashlib

    assert hashlib.sha256(data).hexdigest() == file.sha256  # the oid is the real digest for small files
    assert hub_env.served("ggml-org/models", "tinyllamas/stories15M-q4_0.gguf") == file.size


@pytest.mark.parametrize(("call", "error"), [
    (lambda api: api.model_info("nobody/nothing"), "RepositoryNotFoundError"),
    (lambda api: api.model_info("ggml-org/models", revision="v9"), "RevisionNotFoundError"),
    (lambda api: api.model_info("someuser/private-stories-GGUF"), "RepositoryNotFoundError"),
])
def test_errors_carry_the_hubs_error_codes(hub_env, call, error):
    from huggingface_hub import HfApi

    with pytest.raises(Exception) as info:
        call(HfApi())
    assert type(info.value).__name__ == error


def test_gated_files_need_a_granted_token(hub_env, monkeypatch):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    with pytest.raises(GatedRepoError) as info:
        hf_hub_download("google/gemma-3-1b-it-qat-q4_0-gguf", "README.md")
    assert info.value.response.status_code == 401
    monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)
    assert open(hf_hub_download("google/gemma-3-1b-it-qat-q4_0-gguf", "README.md")).read().startswith("---")


def test_range_requests_answer_206_and_416(hub_env):
    from huggingface_hub.utils import get_session

    url = f"{hub_env.cdn_url}/cdn/ggml-org/models/tinyllamas/stories15M-q4_0.gguf?X-Amz-Signature=x"
    r = get_session().get(url, headers={"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == b"GGUF"
    assert r.headers["Content-Range"].endswith(f"/{18983264}")
    r = get_session().get(url, headers={"Range": "bytes=99999999999-"})
    assert r.status_code == 416


def test_fixture_headers_are_real_gguf_headers(hub_env):
    """Every model file of the catalog parses with the project's reader; sizes match the tensor infos."""
    from tui.core.gguf.reader import read_header

    class Served:  # the file as served: header bytes, then zeros
        def __init__(self, f):
            self.name, self.size, self.read = f.path, f.size, lambda offset, n: f.content_bytes(offset, offset + n)

    checked = 0
    for repo in default_repos():
        for f in repo.files:
            if f.path.endswith(".gguf") and f.prefix:
                header = read_header(Served(f))
                if header.get("split.count", 1) == 1:
                    assert header.data_offset + header.tensor_data_size <= f.size
                checked += 1
    assert checked > 30


def test_realistic_headers_have_real_tokenizers():
    if not VOCAB_LLAMA_BPE.exists():
        pytest.skip("../shared is absent: fixtures fall back to synthetic tokenizers")
    repo = next(r for r in default_repos() if r.repo_id == "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF")
    file = repo.file("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    assert 7_000_000 < len(file.prefix) < 9_000_000  # a real Llama 3 header: the 128k-token vocabulary
    assert 4.90e9 < file.size < 4.95e9  # the real file is 4.92 GB: same tensors, same types
