"""Search the Hub for GGUF model repos: text, author, sort order, page size, next pages.

One request per page to ``/api/models`` with ``filter=gguf`` and ``expand`` for exactly the
fields a result row shows (downloads, likes, last update, gate, license tag, and the Hub's
``gguf`` summary: architecture, parameter count, context length). Items are parsed by
huggingface_hub's own ``ModelInfo``. The next page is the Hub's ``Link: rel="next"`` URL.

Each page is remembered on disk; when the Hub cannot answer (offline, no network, 429, 5xx),
the remembered page comes back with ``stale_because`` set to the reason.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.hub.client import HubClient
from tui.core.hub.errors import TRANSIENT_ERRORS, HubError
from tui.core.hub.listing_cache import load_listing, save_listing

#: The CLI's sort names -> the Hub's sort keys (always descending: most first).
SORT_KEYS = {"downloads": "downloads", "likes": "likes", "trending": "trendingScore", "updated": "lastModified"}
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000  # the Hub's own page-size ceiling

#: The ``expand`` fields a result needs (the Hub returns only these, keeping pages small).
EXPAND_FIELDS = ("author", "downloads", "likes", "lastModified", "gated", "gguf", "tags", "pipeline_tag",
                 "trendingScore")


@dataclass(frozen=True)
class SearchResult:
    """One GGUF repo as a search row. ``n_params`` and ``architecture`` come from the Hub's ``gguf`` summary."""

    repo_id: str
    author: str | None
    downloads: int
    likes: int
    last_modified: str | None  # ISO 8601, UTC
    gated: str | bool  # False, "auto" or "manual"
    license: str | None
    architecture: str | None
    n_params: int | None
    context_length: int | None  # tokens
    pipeline_tag: str | None
    trending_score: int | None
    tags: tuple[str, ...] = ()  # the Hub's tags ("conversational", "code", "license:mit" ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchResult:
        fields_: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        fields_["tags"] = tuple(t for t in fields_["tags"] or () if isinstance(t, str))
        return cls(**fields_)


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    author: str | None = None
    sort: str = "downloads"
    limit: int = DEFAULT_LIMIT

    def params(self) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("filter", "gguf")]
        if self.text:
            params.append(("search", self.text))
        if self.author:
            params.append(("author", self.author))
        params += [("sort", SORT_KEYS[self.sort]), ("direction", "-1"), ("limit", str(self.limit))]
        params += [("expand", name) for name in EXPAND_FIELDS]
        return params


@dataclass(frozen=True)
class SearchPage:
    """One page of results; ``next_url`` fetches the next. ``stale_because``: why these are cached results."""

    query: SearchQuery
    results: tuple[SearchResult, ...]
    next_url: str | None
    fetched_at: float
    stale_because: HubError | None = None


def check_query(text: str = "", author: str | None = None, sort: str = "downloads",
                limit: int = DEFAULT_LIMIT) -> SearchQuery:
    """A validated query; bad values raise one ``LocalAIError``."""
    if sort not in SORT_KEYS:
        raise LocalAIError(f"unknown sort '{sort}'", hint=f"use one of: {', '.join(SORT_KEYS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise LocalAIError(f"--limit must be between 1 and {MAX_LIMIT}, not {limit}")
    author = (author or "").strip() or None
    if author and ("/" in author or " " in author):
        raise LocalAIError(f"'{author}' is not a Hub user or organization name", hint="e.g. --author unsloth")
    return SearchQuery((text or "").strip(), author, sort, limit)


def search_models(text: str = "", *, author: str | None = None, sort: str = "downloads",
                  limit: int = DEFAULT_LIMIT, client: HubClient | None = None) -> SearchPage:
    """The first page of GGUF repos matching ``text`` (in the repo name), most downloaded first by default."""
    query = check_query(text, author, sort, limit)
    client = client or HubClient()
    return _fetch_page(query, f"{client.endpoint}/api/models", query.params(), client)


def next_search_page(page: SearchPage, client: HubClient | None = None) -> SearchPage | None:
    """The page after ``page``, or None at the end."""
    if not page.next_url:
        return None
    return _fetch_page(page.query, page.next_url, None, client or HubClient())


def _fetch_page(query: SearchQuery, url: str, params: list[tuple[str, str]] | None, client: HubClient) -> SearchPage:
    key = f"{client.endpoint}|{url}|{params!r}"
    try:
        items, response = client.get_json(url, params=params)
    except TRANSIENT_ERRORS as exc:
        cached = load_listing("search", key)
        if cached is None:
            raise
        data = cached.data
        return SearchPage(query, tuple(SearchResult.from_dict(r) for r in data["results"]), data.get("next_url"),
                          cached.fetched_at, stale_because=exc)
    if not isinstance(items, list):
        raise HubError("the Hub sent an unexpected answer to a search", hint="check HF_ENDPOINT")
    results = tuple(result_from_item(item) for item in items if isinstance(item, dict) and item.get("id"))
    next_url = response.links.get("next", {}).get("url")
    save_listing("search", key, {"results": [r.to_dict() for r in results], "next_url": next_url})
    return SearchPage(query, results, next_url, time.time())


def result_from_item(item: dict[str, Any]) -> SearchResult:
    """A search row from one ``/api/models`` item, parsed by huggingface_hub's ``ModelInfo``."""
    from huggingface_hub.hf_api import ModelInfo

    info = ModelInfo(**{**item, "siblings": item.get("siblings")})
    return result_from_model_info(info)


def result_from_model_info(info: Any) -> SearchResult:
    gguf = info.gguf if isinstance(info.gguf, dict) else {}
    return SearchResult(
        repo_id=info.id,
        author=info.author or info.id.split("/")[0],
        downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        last_modified=info.last_modified.isoformat() if info.last_modified else None,
        gated=info.gated if info.gated in ("auto", "manual") else False,
        license=license_of(info),
        architecture=_str_or_none(gguf.get("architecture")),
        n_params=_int_or_none(gguf.get("total")),
        context_length=_int_or_none(gguf.get("context_length")),
        pipeline_tag=info.pipeline_tag,
        trending_score=_int_or_none(info.trending_score),
        tags=tuple(t for t in info.tags or () if isinstance(t, str)),
    )


def license_of(info: Any) -> str | None:
    """The repo's license: the model card's, else the Hub's ``license:`` tag."""
    card = getattr(info, "card_data", None)
    license_ = getattr(card, "license", None) if card is not None else None
    if isinstance(license_, str) and license_:
        return license_
    for tag in info.tags or ():
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
