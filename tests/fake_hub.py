"""A loopback Hugging Face Hub: the real API's routes, headers and error codes, served from fixtures.

Hugging Face cannot be reached from the test machines, so this server answers what
``huggingface_hub`` (2.x, httpx2) asks and parses, with the shapes huggingface.co returns:

* ``GET /api/models``: ``search``, ``author``, ``filter`` (tags), ``sort`` + ``direction``,
  ``limit``, ``expand`` / ``expand[]``, ``full``; pages linked by a ``Link: <...>; rel="next"`` header.
* ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}``: ``blobs=true`` adds
  sizes and LFS info to ``siblings``; ``expand`` keeps only the named fields.
* ``GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=true`` and
  ``POST /api/models/{repo}/paths-info/{rev}``.
* ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit``, ``ETag``,
  ``X-Linked-Etag``/``X-Linked-Size`` (LFS), ``Accept-Ranges``; LFS files redirect (302) to a
  second loopback server standing in for the CDN, which answers ``Range`` with 206.
* Errors carry ``X-Error-Code`` (``GatedRepo`` 401/403, ``RepoNotFound``, ``EntryNotFound``,
  ``RevisionNotFound``) and ``X-Error-Message``, as the Hub sends them.

Tests steer it: ``inject()`` answers the next matching requests with an error status (429 with
``Retry-After``, 5xx, ...), ``delay_s`` holds every answer (timeouts), ``drop_after()`` cuts a
download mid-body, ``throttle_bps`` slows bodies down, ``ignore_ranges`` answers 200 to ``Range``.
It counts the body bytes served per file (``bytes_served``) and records every request (``requests``).

``hub_env`` points ``huggingface_hub`` at it (``HF_ENDPOINT`` for subprocesses, the module
constants for this process, the way huggingface_hub's own tests patch them) with a temporary
``HF_HOME``, ``HF_HUB_DISABLE_XET=1`` and telemetry off.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from tests.hub_fixtures.catalog import FakeFile, FakeRepo, default_repos

#: Tokens the fake Hub knows: token -> (repos whose gate it has passed, private repos it owns).
TOKENS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "hf_fakeGrantedToken0123456789": (frozenset({"google/gemma-3-1b-it-qat-q4_0-gguf"}),
                                      frozenset({"someuser/private-stories-GGUF"})),
    "hf_fakeNotGrantedToken98765432": (frozenset(), frozenset()),
}
GRANTED_TOKEN = "hf_fakeGrantedToken0123456789"
NOT_GRANTED_TOKEN = "hf_fakeNotGrantedToken98765432"

_SORT_FIELDS = {"downloads": "downloads", "likes": "likes", "trendingScore": "trending_score",
                "lastModified": "last_modified", "createdAt": "created_at"}
_LIST_DEFAULT_FIELDS = ("likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name",
                        "createdAt")
_CHUNK = 256 * 1024


@dataclass
class Fault:
    """Answer matching requests with ``status`` (``times`` times); ``path_contains`` picks them."""

    status: int
    path_contains: str = ""
    times: int = 1
    retry_after: int | None = None
    error_code: str | None = None
    message: str = "Internal Error - We're working hard to fix this as soon as possible!"
    method: str | None = None


@dataclass
class RequestRecord:
    method: str
    path: str  # path and query, as received
    range: str | None
    authorized: bool
    status: int = 0
    bytes_sent: int = 0  # body bytes written for this request


@dataclass
class FakeHub:
    """The server pair (API + CDN) and what it has served."""

    repos: dict[str, FakeRepo]
    cdn_redirect: bool = True
    page_size: int = 1000
    delay_s: float = 0.0
    throttle_bps: int = 0
    ignore_ranges: bool = False  # answer 200 with the whole file, as a misconfigured proxy would
    faults: list[Fault] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    bytes_served: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _drops: dict[str, list[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeHub:
        for _ in range(2):  # the Hub, then its CDN: another origin, as on huggingface.co
            server = _Server(("127.0.0.1", 0), _Handler)
            server.hub = self
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    # --- steering ----------------------------------------------------------------------------

    def inject(self, status: int, path_contains: str = "", times: int = 1, **kw) -> Fault:
        fault = Fault(status, path_contains, times, **kw)
        with self._lock:
            self.faults.append(fault)
        return fault

    def drop_after(self, file_key: str, n_bytes: int, times: int = 1) -> None:
        """Cut the connection after ``n_bytes`` of body for the next ``times`` GETs of ``repo/path``."""
        with self._lock:
            self._drops[file_key] = [n_bytes] * times

    def served(self, repo_id: str, path: str) -> int:
        return self.bytes_served.get(f"{repo_id}/{path}", 0)

    def requests_for(self, fragment: str, method: str | None = None) -> list[RequestRecord]:
        return [r for r in self.requests if fragment in unquote(r.path) and (method is None or r.method == method)]

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_served.clear()

    # --- internals ---------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path_contains in unquote(path) and fault.method in (None, method):
                    fault.times -= 1
                    return fault
        return None

    def _take_drop(self, key: str) -> int | None:
        with self._lock:
            drops = self._drops.get(key)
            if drops:
                return drops.pop(0)
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hub: FakeHub


class _HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    # --- dispatch ------------------------------------------------------------------------------

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        record = RequestRecord(method, self.path, self.headers.get("Range"), "authorization" in self.headers)
        with self.hub._lock:
            self.hub.requests.append(record)
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.hub.delay_s and self.hub._stopping.wait(self.hub.delay_s):
            return
        try:
            fault = self.hub._take_fault(method, self.path)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                raise _HubError(fault.status, fault.message, fault.error_code, headers)
            self._route(method, body, record)
        except _HubError as err:
            record.status = err.status
            self._send_error(method, err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, method: str, body: bytes, record: RequestRecord) -> None:
        split = urlsplit(self.path)
        path, query = unquote(split.path), parse_qs(split.query, keep_blank_values=True)
        if self.server is self.hub._servers[1]:
            match = re.fullmatch(r"/cdn/(?P<repo>[^/]+/[^/]+)/(?P<path>.+)", path)
            if not match:
                raise _HubError(404, "Not Found")
            repo = self.hub.repos.get(match["repo"])
            file = repo.file(match["path"]) if repo else None
            if file is None or "X-Amz-Signature" not in query:
                raise _HubError(403, "Request has expired or is not signed")
            return self._send_file(method, repo, file, record, cdn=True)
        if path == "/api/models" and method == "GET":
            return self._list_models(query, record)
        match = re.fullmatch(r"/api/models/(?P<repo>[^/]+/[^/]+)(?P<rest>/.*)?", path)
        if match:
            return self._repo_api(method, match["repo"], match["rest"] or "", query, body, record)
        match = re.fullmatch(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", path)
        if match and method in ("GET", "HEAD"):
            repo = self._repo(match["repo"], files=True)
            self._check_revision(repo, match["rev"])
            file = repo.file(match["path"])
            if file is None:
                raise _HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": repo.sha})
            return self._send_file(method, repo, file, record, cdn=False)
        raise _HubError(404, "Sorry, we can't find the page you are looking for.")

    # --- auth ----------------------------------------------------------------------------------

    def _token(self) -> str | None:
        auth = self.headers.get("authorization") or ""
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        if token not in TOKENS:
            raise _HubError(401, "Invalid credentials in Authorization header")
        return token

    def _repo(self, repo_id: str, files: bool = False) -> FakeRepo:
        """The repo if this caller may see it (and read its files when ``files``), else the Hub's error."""
        token = self._token()
        repo = self.hub.repos.get(repo_id)
        granted, owned = TOKENS.get(token, (frozenset(), frozenset())) if token else (frozenset(), frozenset())
        if repo is None or (repo.private and repo_id not in owned):
            # The Hub answers 401 to anonymous callers, 404 to authenticated ones (no leak either way).
            raise _HubError(404 if token else 401, "Repository not found", "RepoNotFound")
        if files and repo.gated and repo_id not in granted:
            if token is None:
                raise _HubError(401, f"Access to model {repo_id} is restricted. You must have access to it and be "
                                     "authenticated to access it. Please log in.", "GatedRepo")
            raise _HubError(403, f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                                 f"Visit https://huggingface.co/{repo_id} to ask for access.", "GatedRepo")
        return repo

    @staticmethod
    def _check_revision(repo: FakeRepo, rev: str) -> None:
        if rev not in ("main", repo.sha):
            raise _HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    # --- API -----------------------------------------------------------------------------------

    def _list_models(self, query: dict, record: RequestRecord) -> None:
        self._token()
        repos = [r for r in self.hub.repos.values() if not r.private]
        for term in " ".join(query.get("search", [])).lower().split():
            repos = [r for r in repos if term in r.repo_id.lower()]
        if query.get("author"):
            repos = [r for r in repos if r.author.lower() == query["author"][0].lower()]
        for tag in query.get("filter", []):
            repos = [r for r in repos if tag in r.all_tags]
        sort = (query.get("sort") or [None])[0]
        if sort:
            if sort not in _SORT_FIELDS:
                raise _HubError(400, f'Invalid sort parameter "{sort}"')
            descending = (query.get("direction") or ["-1"])[0] != "1"
            repos.sort(key=lambda r: getattr(r, _SORT_FIELDS[sort]), reverse=descending)
        expand = query.get("expand", []) + query.get("expand[]", [])
        unknown = [e for e in expand if e not in _FIELDS]
        if unknown:
            raise _HubError(400, f"Invalid expand parameter: {unknown[0]}")
        full = (query.get("full") or [""])[0].lower() in ("1", "true")
        limit = int((query.get("limit") or [self.hub.page_size])[0])
        page_size = min(limit, self.hub.page_size)
        start = int(base64.urlsafe_b64decode((query.get("cursor") or ["MA=="])[0]).decode())
        page = repos[start : start + page_size]
        items = []
        for repo in page:
            if expand:
                items.append(_fields(repo, expand, blobs=False))
            else:
                names = list(_LIST_DEFAULT_FIELDS) + (["author", "sha", "lastModified", "gated", "disabled",
                                                       "siblings"] if full else [])
                items.append(_fields(repo, names, blobs=False, model_id=True))
        headers = {}
        if start + page_size < len(repos):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["cursor"] = [base64.urlsafe_b64encode(str(start + page_size).encode()).decode()]
            qs = "&".join(f"{k}={quote(v)}" for k, vs in params.items() for v in vs)
            headers["Link"] = f'<{self.hub.url}/api/models?{qs}>; rel="next"'
        self._send_json(items, record, headers)

    def _repo_api(self, method: str, repo_id: str, rest: str, query: dict, body: bytes, record: RequestRecord) -> None:
        repo = self._repo(repo_id)
        blobs = (query.get("blobs") or [""])[0].lower() in ("1", "true")
        if method == "GET" and (rest == "" or rest.startswith("/revision/")):
            self._check_revision(repo, rest.removeprefix("/revision/") or "main")
            expand = query.get("expand", []) + query.get("expand[]", [])
            names = expand or list(_FIELDS_MODEL_INFO)
            return self._send_json(_fields(repo, names, blobs=blobs, model_id=not expand), record)
        match = re.fullmatch(r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", rest)
        if method == "GET" and match:
            self._check_revision(repo, match["rev"])
            recursive = (query.get("recursive") or [""])[0].lower() in ("1", "true")
            return self._send_json(_tree(repo, (match["path"] or "").strip("/"), recursive), record)
        match = re.fullmatch(r"/paths-info/(?P<rev>[^/]+)", rest)
        if method == "POST" and match:
            self._check_revision(repo, match["rev"])
            form = parse_qs(body.decode(), keep_blank_values=True)
            wanted = set(form.get("paths", []))
            entries = [e for e in _tree(repo, "", recursive=True) if e["path"] in wanted]
            return self._send_json(entries, record)
        raise _HubError(404, "Sorry, we can't find the page you are looking for.")

    # --- files -----------------------------------------------------------------------------------

    def _send_file(self, method: str, repo: FakeRepo, file: FakeFile, record: RequestRecord, cdn: bool) -> None:
        key = f"{repo.repo_id}/{file.path}"
        if not cdn and file.lfs and self.hub.cdn_redirect:
            location = (f"{self.hub.cdn_url}/cdn/{repo.repo_id}/{quote(file.path)}"
                        f"?X-Amz-Expires=3600&X-Amz-Signature={file.sha256[:16]}")
            record.status = 302
            self.send_response(302)
            self._file_headers(repo, file)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = 0, file.size  # [start, end)
        status = 200
        range_header = None if self.hub.ignore_ranges else self.headers.get("Range")
        if range_header:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.strip())
            if not m or (not m[1] and not m[2]):
                raise _HubError(416, "Invalid range")
            if m[1]:
                start = int(m[1])
                end = min(file.size, int(m[2]) + 1) if m[2] else file.size
            else:
                start = max(0, file.size - int(m[2]))
            if start >= file.size or start >= end:
                raise _HubError(416, "Requested Range Not Satisfiable",
                                headers={"Content-Range": f"bytes */{file.size}"})
            status = 206
        record.status = status
        self.send_response(status)
        if not cdn:
            self._file_headers(repo, file)
        else:
            self.send_header("ETag", f'"{file.sha256}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream" if file.lfs else "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(end - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{file.size}")
        self.end_headers()
        if method == "HEAD":
            return
        self._stream(file, key, start, end, self.hub._take_drop(key), record)

    def _file_headers(self, repo: FakeRepo, file: FakeFile) -> None:
        self.send_header("X-Repo-Commit", repo.sha)
        if file.lfs:
            self.send_header("ETag", f'"{file.blob_id}"')
            self.send_header("X-Linked-Etag", f'"{file.sha256}"')
            self.send_header("X-Linked-Size", str(file.size))
        else:
            self.send_header("ETag", f'"{file.blob_id}"')

    def _stream(self, file: FakeFile, key: str, start: int, end: int, drop_at: int | None,
                record: RequestRecord) -> None:
        sent = 0
        pos = start
        while pos < end:
            n = min(_CHUNK, end - pos)
            if drop_at is not None and sent + n > drop_at:
                n = drop_at - sent
            chunk = file.content_bytes(pos, pos + n)
            if chunk:
                self.wfile.write(chunk)
                sent += len(chunk)
                pos += len(chunk)
                with self.hub._lock:
                    self.hub.bytes_served[key] += len(chunk)
                    record.bytes_sent += len(chunk)
            if drop_at is not None and sent >= drop_at:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if self.hub.throttle_bps:
                if self.hub._stopping.wait(n / self.hub.throttle_bps):
                    return

    # --- responses -------------------------------------------------------------------------------

    def _send_json(self, data, record: RequestRecord, headers: dict | None = None) -> None:
        payload = json.dumps(data).encode()
        record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, method: str, err: _HubError) -> None:
        payload = b"" if method == "HEAD" else json.dumps({"error": err.message}).encode()
        self.send_response(err.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if err.code:
            self.send_header("X-Error-Code", err.code)
        self.send_header("X-Error-Message", err.message)
        for key, value in err.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


# --- payloads (field names as the Hub spells them) -------------------------------------------------

def _sibling(file: FakeFile, blobs: bool) -> dict:
    entry: dict = {"rfilename": file.path}
    if blobs:
        entry["blobId"] = file.blob_id
        entry["size"] = file.size
        if file.lfs:
            entry["lfs"] = {"sha256": file.sha256, "size": file.size, "pointerSize": len(file.pointer)}
    return entry


_FIELDS = {
    "author": lambda r, b: r.author,
    "cardData": lambda r, b: r.card_data,
    "createdAt": lambda r, b: r.created_at,
    "disabled": lambda r, b: False,
    "downloads": lambda r, b: r.downloads,
    "downloadsAllTime": lambda r, b: r.downloads * 7,
    "gated": lambda r, b: r.gated,
    "gguf": lambda r, b: r.gguf,
    "lastModified": lambda r, b: r.last_modified,
    "library_name": lambda r, b: r.library_name,
    "likes": lambda r, b: r.likes,
    "pipeline_tag": lambda r, b: r.pipeline_tag,
    "private": lambda r, b: r.private,
    "sha": lambda r, b: r.sha,
    "siblings": lambda r, b: [_sibling(f, b) for f in r.files],
    "spaces": lambda r, b: [],
    "tags": lambda r, b: r.all_tags,
    "trendingScore": lambda r, b: r.trending_score,
    "usedStorage": lambda r, b: sum(f.size for f in r.files),
}
_FIELDS_MODEL_INFO = ("private", "pipeline_tag", "library_name", "tags", "downloads", "likes", "author", "sha",
                      "lastModified", "gated", "disabled", "cardData", "gguf", "spaces", "siblings", "createdAt",
                      "usedStorage")


def _fields(repo: FakeRepo, names, blobs: bool, model_id: bool = False) -> dict:
    data: dict = {"_id": repo.sha[:24], "id": repo.repo_id}
    for name in names:
        value = _FIELDS[name](repo, blobs)
        if value is not None or name in ("gated",):
            data[name] = value
    if model_id:
        data["modelId"] = repo.repo_id
    return data


def _tree(repo: FakeRepo, under: str, recursive: bool) -> list[dict]:
    prefix = f"{under}/" if under else ""
    entries: list[dict] = []
    folders: set[str] = set()
    for file in repo.files:
        if not file.path.startswith(prefix):
            continue
        rel = file.path[len(prefix):]
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            folder = prefix + "/".join(parts[:depth])
            if folder not in folders and (recursive or depth == 1):
                folders.add(folder)
                entries.append({"type": "directory", "oid": _tree_oid(folder), "size": 0, "path": folder})
        if len(parts) > 1 and not recursive:
            continue
        entry = {"type": "file", "oid": file.blob_id, "size": file.size, "path": file.path}
        if file.lfs:
            entry["lfs"] = {"oid": file.sha256, "size": file.size, "pointerSize": len(file.pointer)}
        entries.append(entry)
    if under and not entries:
        raise _HubError(404, f"{under} does not exist on \"main\"", "EntryNotFound")
    return entries


def _tree_oid(folder: str) -> str:
    import hashlib

    return hashlib.sha1(f"tree:{folder}".encode()).hexdigest()


# --- pytest fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def fake_hub():
    """A running fake Hub with the default catalog (fresh counters and faults per test)."""
    hub = FakeHub({r.repo_id: r for r in default_repos()}).start()
    yield hub
    hub.stop()


@pytest.fixture
def hf_home(tmp_path) -> Path:
    return tmp_path / "hf_home"


@pytest.fixture
def hub_env(fake_hub, hf_home, monkeypatch):
    """Point huggingface_hub (this process and child processes) at the fake Hub, with a fresh HF_HOME."""
    point_hf_at(fake_hub.url, hf_home, monkeypatch)
    yield fake_hub
    from huggingface_hub.utils import close_session

    close_session()


def point_hf_at(endpoint: str, hf_home: Path, monkeypatch) -> dict[str, str]:
    """Set the environment and huggingface_hub's constants to use ``endpoint`` and ``hf_home``."""
    env = {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DOWNLOAD_TIMEOUT": "5",
        "HF_HUB_ETAG_TIMEOUT": "5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_TOKEN_PATH"):
        monkeypatch.delenv(key, raising=False)
    from huggingface_hub import constants
    from huggingface_hub.utils import close_session

    close_session()  # no pooled connection to a previous test's server
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HOME", str(hf_home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(hf_home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(hf_home / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 5)
    from huggingface_hub.utils import _cache_manager

    monkeypatch.setattr(_cache_manager, "HF_HUB_CACHE", str(hf_home / "hub"))  # bound at its first import
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 5)
    return env
