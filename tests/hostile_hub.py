"""A hostile Hub for the ``test_hostile_*`` suites: the fake Hub's routes with chosen fields, plus a
misbehaving loopback server (trickle, redirect loop, slow headers, oversized listings).

``HostileHub`` is the fake Hub (``tests.fake_hub``) with per-file overrides of what the listing
says (``rfilename``, ``blobId``, ``lfs.sha256``, a missing ``pointerSize`` ...) and repos whose
metadata carries escapes and markup. ``NastyServer`` answers every request with one behaviour
chosen by the test; it only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests import fake_hub as fake_hub_module
from tests.fake_hub import FakeHub, point_hf_at
from tests.hub_fixtures.catalog import STORIES_260K, FakeFile, FakeRepo


def stories_file(path: str) -> FakeFile:
    """A real small model (stories260K) under any name."""
    if not STORIES_260K.exists():
        pytest.skip(f"{STORIES_260K} is absent: ../shared holds the test data")
    data = STORIES_260K.read_bytes()
    return FakeFile(path, data, len(data))


@dataclass
class HostileHub:
    """A fake Hub whose listings say what the test wants (``overrides``: file path -> sibling fields)."""

    hub: FakeHub
    overrides: dict[str, dict[str, Any]]

    @property
    def url(self) -> str:
        return self.hub.url


def start_hostile_hub(repos: list[FakeRepo], overrides: dict[str, dict[str, Any]], hf_home: Path,
                      monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any] | None = None) -> HostileHub:
    """Run the fake Hub with ``repos``, patch its listing with ``overrides`` (per file) and ``fields``
    (top-level fields such as ``id`` or ``sha``) and point huggingface_hub at it."""
    original = fake_hub_module._sibling
    original_fields = fake_hub_module._fields

    def repo_fields(repo: FakeRepo, names: Any, blobs: bool, model_id: bool = False) -> dict:
        return {**original_fields(repo, names, blobs, model_id), **(fields or {})}

    monkeypatch.setattr(fake_hub_module, "_fields", repo_fields)

    def sibling(file: FakeFile, blobs: bool) -> dict:
        entry = original(file, blobs)
        for key, value in overrides.get(file.path, {}).items():
            if key == "lfs" and isinstance(value, dict) and isinstance(entry.get("lfs"), dict):
                entry["lfs"] = {**entry["lfs"], **value}
                entry["lfs"] = {k: v for k, v in entry["lfs"].items() if v is not None}
            elif value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        return entry

    monkeypatch.setattr(fake_hub_module, "_sibling", sibling)
    monkeypatch.setitem(fake_hub_module._FIELDS, "siblings", lambda r, b: [sibling(f, b) for f in r.files])
    hub = FakeHub({r.repo_id: r for r in repos}).start()
    point_hf_at(hub.url, hf_home, monkeypatch)
    return HostileHub(hub, overrides)


# --- a server that misbehaves -----------------------------------------------------------------------


class NastyServer:
    """One loopback server; ``behaviour`` picks how every request is answered:

    * ``"trickle"``: headers at once, then one body byte every ``interval_s`` (forever);
    * ``"slow-headers"``: the status line, then one header byte every ``interval_s``;
    * ``"redirect-loop"``: 302 to itself, with a counter in the path;
    * ``"silent"``: accepts and never answers;
    * ``"huge-listing"``: a model_info JSON with ``n_files`` siblings.
    """

    def __init__(self, behaviour: str, *, interval_s: float = 2.0, n_files: int = 0) -> None:
        self.behaviour = behaviour
        self.interval_s = interval_s
        self.n_files = n_files
        self.requests = 0
        self._stop = threading.Event()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _NastyHandler)
        server.daemon_threads = True
        server.nasty = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops; True when it stopped."""
        return self._stop.wait(seconds)


class _NastyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        nasty: NastyServer = self.server.nasty  # type: ignore[attr-defined]
        nasty.requests += 1
        try:
            getattr(self, "_" + nasty.behaviour.replace("-", "_"))(nasty)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    do_HEAD = do_GET

    def _trickle(self, nasty: NastyServer) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10**9))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        while not nasty.wait(nasty.interval_s):
            self.wfile.write(b" ")
            self.wfile.flush()

    def _slow_headers(self, nasty: NastyServer) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        while not nasty.wait(nasty.interval_s):
            self.wfile.write(b"X")
            self.wfile.flush()

    def _redirect_loop(self, nasty: NastyServer) -> None:
        self.send_response(302)
        self.send_header("Location", f"/loop/{nasty.requests}{self.path}"[:1000])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _silent(self, nasty: NastyServer) -> None:
        nasty.wait(3600)

    def _huge_listing(self, nasty: NastyServer) -> None:
        head = json.dumps({"id": "hostile/huge-GGUF", "sha": "a" * 40, "private": False, "gated": False})[:-1]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Repo-Commit", "a" * 40)
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        chunk(head.encode() + b', "siblings": [')
        batch: list[str] = []
        for i in range(nasty.n_files):
            batch.append(json.dumps({"rfilename": f"f{i:07d}-Q4_K_M.gguf", "size": 1000, "blobId": "b" * 40}))
            if len(batch) == 10000 or i == nasty.n_files - 1:
                chunk((("," if i >= 10000 else "") + ",".join(batch)).encode())
                batch = []
        chunk(b"]}")
        chunk(b"")


@pytest.fixture
def nasty_server() -> Iterator[Any]:
    """``nasty_server(behaviour, **options)`` starts a ``NastyServer``; all are stopped after the test."""
    servers: list[NastyServer] = []

    def start(behaviour: str, **options: Any) -> NastyServer:
        server = NastyServer(behaviour, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def elapsed(start: float) -> float:
    return time.monotonic() - start
