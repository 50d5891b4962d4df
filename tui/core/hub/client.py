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
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from tui import __version__
from tui.core.hub.errors import HubError, HubOfflineError, hub_error_from

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
        """huggingface_hub's headers (user agent, token); the token only for the Hub's own origin."""
        from huggingface_hub.utils import build_hf_headers

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
        except HubError:
            raise
        except (hf_errors.HfHubHTTPError, hf_errors.OfflineModeIsEnabled, httpx2.HTTPError,
                httpx2.InvalidURL) as exc:
            raise hub_error_from(exc, repo_id=repo_id, path=path, endpoint=self.endpoint,
                                 timeout_s=self.timeout_s, has_token=has_token()) from None

    def get_json(self, url: str, params: Any = None, repo_id: str | None = None) -> tuple[Any, Any]:
        """GET an API URL once; ``(decoded JSON, response)``."""
        from huggingface_hub.utils import get_session, hf_raise_for_status

        with self.errors(repo_id):
            response = get_session().get(url, params=params, headers=self.headers_for(url), timeout=self.timeout_s)
            hf_raise_for_status(response)
            try:
                return response.json(), response
            except ValueError:
                raise HubError(f"the Hub sent an unreadable answer for {repo_id or url}",
                               hint="check HF_ENDPOINT points at a Hugging Face Hub") from None

    def model_info(self, repo_id: str, revision: str = "main") -> Any:
        """``HfApi.model_info`` with file sizes and LFS sha256 (``blobs=true``): one request."""
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.endpoint, library_name="localai-tui", library_version=__version__)
        with self.errors(repo_id):
            return api.model_info(repo_id, revision=revision, files_metadata=True, timeout=self.timeout_s)

    def file_url(self, repo_id: str, path: str, revision: str) -> str:
        """The ``/{repo}/resolve/{revision}/{path}`` URL of a file (huggingface_hub's ``hf_hub_url``)."""
        from huggingface_hub import hf_hub_url

        return hf_hub_url(repo_id, path, revision=revision, endpoint=self.endpoint)

    @contextlib.contextmanager
    def stream(self, url: str, *, byte_range: tuple[int, int | None] | None = None, repo_id: str | None = None,
               path: str | None = None) -> Iterator[Any]:
        """A streamed GET (redirects followed, the token dropped off-origin), status checked.

        ``byte_range`` is ``(first, last)`` inclusive, ``last`` None for "to the end".
        """
        from huggingface_hub.utils import get_session, hf_raise_for_status

        extra = {"Accept-Encoding": "identity"}
        if byte_range is not None:
            first, last = byte_range
            extra["Range"] = f"bytes={first}-{'' if last is None else last}"
        with self.errors(repo_id, path):
            session = get_session()
            request = session.build_request("GET", url, headers=self.headers_for(url, extra), timeout=self.timeout_s)
            response = session.send(request, stream=True, follow_redirects=False)
            try:
                hops = 0
                while response.is_redirect and hops < 10:
                    target = str(response.url.join(response.headers["Location"]))
                    response.close()
                    request = session.build_request("GET", target, headers=self.headers_for(target, extra),
                                                    timeout=self.timeout_s)
                    response = session.send(request, stream=True, follow_redirects=False)
                    hops += 1
                if response.status_code != 416:
                    hf_raise_for_status(response)
                yield response
            finally:
                response.close()
