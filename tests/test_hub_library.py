"""The local library: GGUF models in the Hugging Face cache and in the user's folders, offline."""

from __future__ import annotations

import pytest

from tests.hub_fixtures.catalog import default_repos
from tui.core.errors import LocalAIError


def _write_split(folder, repo_id: str, marker: str) -> list:
    """Copy a repo's shards (header + zeros) into ``folder``, as a user's own copy would be."""
    repo = next(r for r in default_repos() if r.repo_id == repo_id)
    written = []
    for f in (f for f in repo.files if marker in f.path):
        path = folder / f.path.rsplit("/", 1)[-1]
        path.write_bytes(f.content_bytes(0, f.size))
        written.append(path)
    return written


def test_folders_are_read_from_library_toml(tmp_path):
    from tui.core.hub.library import library_config_path, library_folders

    assert library_folders() == []
    library_config_path().parent.mkdir(parents=True, exist_ok=True)
    library_config_path().write_text(f'[library]\nfolders = ["{tmp_path / "a"}", "{tmp_path / "b"}"]\n')
    assert library_folders() == [tmp_path / "a", tmp_path / "b"]
    library_config_path().write_text("[library]\nfolders = 3\n")
    with pytest.raises(LocalAIError, match="must be a list of paths"):
        library_folders()


def test_user_folders_group_shards_and_side_files(hub_env, tmp_path, stories_model):
    from tui.core.hub.library import model_anatomy, scan_library

    models = tmp_path / "models"
    (models / "split").mkdir(parents=True)
    shards = _write_split(models / "split", "ggml-org/models", "/split/")
    (models / "stories260K.gguf").write_bytes(stories_model.read_bytes())
    (models / "mmproj-F16.gguf").write_bytes(b"GGUF")  # a side file: listed apart
    (models / ".hidden").mkdir()
    (models / ".hidden" / "skipped.gguf").write_bytes(b"GGUF")
    library = scan_library([models], include_hf_cache=False)
    names = {m.path.name: m for m in library.models}
    assert set(names) == {"stories15M-q8_0-00001-of-00003.gguf", "stories260K.gguf"}
    split = names["stories15M-q8_0-00001-of-00003.gguf"]
    assert split.files == tuple(shards) and split.complete and split.label == "Q8_0"
    assert split.size_bytes == sum(p.stat().st_size for p in shards) and split.source == "folder"
    assert [s.path.name for s in library.side_files] == ["mmproj-F16.gguf"]
    anatomy = model_anatomy(split)
    assert anatomy.n_shards == 3 and anatomy.architecture == "llama"
    assert model_anatomy(names["stories260K.gguf"]).n_layer == 5
    shards[1].unlink()
    broken = scan_library([models], include_hf_cache=False)
    split = next(m for m in broken.models if m.path.name.startswith("stories15M"))
    assert not split.complete
    with pytest.raises(LocalAIError, match="missing shards"):
        model_anatomy(split)


def test_downloaded_models_are_found_offline(hub_env, monkeypatch):
    from tui.core.hub.library import find_cached_model, scan_library
    from tui.core.hub.model_download import download_model
    from tui.core.hub.model_ref import require_hub_ref

    download_model(require_hub_ref("ggml-org/models:Q8_0"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_env.reset_counters()
    library = scan_library([])
    (model,) = library.models
    assert model.source == "hf-cache" and model.repo_id == "ggml-org/models" and model.label == "Q8_0"
    assert model.display_name == "ggml-org/models:Q8_0" and len(model.files) == 3
    assert find_cached_model("ggml-org/models", "q8_0") == model
    assert find_cached_model("ggml-org/models", path="tinyllamas/split/stories15M-q8_0-00002-of-00003.gguf") == model
    assert find_cached_model("ggml-org/models", "Q4_0") is None
    assert hub_env.requests == []


def test_a_kept_partial_download_is_counted(hub_env):
    import threading

    from tui.core.hub.errors import DownloadCancelled
    from tui.core.hub.library import scan_library
    from tui.core.hub.model_download import download_model
    from tui.core.hub.model_ref import require_hub_ref

    cancel = threading.Event()
    hub_env.throttle_bps = 20_000_000

    def stop(p):
        if p.done > 2_000_000:
            cancel.set()

    download_model(require_hub_ref("ggml-org/models:Q8_0"))
    with pytest.raises(DownloadCancelled):
        download_model(require_hub_ref("ggml-org/models/tinyllamas/stories15M-q4_0.gguf"), progress=stop,
                       cancel=cancel)
    library = scan_library([])
    assert library.incomplete_bytes > 2_000_000 and len(library.models) == 1


def test_inspect_an_already_downloaded_model_with_the_hub_unreachable(hub_env, hf_home, capsys, monkeypatch):
    import socket

    from tests.fake_hub import point_hf_at
    from tui.cli import main

    assert main(["download", "ggml-org/models:Q8_0", "-q"]) == 0
    capsys.readouterr()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_hf_at(f"http://127.0.0.1:{port}", hf_home, monkeypatch)  # the listing cache is keyed by endpoint
    assert main(["inspect", "ggml-org/models:Q8_0"]) == 0
    assert "stories15M" in capsys.readouterr().out
