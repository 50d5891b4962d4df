"""The app's door to the Hub: huggingface_hub's session, headers and token, with our error handling.

Everything goes through ``huggingface_hub`` (2.x): its shared httpx2 session (``get_session``,
which also enforces ``HF_HUB_OFFLINE``), its headers (``build_hf_headers``: the user agent and
the token from ``HF_TOKEN`` or ``hf auth login``), ``hf_raise_for_status`` to classify errors
and ``HfApi`` for the repo metadata. Settings are read at call time, never cached at import,
so ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and the token take effect whenever they are set.

API calls are made once, without huggingface_hub's silent back-off: a rate limit or a server
error becomes a ``HubError`` at once (the TUI stays responsive and says why), and cached
results are shown instead where we have them.

The token is sent only to the Hub's own origin; it is never logged, printed or put in a message.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from tui import __version__
from tui.core.hub.errors import (
    HubAnswerTooLargeError,
    HubError,
    HubOfflineError,
    HubRedirectLoopError,
    HubStalledError,
    RequestCancelled,
    hub_error_from,
)
from tui.core.hub.limits import NetworkLimits, network_limits
from tui.core.safe_text import one_line

_TRUE = {"1", "ON", "YES", "TRUE"}


def hub_endpoint() -> str:
    """The Hub's base URL (``HF_ENDPOINT``, default https://huggingface.co), without a trailing slash."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def is_offline() -> bool:
    """``HF_HUB_OFFLINE=1``: use only what is cached, make no request."""
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or (os.environ.get("HF_HUB_OFFLINE") or "").upper() in _TRUE


def request_timeout() -> float:
    """Seconds to wait for the Hub to answer (``HF_HUB_DOWNLOAD_TIMEOUT``, huggingface_hub's default 10)."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_DOWNLOAD_TIMEOUT")
    try:
        return float(value) if value else float(constants.HF_HUB_DOWNLOAD_TIMEOUT)
    except ValueError:
        return float(constants.HF_HUB_DOWNLOAD_TIMEOUT)


def has_token() -> bool:
    """Whether a token is configured (``HF_TOKEN`` or ``hf auth login``); the token itself stays hidden."""
    from huggingface_hub import get_token

    return get_token() is not None


def same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def cache_hub_dir() -> str:
    """The Hugging Face cache of downloaded repos (``HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE


class HubClient:
    """Requests to one Hub endpoint, with the token, a timeout and errors as ``HubError``."""

    def __init__(self, endpoint: str | None = None, timeout_s: float | None = None) -> None:
        self.endpoint = (endpoint or hub_endpoint()).rstrip("/")
        self.timeout_s = timeout_s if timeout_s is not None else request_timeout()

    # --- plumbing ---------------------------------------------------------------------------------

    def headers_for(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """huggingface_hub's headers (user agent, token); the token only for the Hub's own origin.

        huggingface_hub's user-agent "telemetry" fetches an agent registry from ``HF_ENDPOINT`` with a
        plain, unbounded request the first time it builds headers: a hostile or slow endpoint would
        hang every command there, outside our deadlines. It is switched off for this process.
        """
        from huggingface_hub import constants
        from huggingface_hub.utils import build_hf_headers

        constants.HF_HUB_DISABLE_TELEMETRY = True

        headers = build_hf_headers(library_name="localai-tui", library_version=__version__)
        if not same_origin(url, self.endpoint):
            headers.pop("authorization", None)
        if extra:
            headers.update(extra)
        return headers

    @contextlib.contextmanager
    def errors(self, repo_id: str | None = None, path: str | None = None) -> Iterator[None]:
        """Turn any huggingface_hub / httpx2 failure inside the block into one ``HubError``."""
        import httpx2
        from huggingface_hub import errors as hf_errors

        if is_offline():
            what = f"{repo_id}/{path}" if repo_id and path else (repo_id or "the Hub")
            raise HubOfflineError(f"offline mode is on (HF_HUB_OFFLINE=1) and {what} is not cached",
                                  hint="unset HF_HUB_OFFLINE to reach the Hub")
        try:
            yield
        except (HubError, RequestCancelled):
            raise
        except (hf_errors.HfHubHTTPError, hf_errors.OfflineModeIsEnabled, httpx2.HTTPError,
                httpx2.InvalidURL) as exc:
            raise hub_error_from(exc, repo_id=repo_id, path=path, endpoint=self.endpoint,
                                 timeout_s=self.timeout_s, has_token=has_token()) from None

    def get_json(self, url: str, params: Any = None, repo_id: str | None = None,
                 cancel: threading.Event | None = None) -> tuple[Any, Any]:
        """GET an API URL once; ``(decoded JSON, response)``. The answer is bounded in time and size."""
        import json

        limits = network_limits()
        deadline = time.monotonic() + limits.answer_s
        with self.stream(url, params=params, repo_id=repo_id, cancel=cancel, accept_json=True) as response:
            body = bytearray()
            for chunk in self.body(response, cancel=cancel, deadline=deadline):
                body += chunk
                if len(body) > limits.max_json_bytes:
                    raise HubAnswerTooLargeError(
                        f"{host_of(url)} sent more than {limits.max_json_bytes // (1024 * 1024)} MiB for "
                        f"{repo_id or 'a Hub request'}; refusing to read it",
                        hint="a real Hub never answers this much; check HF_ENDPOINT")
        try:
            return json.loads(bytes(body)), response
        except ValueError:
            raise HubError(f"the Hub sent an unreadable answer for {repo_id or url}",
                           hint="check HF_ENDPOINT points at a Hugging Face Hub") from None

    def model_info(self, repo_id: str, revision: str = "main") -> tuple[Any, list[Any]]:
        """The repo's metadata at ``revision`` with file sizes and LFS sha256 (``blobs=true``): one request.

        ``(huggingface_hub ModelInfo without siblings, the raw sibling list)``: the siblings are
        read by ``repo_listing`` itself, tolerant of missing fields (huggingface_hub raises
        ``KeyError`` on an ``lfs`` entry without ``pointerSize``).
        """
        from urllib.parse import quote

        from huggingface_hub.hf_api import ModelInfo

        url = f"{self.endpoint}/api/models/{repo_id}/revision/{quote(revision, safe='')}"
        data, _ = self.get_json(url, params={"blobs": "true"}, repo_id=repo_id)
        if not isinstance(data, dict):
            raise HubError(f"the Hub sent an unreadable listing for {repo_id}", hint="check HF_ENDPOINT")
        siblings = data.pop("siblings", None)
        try:
            info = ModelInfo(**data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HubError(f"the Hub sent an unreadable listing for {repo_id} ({type(exc).__name__})",
                           hint="check HF_ENDPOINT points at a Hugging Face Hub") from None
        return info, siblings if isinstance(siblings, list) else []

    def file_url(self, repo_id: str, path: str, revision: str) -> str:
        """The ``/{repo}/resolve/{revision}/{path}`` URL of a file (huggingface_hub's ``hf_hub_url``)."""
        from huggingface_hub import hf_hub_url

        return hf_hub_url(repo_id, path, revision=revision, endpoint=self.endpoint)

    @contextlib.contextmanager
    def stream(self, url: str, *, byte_range: tuple[int, int | None] | None = None, repo_id: str | None = None,
               path: str | None = None, params: Any = None, cancel: threading.Event | None = None,
               accept_json: bool = False) -> Iterator[Any]:
        """A streamed GET (redirects followed up to a limit, the token dropped off-origin), status checked.

        ``byte_range`` is ``(first, last)`` inclusive, ``last`` None for "to the end". The status
        and headers must arrive within ``headers_s``; read the body with ``body()``, which
        enforces the stall rule. ``cancel`` set stops the wait at once (``RequestCancelled``).
        """
        from huggingface_hub.utils import get_session, hf_raise_for_status

        limits = network_limits()
        extra = {} if accept_json else {"Accept-Encoding": "identity"}
        if byte_range is not None:
            first, last = byte_range
            extra["Range"] = f"bytes={first}-{'' if last is None else last}"
        with self.errors(repo_id, path):
            session = get_session()
            request = session.build_request("GET", url, params=params, headers=self.headers_for(url, extra),
                                            timeout=self.timeout_s)
            response = self._send(session, request, limits, cancel)
            try:
                hops = 0
                while response.is_redirect:
                    if hops >= limits.max_redirects:
                        raise HubRedirectLoopError(
                            f"{host_of(url)} redirected more than {limits.max_redirects} times "
                            f"({repo_id or 'a Hub request'}); stopped", hint="check HF_ENDPOINT and any proxy")
                    target = str(response.url.join(response.headers.get("Location", "")))
                    response.close()
                    request = session.build_request("GET", target, headers=self.headers_for(target, extra),
                                                    timeout=self.timeout_s)
                    response = self._send(session, request, limits, cancel)
                    hops += 1
                if response.status_code >= 400 and response.status_code != 416:
                    hf_raise_for_status(self._read_error(response, limits, cancel))
                yield response
            finally:
                response.close()

    def body(self, response: Any, *, cancel: threading.Event | None = None, deadline: float | None = None,
             chunk_size: int | None = None) -> Iterator[bytes]:
        """The response's body as it arrives, ended by ``HubStalledError`` when it stalls or passes
        ``deadline`` (a ``time.monotonic()`` value), by ``RequestCancelled`` when ``cancel`` is set."""
        limits = network_limits()
        host = host_of(str(response.url))
        window_start, window_bytes, total = time.monotonic(), 0, 0
        with self.errors():
            for chunk in response.iter_bytes(chunk_size=chunk_size):
                if cancel is not None and cancel.is_set():
                    raise RequestCancelled("cancelled while waiting for the Hub")
                now = time.monotonic()
                window_bytes += len(chunk)
                total += len(chunk)
                if deadline is not None and now > deadline:
                    raise _stalled(host, total, now - window_start,
                                   f"the answer took longer than {network_limits().answer_s:g} s")
                if now - window_start >= limits.stall_s:
                    if window_bytes < limits.stall_bytes:
                        raise _stalled(host, window_bytes, now - window_start, "the transfer stalled")
                    window_start, window_bytes = now, 0
                yield chunk

    def _read_error(self, response: Any, limits: NetworkLimits, cancel: threading.Event | None) -> Any:
        """The error answer, read (bounded like any body) into a response huggingface_hub can classify."""
        import httpx2

        data = bytearray()
        for chunk in self.body(response, cancel=cancel, deadline=time.monotonic() + limits.headers_s):
            data += chunk
            if len(data) > 64 * 1024:
                break
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx2.Response(response.status_code, headers=headers, content=bytes(data[: 64 * 1024]),
                               request=response.request)

    def _send(self, session: Any, request: Any, limits: NetworkLimits, cancel: threading.Event | None) -> Any:
        """``session.send`` in a helper thread, so a server that never finishes its headers cannot hold us.

        httpx bounds each read, not the whole exchange. The request runs in a daemon thread
        while this one waits up to ``headers_s`` (or until ``cancel``); on giving up, the socket
        of a connection opened for this request is shut down so that thread ends too.
        """
        sockets: list[Any] = []

        def trace(name: str, info: dict[str, Any]) -> None:
            if name.endswith("connect_tcp.complete") and info.get("return_value") is not None:
                sockets.append(info["return_value"].get_extra_info("socket"))

        request.extensions = {**request.extensions, "trace": trace}
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["response"] = session.send(request, stream=True, follow_redirects=False)
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
            finally:
                done.set()
                if box.get("abandoned") and "response" in box:
                    box["response"].close()

        threading.Thread(target=run, name="hub-request", daemon=True).start()
        deadline = time.monotonic() + limits.headers_s
        while not done.wait(0.05):
            cancelled = cancel is not None and cancel.is_set()
            if cancelled or time.monotonic() > deadline:
                box["abandoned"] = True
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                if cancelled:
                    raise RequestCancelled("cancelled while waiting for the Hub")
                raise HubStalledError(f"{host_of(str(request.url))} sent no complete answer within "
                                      f"{limits.headers_s:g} s", hint=_STALL_HINT)
        if "error" in box:
            raise box["error"]
        return box["response"]


_STALL_HINT = "the server is too slow or not a Hugging Face Hub; check your connection and HF_ENDPOINT"


def host_of(url: str) -> str:
    """``host:port`` of ``url``, for messages (never the path or query, which may be signed)."""
    parts = urlsplit(url)
    return one_line(parts.netloc.rsplit("@", 1)[-1] or url[:60])


def _stalled(host: str, n_bytes: int, seconds: float, what: str) -> HubStalledError:
    return HubStalledError(f"{what}: {host} sent {n_bytes} bytes in {seconds:.0f} s", hint=_STALL_HINT)
