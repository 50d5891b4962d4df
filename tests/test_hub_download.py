"""Downloads into the Hugging Face cache: layout, progress, cancel, resume, dropped connections, checks."""

from __future__ import annotations

import hashlib
import threading

import pytest

from tests.hub_fixtures.catalog import default_repos
from tui.core.errors import LocalAIError

REPO = "ggml-org/models"
STORIES = "tinyllamas/stories15M-q4_0.gguf"
MB = 1_000_000


def _repo():
    return next(r for r in default_repos() if r.repo_id == REPO)


def _download(spec: str, **kwargs):
    from tui.core.hub.model_download import download_model
    from tui.core.hub.model_ref import require_hub_ref

    return download_model(require_hub_ref(spec), **kwargs)


def _bytes_of(fake_file) -> bytes:
    return fake_file.content_bytes(0, fake_file.size)


def test_downloads_land_in_the_standard_hf_cache(hub_env, hf_home):
    from huggingface_hub import hf_hub_download, scan_cache_dir

    result = _download(f"{REPO}/{STORIES}")
    repo, file = _repo(), _repo().file(STORIES)
    path = result.model.path
    assert path == hf_home / "hub" / "models--ggml-org--models" / "snapshots" / repo.sha / STORIES
    assert path.is_symlink() and path.resolve().name == file.sha256  # blobs/<sha256>, as huggingface_hub names it
    assert path.read_bytes() == _bytes_of(file)
    assert (hf_home / "hub" / "models--ggml-org--models" / "refs" / "main").read_text() == repo.sha
    hub_env.reset_counters()
    assert hf_hub_download(REPO, STORIES, local_files_only=True) == str(path)  # huggingface_hub finds it
    assert hf_hub_download(REPO, STORIES) == str(path) and hub_env.served(REPO, STORIES) == 0
    cached = scan_cache_dir(hf_home / "hub")
    (cached_repo,) = cached.repos
    assert cached_repo.repo_id == REPO and cached_repo.nb_files == 1


def test_progress_reports_bytes_rate_and_eta(hub_env):
    reports = []
    result = _download(f"{REPO}:Q8_0", progress=reports.append)  # the three-shard split model
    shards = [f for f in _repo().files if "/split/" in f.path]
    assert [p.name for p in result.model.paths] == [f.path.rsplit("/", 1)[1] for f in shards]
    total = sum(f.size for f in shards)
    assert all(r.total == total and r.file_count == 3 for r in reports)
    done = [r.done for r in reports]
    assert done == sorted(done) and done[-1] == total and reports[-1].phase == "done"
    assert {r.file_index for r in reports} == {0, 1, 2}
    assert any(r.rate_bps > 0 and r.eta_s is not None for r in reports)
    assert result.model.bytes_transferred == total


def test_cancel_keeps_the_partial_file_and_the_next_run_resumes_with_a_range(hub_env, hf_home):
    from tui.core.hub.download import partial_path
    from tui.core.hub.errors import DownloadCancelled
    from tui.core.hub.model_download import download_files_of

    hub_env.throttle_bps = 20 * MB  # slow enough to cancel mid-file
    cancel = threading.Event()

    def cancel_after_4mb(p):
        if p.done > 4 * MB:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled with .* kept") as info:
        _download(f"{REPO}/{STORIES}", progress=cancel_after_4mb, cancel=cancel)
    assert info.value.exit_code == 130
    repo, file = _repo(), _repo().file(STORIES)
    snapshot = hf_home / "hub" / "models--ggml-org--models" / "snapshots" / repo.sha / STORIES
    assert not snapshot.exists() and not (snapshot.parent.parent.parent.parent / "blobs" / file.sha256).exists()
    (hub_file,) = [f for f in download_files_of(tuple(_listing_files(STORIES)))]
    kept = partial_path(REPO, hub_file)
    kept_bytes = kept.stat().st_size
    assert 4 * MB < kept_bytes < file.size

    hub_env.throttle_bps = 0
    hub_env.reset_counters()
    reports = []
    result = _download(f"{REPO}/{STORIES}", progress=reports.append)
    assert result.model.path.read_bytes() == _bytes_of(file) and not kept.exists()
    (resumed,) = [r for r in hub_env.requests_for("/cdn/") if r.range]
    assert resumed.range == f"bytes={kept_bytes}-" and resumed.bytes_sent == file.size - kept_bytes
    assert reports[-1].done == file.size and result.model.bytes_transferred == file.size - kept_bytes
    assert any(r.resumed_bytes == kept_bytes for r in reports)


def _listing_files(*paths):
    from tui.core.hub.repo_listing import fetch_repo_listing

    listing = fetch_repo_listing(REPO)
    return [listing.file(p) for p in paths]


def test_a_dropped_connection_resumes_within_the_call(hub_env):
    file = _repo().file(STORIES)
    hub_env.drop_after(f"{REPO}/{STORIES}", 5 * MB)
    result = _download(f"{REPO}/{STORIES}")
    assert hashlib.sha256(result.model.path.read_bytes()).hexdigest() == file.sha256
    gets = hub_env.requests_for("/cdn/", method="GET")
    assert [r.range for r in gets] == [None, f"bytes={5 * MB}-"]
    assert hub_env.served(REPO, STORIES) == file.size


def test_a_server_ignoring_the_range_restarts_cleanly(hub_env):
    from tui.core.hub.download import partial_path
    from tui.core.hub.model_download import download_files_of

    file = _repo().file(STORIES)
    (hub_file,) = download_files_of(tuple(_listing_files(STORIES)))
    kept = partial_path(REPO, hub_file)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(_bytes_of(file)[: 3 * MB])
    hub_env.ignore_ranges = True
    result = _download(f"{REPO}/{STORIES}")
    assert result.model.path.read_bytes() == _bytes_of(file)


def test_corrupt_partial_data_fails_the_sha256_check_and_is_discarded(hub_env):
    from tui.core.hub.download import partial_path
    from tui.core.hub.errors import DownloadIntegrityError
    from tui.core.hub.model_download import download_files_of

    (hub_file,) = download_files_of(tuple(_listing_files(STORIES)))
    kept = partial_path(REPO, hub_file)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(b"\xff" * MB)  # not what the Hub holds
    with pytest.raises(DownloadIntegrityError, match="sha256"):
        _download(f"{REPO}/{STORIES}")
    assert not kept.exists()
    assert _download(f"{REPO}/{STORIES}").model.path.read_bytes() == _bytes_of(_repo().file(STORIES))


def test_not_enough_disk_space_is_said_before_downloading(hub_env, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - MB, MB))
    with pytest.raises(LocalAIError, match="not enough disk space"):
        _download(f"{REPO}/{STORIES}")
    assert hub_env.served(REPO, STORIES) == 0


def test_a_download_already_running_elsewhere_is_not_raced(hub_env, hf_home, monkeypatch):
    from huggingface_hub.utils import WeakFileLock

    from tui.core.hub import download

    monkeypatch.setattr(download, "LOCK_TIMEOUT_S", 0.2)
    lock = hf_home / "hub" / ".locks" / "models--ggml-org--models" / f"{_repo().file(STORIES).sha256}.lock"
    lock.parent.mkdir(parents=True)
    holder_ready, release = threading.Event(), threading.Event()

    def hold():
        with WeakFileLock(lock):
            holder_ready.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holder_ready.wait(5)
    try:
        with pytest.raises(LocalAIError, match="being downloaded by another process"):
            _download(f"{REPO}/{STORIES}")
    finally:
        release.set()
        thread.join()


def test_cli_download_prints_the_path_on_stdout_and_progress_on_stderr(hub_env, capsys, monkeypatch):
    from tui.cli import main

    assert main(["download", f"{REPO}:Q8_0"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].endswith("tinyllamas/split/stories15M-q8_0-00001-of-00003.gguf")
    assert "100.0%" in err and "[3/3]" in err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # already downloaded: no Hub needed
    assert main(["download", f"{REPO}:Q8_0", "-q"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == lines and err == ""


def test_ctrl_c_stops_the_cli_cleanly_and_the_next_run_resumes(fake_hub, hf_home, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT
    from tests.fake_hub import point_hf_at

    env = {**os.environ, **point_hf_at(fake_hub.url, hf_home, monkeypatch)}
    env.pop("HF_TOKEN", None)
    blobs = hf_home / "hub" / "models--ggml-org--models" / "blobs"
    fake_hub.throttle_bps = 4 * MB
    proc = subprocess.Popen([sys.executable, "-m", "tui", "download", f"{REPO}/{STORIES}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p.stat().st_size > MB for p in blobs.glob("*.incomplete")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and out == "", err
    assert "download of tinyllamas/stories15M-q4_0.gguf cancelled with" in err and "Traceback" not in err
    (partial,) = blobs.glob("*.incomplete")
    kept = partial.stat().st_size
    assert not (blobs / _repo().file(STORIES).sha256).exists()
    fake_hub.throttle_bps = 0
    done = subprocess.run([sys.executable, "-m", "tui", "download", f"{REPO}/{STORIES}", "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().endswith(STORIES)
    assert [r.range for r in fake_hub.requests_for("/cdn/") if r.range] == [f"bytes={kept}-"]


def test_cli_download_with_the_vision_projector(hub_env, capsys):
    from tui.cli import main

    assert main(["download", "ggml-org/tinygemma3-GGUF:Q8_0", "--mmproj", "-q"]) == 0
    model, mmproj = capsys.readouterr().out.splitlines()
    assert model.endswith("/tinygemma3-Q8_0.gguf") and mmproj.endswith("/mmproj-tinygemma3.gguf")
    repo = next(r for r in default_repos() if r.repo_id == "ggml-org/tinygemma3-GGUF")
    assert open(mmproj, "rb").read() == _bytes_of(repo.file("mmproj-tinygemma3.gguf"))


def test_the_first_rate_after_a_resume_counts_from_when_bytes_flow(monkeypatch):
    """Finding 15: checking the kept bytes took seconds; the first rate must not spread the new bytes over them."""
    from tui.core.hub import download as dl

    clock = [100.0]
    monkeypatch.setattr(dl.time, "monotonic", lambda: clock[0])
    reports = []
    tracker = dl._Tracker([dl.DownloadFile("m.gguf", 8 << 20, None, "blob")], reports.append)
    tracker.start_file(0)
    tracker.resume_from(4 << 20)
    clock[0] += 10.0  # hashing the 4 MiB kept from last time
    tracker.begin_transfer()
    clock[0] += 1.0
    tracker.add(1 << 20)
    last = reports[-1]
    assert abs(last.rate_bps - (1 << 20)) < 1
    assert last.eta_s is not None and abs(last.eta_s - 3.0) < 0.01
