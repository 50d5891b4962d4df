"""Searching the Hub for GGUF repos: query, author, sort, limit, paging, cached answers; the CLI."""

from __future__ import annotations

import json

import pytest

from tui.core.errors import LocalAIError


def test_results_carry_what_a_row_shows(hub_env):
    from tui.core.hub.search import search_models

    page = search_models("qwen3")
    assert [r.repo_id for r in page.results] == ["unsloth/Qwen3-30B-A3B-GGUF"]
    r = page.results[0]
    assert (r.author, r.architecture, r.license, r.gated) == ("unsloth", "qwen3moe", "apache-2.0", False)
    assert r.n_params == 30_532_122_624 and r.context_length == 40960
    assert r.downloads == 210_000 and r.likes == 700 and r.last_modified.startswith("2025-06-12")
    request = hub_env.requests_for("/api/models?")[0].path
    assert "filter=gguf" in request and "expand=gguf" in request and "sort=downloads" in request


def test_gguf_filter_author_and_gate(hub_env):
    from tui.core.hub.search import search_models

    all_ids = [r.repo_id for r in search_models(limit=100).results]
    assert "meta-llama/Llama-3.1-8B-Instruct" not in all_ids  # safetensors only
    assert "someuser/private-stories-GGUF" not in all_ids  # private
    gemma = search_models("gemma").results[0]
    assert gemma.gated == "manual"
    assert {r.author for r in search_models(author="unsloth").results} == {"unsloth"}


@pytest.mark.parametrize(("sort", "field"), [("downloads", "downloads"), ("likes", "likes"),
                                             ("trending", "trending_score"), ("updated", "last_modified")])
def test_sort_orders_most_first(hub_env, sort, field):
    from tui.core.hub.search import search_models

    values = [getattr(r, field) for r in search_models(sort=sort, limit=50).results]
    assert len(values) >= 8 and values == sorted(values, reverse=True)


def test_limit_and_next_pages(hub_env):
    from tui.core.hub.search import next_search_page, search_models

    first = search_models(limit=3)
    assert len(first.results) == 3 and first.next_url
    seen = [r.repo_id for r in first.results]
    page = first
    while (page := next_search_page(page)) is not None:
        seen += [r.repo_id for r in page.results]
    assert len(seen) == len(set(seen)) == len(search_models(limit=100).results)


@pytest.mark.parametrize("kwargs", [{"sort": "stars"}, {"limit": 0}, {"limit": 5000}, {"author": "a/b"}])
def test_bad_queries_are_one_clear_error(hub_env, kwargs):
    from tui.core.hub.search import search_models

    with pytest.raises(LocalAIError):
        search_models("x", **kwargs)
    assert hub_env.requests == []


def test_a_failing_hub_falls_back_to_the_last_answer(hub_env):
    from tui.core.hub.errors import HubServerError
    from tui.core.hub.search import search_models

    fresh = search_models("llama")
    hub_env.inject(503, "/api/models")
    stale = search_models("llama")
    assert isinstance(stale.stale_because, HubServerError)
    assert stale.results == fresh.results
    hub_env.inject(503, "/api/models")
    with pytest.raises(HubServerError):
        search_models("never searched before")


def test_cli_search_table_and_json(hub_env, capsys):
    from tui.cli import main

    assert main(["search", "llama", "--sort", "likes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["REPO", "PARAMS", "ARCH"]
    assert out[1].startswith("TheBloke/Llama-2-7B-Chat-GGUF")  # 480 likes: the most
    assert "6.74 B" in out[1] and "llama2" in out[1]
    assert main(["search", "--author", "bartowski", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["repo_id"] for d in data] == ["bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"]
    assert data[0]["n_params"] == 8_030_261_248
    assert main(["search", "no-such-model-anywhere"]) == 0
    assert "no GGUF repos found" in capsys.readouterr().out


def test_cli_search_shows_cached_results_with_a_warning(hub_env, capsys):
    from tui.cli import main

    assert main(["search", "qwen"]) == 0
    first = capsys.readouterr().out
    hub_env.inject(429, "/api/models", retry_after=30)
    assert main(["search", "qwen"]) == 0
    out, err = capsys.readouterr()
    assert out == first
    assert err.startswith("localai-tui: warning: the Hub is rate-limiting requests (HTTP 429)")
    assert "wait 30 s" in err and err.count("\n") == 1
