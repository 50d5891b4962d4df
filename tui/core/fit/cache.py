"""Values derived from a ``ModelAnatomy`` once and reused while it lives (the fit engine's memo).

The fit engine runs on every slider tick, so whatever depends only on the model (per-layer
weight totals, the compute-graph shape, per-layer cache geometry) is computed once per
anatomy object. ``ModelAnatomy`` holds dicts and cannot be hashed, so entries are keyed by
the object's identity and dropped when it is garbage-collected.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

from tui.core.gguf.anatomy import ModelAnatomy

T = TypeVar("T")
_CACHE: dict[tuple[int, str], tuple[weakref.ref[ModelAnatomy], object]] = {}


def cached_for(anatomy: ModelAnatomy, key: str, build: Callable[[], T]) -> T:
    """``build()`` for ``(anatomy, key)``, computed on first use and kept while ``anatomy`` lives."""
    slot = (id(anatomy), key)
    hit = _CACHE.get(slot)
    if hit is not None and hit[0]() is anatomy:
        return hit[1]  # type: ignore[return-value]
    value = build()

    def forget(_ref: weakref.ref[ModelAnatomy]) -> None:
        _CACHE.pop(slot, None)

    _CACHE[slot] = (weakref.ref(anatomy, forget), value)
    return value
