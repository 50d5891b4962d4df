"""Hub failures as one-line messages that say what happened and what to do.

``huggingface_hub`` raises rich exceptions (``GatedRepoError``, ``RepositoryNotFoundError``,
httpx2 timeouts, ``OfflineModeIsEnabled``...) with multi-line messages that may quote URLs;
``hub_error_from`` turns each into one ``HubError`` subclass whose text fits one line and
never contains the token. The CLI prints it and exits; the TUI shows it in a notification.
"""

from __future__ import annotations

from tui.core.errors import LocalAIError

LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN"


class HubError(LocalAIError):
    """A request to the Hugging Face Hub failed."""


class HubAuthError(HubError):
    """The Hub refused the credentials (invalid or expired token, no permission)."""


class HubGatedError(HubAuthError):
    """The repo is gated: its license must be accepted on the website by the token's owner."""


class HubNotFoundError(HubError):
    """No such repo, revision or file (private repos look missing to strangers)."""


class HubRateLimitError(HubError):
    """HTTP 429: too many requests; ``retry_after_s`` says when to try again, if the Hub said."""

    def __init__(self, message: str, hint: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after_s = retry_after_s


class HubServerError(HubError):
    """HTTP 5xx: the Hub is having trouble."""


class HubTimeoutError(HubError):
    """The Hub did not answer in time."""


class HubStalledError(HubTimeoutError):
    """The server answers, but too slowly to ever finish (a trickle, headers a byte at a time): not retried."""


class HubRedirectLoopError(HubError):
    """The server redirected more times than any real Hub or CDN does."""


class HubAnswerTooLargeError(HubError):
    """An API answer larger than the app agrees to read (a listing of a million files)."""


class RequestCancelled(LocalAIError):
    """The person cancelled a request that was waiting on the Hub."""

    exit_code = 130


class HubUnreachableError(HubError):
    """No connection at all: no network, DNS failure, refused, dropped."""


class HubOfflineError(HubError):
    """``HF_HUB_OFFLINE=1`` and what was asked for is not cached."""


class DownloadCancelled(LocalAIError):
    """The user cancelled a download; the partial file is kept for resuming."""

    exit_code = 130


class DownloadIntegrityError(HubError):
    """The downloaded bytes are not the file the Hub lists (wrong size or sha256)."""


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    return int(value) if value and value.strip().isdigit() else None


def hub_error_from(exc: BaseException, *, repo_id: str | None = None, path: str | None = None,
                   endpoint: str = "https://huggingface.co", timeout_s: float | None = None,
                   has_token: bool = False) -> HubError:
    """The ``HubError`` that explains ``exc`` (a huggingface_hub or httpx2 exception) in one line."""
    import httpx2
    from huggingface_hub import errors as hf_errors

    what = f"{repo_id}/{path}" if repo_id and path else (repo_id or "the Hub")
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return HubOfflineError(f"offline mode is on (HF_HUB_OFFLINE=1) and {what} is not cached",
                               hint="unset HF_HUB_OFFLINE to reach the Hub")
    if isinstance(exc, hf_errors.GatedRepoError):
        if has_token and _status(exc) == 403:
            message = f"{repo_id} is gated and your Hugging Face account has not been granted access"
            return HubGatedError(message, hint=f"request access at {endpoint}/{repo_id} and wait for approval")
        return HubGatedError(f"{repo_id} is gated: its files need an accepted license and a token",
                             hint=f"accept the license at {endpoint}/{repo_id}, then {LOGIN_HINT}")
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        hint = "check the name (OWNER/REPO)" + ("" if has_token else f"; for a private repo {LOGIN_HINT}")
        return HubNotFoundError(f"no model repo {repo_id} on the Hub", hint=hint)
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return HubNotFoundError(f"{repo_id} has no such revision", hint="use a branch name, tag or commit of the repo")
    if isinstance(exc, hf_errors.EntryNotFoundError):
        return HubNotFoundError(f"no file {path} in {repo_id}" if path else f"file not found in {repo_id}",
                                hint=f"list its files with `localai-tui files {repo_id}`")
    if isinstance(exc, hf_errors.HfHubHTTPError) or isinstance(exc, httpx2.HTTPStatusError):
        return _from_status(exc, what, has_token)
    if isinstance(exc, httpx2.TimeoutException):
        limit = f" within {timeout_s:g} s" if timeout_s else " in time"
        from urllib.parse import urlsplit

        host = urlsplit(endpoint).netloc or endpoint
        return HubTimeoutError(f"the Hub at {host} did not answer{limit} ({what})",
                               hint="check your connection, or raise HF_HUB_DOWNLOAD_TIMEOUT (seconds)")
    if isinstance(exc, (httpx2.ConnectError, httpx2.NetworkError, httpx2.RemoteProtocolError, httpx2.ProxyError)):
        reason = _reason(exc)
        return HubUnreachableError(f"cannot reach the Hub at {endpoint}: {reason}",
                                   hint="check your network or proxy; HF_HUB_OFFLINE=1 uses cached files only")
    return HubError(f"Hub request failed for {what}: {type(exc).__name__}")


def _from_status(exc: BaseException, what: str, has_token: bool) -> HubError:
    status = _status(exc) or 0
    if status == 429:
        wait = _retry_after(exc)
        when = f"wait {wait} s and try again" if wait is not None else "wait a minute and try again"
        return HubRateLimitError(f"the Hub is rate-limiting requests (HTTP 429) for {what}",
                                 hint=when + ("" if has_token else f"; {LOGIN_HINT} for higher limits"),
                                 retry_after_s=wait)
    if status >= 500:
        return HubServerError(f"the Hub answered HTTP {status} (a server error) for {what}",
                              hint="try again in a few minutes; see https://status.huggingface.co")
    if status == 401:
        if has_token:
            return HubAuthError("the Hub rejected your token (invalid or expired)",
                                hint="run `hf auth login` again or fix HF_TOKEN")
        return HubAuthError(f"the Hub requires a login for {what}", hint=LOGIN_HINT)
    if status == 403:
        return HubAuthError(f"the Hub refused access to {what} (HTTP 403)",
                            hint="check that your token has read access" if has_token else LOGIN_HINT)
    if status == 404:
        return HubNotFoundError(f"not found on the Hub: {what}")
    return HubError(f"the Hub answered HTTP {status} for {what}")


def _reason(exc: BaseException) -> str:
    """A short cause ("connection refused") without URLs or headers."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    lowered = text.lower()
    for needle, reason in (("refused", "connection refused"), ("name or service", "host name not found"),
                           ("nodename nor servname", "host name not found"), ("getaddrinfo", "host name not found"),
                           ("unreachable", "network unreachable"), ("reset", "connection reset"),
                           ("incomplete", "connection dropped mid-transfer"), ("closed", "connection closed"),
                           ("ssl", "TLS/SSL error"), ("certificate", "TLS certificate error"),
                           ("proxy", "proxy error")):
        if needle in lowered:
            return reason
    return type(exc).__name__


#: Failures that say nothing about the answer itself: the last cached answer may stand in.
TRANSIENT_ERRORS = (HubOfflineError, HubUnreachableError, HubTimeoutError, HubRateLimitError, HubServerError)
