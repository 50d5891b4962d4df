"""What a repo is for and what its license allows, from its model card, tags and files.

Specialists (a coder, an embedding model) and generalists (a chat model) can only be compared
if the ranking says which is which, and a model that may not be used commercially must say so
before anyone builds on it. The facts (which tags mean which task, which license ids allow
what) live in ``tui/data/advisor.toml``; this module applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tui.core.advisor.data import (
    LICENSE_NON_COMMERCIAL,
    LICENSE_TERMS,
    LICENSE_UNKNOWN,
    load_advisor_data,
)

#: Task given to a text model none of whose tags or words name a task (a base model).
PLAIN_TEXT_TASK = "text"

_NC_PART = re.compile(r"(?:^|-)nc(?:-|$)")
_WORD = re.compile(r"[a-z0-9]+")


def license_kind(license_id: str | None) -> str:
    """``open``, ``terms``, ``non-commercial`` or ``unknown`` for a Hub license id ("cc-by-nc-4.0" ...)."""
    if not license_id:
        return LICENSE_UNKNOWN
    key = license_id.strip().lower()
    known = load_advisor_data().license_kinds.get(key)
    if known:
        return known
    if _NC_PART.search(key):
        return LICENSE_NON_COMMERCIAL
    return LICENSE_UNKNOWN


def license_flags(license_id: str | None, gated: str | bool) -> tuple[str, ...]:
    """Short warnings for a ranking row: ``non-commercial``, ``gated``, ``license terms``, ``license?``."""
    kind = license_kind(license_id)
    flags = []
    if kind == LICENSE_NON_COMMERCIAL:
        flags.append("non-commercial")
    elif kind == LICENSE_TERMS:
        flags.append("license terms")
    elif kind == LICENSE_UNKNOWN:
        flags.append("license?")
    if gated:
        flags.append("gated")
    return tuple(flags)


def name_words(repo_id: str) -> frozenset[str]:
    """The whole words of a repo's name: ``Qwen2.5-Coder-32B-Instruct-GGUF`` -> qwen2, 5, coder, 32b, instruct, gguf."""
    return frozenset(_WORD.findall(repo_id.split("/")[-1].lower()))


def task_tags(repo_id: str, *, pipeline_tag: str | None = None, hub_tags: Iterable[str] = (),
              side_file_kinds: Iterable[str] = (), has_chat_template: bool = False) -> tuple[str, ...]:
    """The tasks a repo is for (chat, code, vision, embedding ...), in the data file's order.

    A text model that matches no rule is ``text`` (a base model); an embedding or rerank model
    is not also called a chat model because its name says "instruct".
    """
    tags = {t.lower() for t in hub_tags if isinstance(t, str)}
    words = name_words(repo_id)
    sides = {s.lower() for s in side_file_kinds}
    pipeline = (pipeline_tag or "").lower()
    found = []
    for rule in load_advisor_data().tasks:
        if (pipeline in rule.pipeline_tags or tags & rule.hub_tags or words & rule.name_words
                or sides & rule.side_files or (rule.chat_template and has_chat_template)):
            found.append(rule.name)
    if {"embedding", "rerank"} & set(found):
        found = [t for t in found if t not in ("chat", "roleplay")]
    if not found and pipeline in ("", "text-generation"):
        found.append(PLAIN_TEXT_TASK)
    return tuple(found)
