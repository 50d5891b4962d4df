"""The Advisor's data file, ``tui/data/advisor.toml``: task rules, license kinds, default boxes.

Read once per process and checked as it is read: a broken file is one ``LocalAIError``
naming the entry at fault, never a half-read table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.toml_io import read_packaged_toml

DATA_RESOURCE = "advisor.toml"

#: License kinds, from most to least permissive; "unknown" when the id is not in the data file.
LICENSE_OPEN = "open"
LICENSE_TERMS = "terms"
LICENSE_NON_COMMERCIAL = "non-commercial"
LICENSE_UNKNOWN = "unknown"
LICENSE_KINDS = (LICENSE_OPEN, LICENSE_TERMS, LICENSE_NON_COMMERCIAL, LICENSE_UNKNOWN)


@dataclass(frozen=True)
class TaskRule:
    """When a repo does ``name``: any of its pipeline tags, Hub tags, name words or side-file kinds."""

    name: str
    pipeline_tags: frozenset[str] = frozenset()
    hub_tags: frozenset[str] = frozenset()
    name_words: frozenset[str] = frozenset()
    side_files: frozenset[str] = frozenset()
    chat_template: bool = False


@dataclass(frozen=True)
class AdvisorData:
    """``tui/data/advisor.toml`` parsed: task rules in display order, license id -> kind, and the
    boxes ``compare`` shows by default as (column title, ``--gpu`` spec) pairs."""

    tasks: tuple[TaskRule, ...]
    license_kinds: dict[str, str]
    compare_profiles: tuple[tuple[str, str], ...] = ()


@functools.lru_cache(maxsize=1)
def load_advisor_data() -> AdvisorData:
    """The packaged data file, read and checked once per process."""
    return parse_advisor_data(read_packaged_toml(DATA_RESOURCE))


def parse_advisor_data(data: dict[str, Any]) -> AdvisorData:
    """Check and build the rules; a broken file is a ``LocalAIError`` naming the problem."""
    tasks = []
    seen: set[str] = set()
    for entry in data.get("task", []):
        name = entry.get("name")
        if not isinstance(name, str) or not name or name in seen:
            raise LocalAIError(f"{DATA_RESOURCE}: a [[task]] has no name or a duplicate one ({name!r})")
        seen.add(name)
        tasks.append(TaskRule(
            name=name,
            pipeline_tags=_words(entry, "pipeline_tags", name),
            hub_tags=_words(entry, "hub_tags", name),
            name_words=_words(entry, "name_words", name),
            side_files=_words(entry, "side_files", name),
            chat_template=bool(entry.get("chat_template", False)),
        ))
    kinds: dict[str, str] = {}
    licenses = data.get("license", {})
    for kind in (LICENSE_OPEN, LICENSE_TERMS, LICENSE_NON_COMMERCIAL):
        for license_id in licenses.get(kind.replace("-", "_"), []):
            key = str(license_id).lower()
            if key in kinds:
                raise LocalAIError(f"{DATA_RESOURCE}: license '{key}' is listed as both {kinds[key]} and {kind}")
            kinds[key] = kind
    boxes = []
    for entry in data.get("compare_profile", []):
        title, spec = entry.get("title"), entry.get("spec")
        if not (isinstance(title, str) and title and isinstance(spec, str) and spec):
            raise LocalAIError(f"{DATA_RESOURCE}: a [[compare_profile]] needs a title and a spec")
        boxes.append((title, spec))
    return AdvisorData(tuple(tasks), kinds, tuple(boxes))


def _words(entry: dict[str, Any], key: str, task: str) -> frozenset[str]:
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise LocalAIError(f"{DATA_RESOURCE}: task '{task}': {key} must be a list of words")
    return frozenset(v.lower() for v in values)
