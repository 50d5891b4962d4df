"""A hostile Hub: names that try to leave the cache, servers that trickle, loop or never finish.

Every test runs the real command line against a loopback server and checks what matters to
the person: nothing outside the Hugging Face cache changed, the command ended by itself with
one line naming the host, and no traceback or crash exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fake_hub import hf_home  # noqa: F401 - pytest fixture
from tests.hostile_data import PEAK_SNIPPET, control_bytes, peak_kib
from tests.hostile_hub import nasty_server, start_hostile_hub, stories_file  # noqa: F401 - fixtures
from tests.hub_fixtures.catalog import FakeRepo

REPO = "hostile/stories-GGUF"
GOOD = "stories-Q4_K_M.gguf"
CRASH_CODES = {70, 134, 139, -6, -11}


def tree(root: Path, skip: Path) -> dict[str, tuple[int, float, bool]]:
    """Every path under ``root`` but ``skip`` (the cache), with size, mtime and whether it is a link."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path == skip:
                continue
            st = path.lstat()
            found[str(path)] = (st.st_size, st.st_mtime, path.is_symlink())
    return found


def run_cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, **(env or {})})


def one_clear_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode not in CRASH_CODES and done.returncode != 0, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr, done.stderr
    assert control_bytes(done.stderr) == [] and control_bytes(done.stdout) == []
    lines = [line for line in done.stderr.splitlines() if line.startswith("localai-tui: error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


# --- names that try to leave the cache ---------------------------------------------------------------

TRAVERSALS = {
    "file path with ../": {GOOD: {"rfilename": "../../../../../victim/sentinel-Q4_K_M.gguf"}},
    "absolute file path": {GOOD: {"rfilename": "/tmp/victim-Q4_K_M.gguf"}},
    "blob id with ../": {GOOD: {"lfs": None, "blobId": "../../../../victim/blob"}},
    "lfs sha256 with ../": {GOOD: {"lfs": {"sha256": "../../../../../victim/sha"}}},
}


@pytest.mark.parametrize("overrides", TRAVERSALS.values(), ids=TRAVERSALS.keys())
@pytest.mark.parametrize("command", ["download", "files", "fit"])
def test_hub_names_never_write_outside_the_cache(tmp_path, hf_home, monkeypatch, overrides, command):  # noqa: F811
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "sentinel-Q4_K_M.gguf").write_text("the user's file")
    hub = start_hostile_hub([FakeRepo(REPO, [stories_file(GOOD)])], overrides, hf_home, monkeypatch)
    try:
        before = tree(tmp_path, hf_home)
        args = {"download": ["download", f"{REPO}:Q4_K_M"], "files": ["files", REPO],
                "fit": ["fit", f"{REPO}:Q4_K_M", "--gpu", "cpu"]}[command]
        done = run_cli(*args)
        assert done.returncode not in CRASH_CODES, done.stderr
        assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr, done.stderr
        assert (victim / "sentinel-Q4_K_M.gguf").read_text() == "the user's file"
        assert not (victim / "sentinel-Q4_K_M.gguf").is_symlink()
        after = tree(tmp_path, hf_home)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert not {k for k in changed if "xdg" not in k}, changed  # the app's own dirs may change
        assert not Path("/tmp/victim-Q4_K_M.gguf").exists()
        if command == "files":
            assert done.returncode == 0 and "unsafe names" in done.stderr
    finally:
        hub.hub.stop()


@pytest.mark.parametrize("fields", [{"id": "../../victim"}, {"sha": "../../../victim"}, {"sha": "a" * 39 + "/"}],
                         ids=["repo id", "commit", "commit with slash"])
def test_hostile_repo_id_or_commit_is_refused_before_anything_is_written(tmp_path, hf_home, monkeypatch,  # noqa: F811
                                                                         fields):
    hub = start_hostile_hub([FakeRepo(REPO, [stories_file(GOOD)])], {}, hf_home, monkeypatch, fields=fields)
    try:
        before = tree(tmp_path, hf_home)
        line = one_clear_line(run_cli("download", f"{REPO}:Q4_K_M"))
        assert "unsafe" in line
        after = tree(tmp_path, hf_home)
        assert {k for k in set(before) | set(after) if before.get(k) != after.get(k) and "xdg" not in k} == set()
        assert not (hf_home / "hub").exists() or not any((hf_home / "hub").rglob("*victim*"))
    finally:
        hub.hub.stop()


def test_lfs_without_pointer_size_is_read(hf_home, monkeypatch):  # noqa: F811
    hub = start_hostile_hub([FakeRepo(REPO, [stories_file(GOOD)])], {GOOD: {"lfs": {"pointerSize": None}}},
                            hf_home, monkeypatch)
    try:
        done = run_cli("files", REPO, "--no-fit")
        assert done.returncode == 0, done.stderr
        assert "Q4_K_M" in done.stdout
    finally:
        hub.hub.stop()


# --- servers that never finish ------------------------------------------------------------------------

FAST_LIMITS = {"LOCALAI_TUI_HUB_HEADERS_S": "3", "LOCALAI_TUI_HUB_STALL_S": "3", "LOCALAI_TUI_HUB_ANSWER_S": "5",
               "HF_HUB_DOWNLOAD_TIMEOUT": "5", "HF_HUB_ETAG_TIMEOUT": "5"}


def hub_at(url: str, hf_home: Path) -> dict[str, str]:  # noqa: F811
    return {**FAST_LIMITS, "HF_ENDPOINT": url, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub")}


@pytest.mark.parametrize("behaviour", ["trickle", "slow-headers", "silent", "redirect-loop"])
@pytest.mark.parametrize("command", [["files", REPO, "--no-fit"], ["download", f"{REPO}:Q4_K_M"],
                                     ["fit", f"{REPO}:Q4_K_M", "--gpu", "cpu"]], ids=["files", "download", "fit"])
def test_a_misbehaving_server_ends_the_command_with_one_line(nasty_server, hf_home, behaviour, command):  # noqa: F811
    server = nasty_server(behaviour, interval_s=0.5)
    start = time.monotonic()
    done = run_cli(*command, env=hub_at(server.url, hf_home), timeout=90)
    took = time.monotonic() - start
    line = one_clear_line(done)
    assert "127.0.0.1" in line, line  # names the host
    if behaviour == "redirect-loop":
        assert "redirect" in line and server.requests <= 20
    print(f"{behaviour} {command[0]}: {took:.1f} s: {line}")


def test_a_trickling_file_download_stops_and_keeps_what_arrived(hf_home, monkeypatch):  # noqa: F811
    from tests import fake_hub as fake_hub_module

    hub = start_hostile_hub([FakeRepo(REPO, [stories_file(GOOD)])], {}, hf_home, monkeypatch)
    monkeypatch.setattr(fake_hub_module, "_CHUNK", 4)
    hub.hub.throttle_bps = 8  # 4 bytes every half second: far under the stall floor (64 KiB per window)
    try:
        done = run_cli("download", f"{REPO}:Q4_K_M", env=FAST_LIMITS, timeout=90)
        line = one_clear_line(done)
        assert "stalled" in line and "127.0.0.1" in line
        partial = list((hf_home / "hub").rglob("*.incomplete"))
        assert partial and partial[0].stat().st_size > 0  # kept for a later resume
    finally:
        hub.hub.stop()


def test_a_listing_of_a_million_files_is_refused_in_bounded_memory(nasty_server, hf_home):  # noqa: F811
    server = nasty_server("huge-listing", n_files=1_000_000)
    done = subprocess.run([sys.executable, "-c", PEAK_SNIPPET, "files", "hostile/huge-GGUF", "--no-fit"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **hub_at(server.url, hf_home), "PYTHONPATH": str(ROOT)})
    line = one_clear_line(done)
    assert "MiB" in line and "127.0.0.1" in line
    assert peak_kib(done.stderr) < 400 * 1024, done.stderr


def test_ctrl_c_ends_a_download_stuck_on_a_trickling_server(nasty_server, hf_home):  # noqa: F811
    import signal

    server = nasty_server("trickle", interval_s=0.5)
    env = {**os.environ, "HF_ENDPOINT": server.url, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub")}
    proc = subprocess.Popen([sys.executable, "-m", "tui", "download", f"{REPO}:Q4_K_M"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while server.requests == 0 and proc.poll() is None:  # the request is in flight
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)  # bounded: no hang, whatever the server does
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "localai-tui: interrupted"


def test_a_full_disk_mid_download_is_one_line_and_frees_the_partial(hf_home, monkeypatch, capsys):  # noqa: F811
    import errno

    from tui.cli import main
    from tui.core.hub import download

    hub = start_hostile_hub([FakeRepo(REPO, [stories_file(GOOD)])], {}, hf_home, monkeypatch)
    original = download._PartialFile.append
    calls = {"n": 0}

    def append(self, chunk):
        calls["n"] += 1
        if calls["n"] > 1:  # the first chunk lands, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, chunk)

    monkeypatch.setattr(download._PartialFile, "append", append)
    try:
        code = main(["download", f"{REPO}:Q4_K_M", "-q"])
    finally:
        hub.hub.stop()
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("localai-tui")]
    assert code == 1 and len(ours) == 1 and "disk filled up" in ours[0], ours  # (the server thread may log too)
    assert not list((hf_home / "hub").rglob("*.incomplete"))


def test_one_unreadable_header_marks_only_its_own_label(hf_home, monkeypatch):  # noqa: F811
    from tests.hub_fixtures.catalog import FakeFile

    good = stories_file(GOOD)
    broken = FakeFile("stories-Q8_0.gguf", good.prefix[:20000], 20000)  # its tensors run past its listed size
    hub = start_hostile_hub([FakeRepo(REPO, [good, broken])], {}, hf_home, monkeypatch)
    try:
        done = run_cli("files", REPO, "--gpu", "cpu", "--headers")
    finally:
        hub.hub.stop()
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.split()[:1] in (["Q4_K_M"], ["Q8_0"])}
    assert "refused" in rows["Q8_0"] and "refused" not in rows["Q4_K_M"], done.stdout
    assert "fits" in rows["Q4_K_M"]
