"""How long and how much the app waits for and takes from a Hub server before giving up.

httpx's own timeouts bound each socket operation (connect, one read), so a server that sends
one byte every two seconds, or its headers one byte at a time, or redirects to itself, would
hold a request for ever. These limits bound the whole exchange instead:

* ``headers_s``: from sending the request to having the response's status and headers
  (connect and time to first byte included);
* ``stall_s`` / ``stall_bytes``: a body that brings fewer than ``stall_bytes`` in any window of
  ``stall_s`` seconds has stalled (1 byte per 2 s is a stall; a 2 KB/s link is the floor);
* ``answer_s``: the whole of an API answer (JSON: a search page, a repo listing);
* ``max_redirects``: hops followed before a redirect loop is called one;
* ``max_json_bytes``: the largest API answer read (a listing of a million files is refused
  rather than parsed into a GB of objects).

The defaults suit real links; tests and unusual networks set them through the environment
(``LOCALAI_TUI_HUB_HEADERS_S``, ``LOCALAI_TUI_HUB_STALL_S``, ``LOCALAI_TUI_HUB_ANSWER_S``).
Read at call time, like huggingface_hub's own settings.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

HEADERS_S = 30.0
STALL_S = 30.0
STALL_BYTES = 64 * 1024
ANSWER_S = 60.0
MAX_REDIRECTS = 5
MAX_JSON_BYTES = 16 * 1024 * 1024  # ~60,000 files with sizes and sha256: far above any GGUF repo


@dataclass(frozen=True)
class NetworkLimits:
    headers_s: float = HEADERS_S
    stall_s: float = STALL_S
    stall_bytes: int = STALL_BYTES
    answer_s: float = ANSWER_S
    max_redirects: int = MAX_REDIRECTS
    max_json_bytes: int = MAX_JSON_BYTES


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def network_limits() -> NetworkLimits:
    """The limits in force now (environment overrides applied)."""
    return NetworkLimits(
        headers_s=_seconds("LOCALAI_TUI_HUB_HEADERS_S", HEADERS_S),
        stall_s=_seconds("LOCALAI_TUI_HUB_STALL_S", STALL_S),
        answer_s=_seconds("LOCALAI_TUI_HUB_ANSWER_S", ANSWER_S),
    )
