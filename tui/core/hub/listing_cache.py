"""Last-known Hub answers (search pages, repo file lists) on disk, for offline use and bad days.

When the Hub cannot be asked (offline mode, no network, rate limit, server error), the app
shows what it last saw, saying how old it is. Entries are JSON files under the app's cache
dir (``tui.core.paths.cache_dir() / "hub"``), written atomically; a damaged entry reads as
missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.core.paths import cache_dir


@dataclass(frozen=True)
class CachedAnswer:
    data: Any
    fetched_at: float  # seconds since the epoch


def listing_path(kind: str, key: str) -> Path:
    """Where an entry lives: ``<cache>/hub/<kind>/<digest of key>.json``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache_dir() / "hub" / kind / f"{digest}.json"


def save_listing(kind: str, key: str, data: Any) -> None:
    """Store ``data`` (JSON-ready) for ``key``; failures to write are ignored (a cache is optional)."""
    path = listing_path(kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"key": key, "fetched_at": time.time(), "data": data})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except OSError:
        pass


def load_listing(kind: str, key: str) -> CachedAnswer | None:
    """The stored entry for ``key``, or None (never stored, or unreadable)."""
    path = listing_path(kind, key)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or "data" not in entry:
        return None
    try:
        return CachedAnswer(entry["data"], float(entry.get("fetched_at", 0.0)))
    except (TypeError, ValueError):
        return None


def describe_age(seconds: float) -> str:
    """"3 min", "2 h", "5 days": how old a cached answer is, for a warning line."""
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 90 * 60:
        return f"{int(seconds // 60)} min"
    if seconds < 36 * 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"
