"""Which model for my box, against the loopback fake Hub: rankings agree with ``fit``, only headers are read.

The Hub holds the default catalog plus the Advisor's repos (dense 32B, MoE 30B-A3B, sliding
window, gated, split, vision, embedding, non-commercial): 14 public GGUF repos, all of them
ranked by a request for 20.
"""

from __future__ import annotations

import pytest

from tests.advisor_fixtures import CPU_BOX, GPU_BOX, repo_by_id
from tests.hub_fixtures.catalog import advisor_repos
from tui.core.errors import LocalAIError
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.reader import DEFAULT_MAX_CHUNK


def _recommend(box=GPU_BOX, **request):
    from tui.core.advisor.recommend import RecommendRequest, recommend_models

    return recommend_models(RecommendRequest(**request), box, LlamaSettings())


def _exact_fit(spec: str, profile, settings):
    """What ``localai-tui fit SPEC`` computes: the label's own header, read the way ``fit`` reads it."""
    from tui.core.fit.estimate import estimate_fit
    from tui.core.hub.model_spec import load_model_anatomy

    return estimate_fit(load_model_anatomy(spec), profile, settings)


def test_twenty_repos_ranked_from_headers_only(advisor_hub):
    ranking = _recommend(limit=20)
    public = [r for r in advisor_repos() if "gguf" in r.all_tags and not r.private]
    assert len(ranking.repos) == len(public) == 14
    served = {key: n for key, n in advisor_hub.bytes_served.items() if n}
    assert served and all(key.endswith(".gguf") for key in served)  # no imatrix, README, weights
    header_sizes = {}
    for key, n in served.items():
        repo_id, path = key.split("/", 2)[:2], key.split("/", 2)[2]
        file = repo_by_id("/".join(repo_id)).file(path)
        header_sizes[key] = len(file.prefix)
        assert n <= len(file.prefix) + DEFAULT_MAX_CHUNK  # a header and at most one chunk past it
        assert n < file.size or file.size <= len(file.prefix) + DEFAULT_MAX_CHUNK
    assert sum(served.values()) <= sum(size + DEFAULT_MAX_CHUNK for size in header_sizes.values())
    assert ranking.bytes_fetched == sum(served.values())
    # every header is cached on disk: ranking again costs the Hub no file bytes at all
    advisor_hub.reset_counters()
    again = _recommend(limit=20)
    assert not any(advisor_hub.bytes_served.values())
    assert [(a.repo_id, a.best and a.best.label) for a in again.repos] == \
        [(a.repo_id, a.best and a.best.label) for a in ranking.repos]


def test_every_label_ranked_as_fitting_is_one_fit_says_fits(advisor_hub):
    for box in (GPU_BOX, CPU_BOX):
        ranking = _recommend(box, limit=20, min_tokens_per_s=5)
        picks = [p for advice in ranking.repos for p in advice.picks]
        assert len(picks) >= 10
        for pick in picks:
            exact = _exact_fit(pick.spec, box, pick.placement.settings)
            assert exact.fits and exact.verdict == pick.placement.verdict
            assert exact.est_tokens_per_s == pytest.approx(pick.tokens_per_s)
            assert exact.est_tokens_per_s >= ranking.request.min_tokens_per_s


def test_best_label_is_the_best_that_qualifies_and_runner_ups_get_faster(advisor_hub):
    from tui.core.advisor.placement import best_placement
    from tui.core.advisor.recommend import NEAR_LOSSLESS_BITS, RUNNER_UP_SPEEDUP
    from tui.core.hub.remote_header import read_group_anatomy
    from tui.core.hub.repo_files import group_repo_files
    from tui.core.hub.repo_listing import fetch_repo_listing

    ranking = _recommend(GPU_BOX, limit=20)
    for advice in ranking.repos:
        if advice.best is None or advice.repo_id.startswith("ggml-org/"):  # ggml-org/models mixes models
            continue
        listing = fetch_repo_listing(advice.repo_id)
        qualifying = []
        for group in group_repo_files(listing).groups:
            anatomy, _ = read_group_anatomy(listing.repo_id, listing.commit, group.files)
            placement = best_placement(anatomy, GPU_BOX, LlamaSettings(n_ctx=advice.n_ctx))
            if placement.fits and placement.tokens_per_s >= ranking.request.min_tokens_per_s \
                    and anatomy.bits_per_weight >= ranking.request.min_bits:
                qualifying.append((min(anatomy.bits_per_weight, NEAR_LOSSLESS_BITS), placement.tokens_per_s))
        best = advice.best
        assert (best.quality, best.tokens_per_s) == pytest.approx(max(qualifying))
        previous = best
        for runner_up in advice.runner_ups:
            assert runner_up.quality <= previous.quality
            assert runner_up.tokens_per_s > RUNNER_UP_SPEEDUP * previous.tokens_per_s
            previous = runner_up


def test_moe_models_rank_with_their_experts_in_ram(advisor_hub):
    ranking = _recommend(GPU_BOX, text="qwen3-30b")
    advice = ranking.repos[0]
    assert advice.repo_id == "unsloth/Qwen3-30B-A3B-GGUF" and advice.is_moe
    assert advice.best.label == "Q8_0"  # 30 GiB on a 12 GiB card: most experts stay in RAM, still fast enough
    assert advice.best.placement.n_cpu_moe > 0
    assert advice.best.placement.estimate.n_gpu_layers == advice.best.placement.estimate.n_layers_total
    assert [p.label for p in advice.runner_ups][:1] == ["UD-Q4_K_XL"]


def test_tasks_licenses_gates_and_reasons(advisor_hub):
    ranking = {a.repo_id: a for a in _recommend(CPU_BOX, limit=20).repos}
    assert ranking["bartowski/L3-8B-Stheno-v3.2-GGUF"].flags == ("non-commercial",)
    assert ranking["bartowski/L3-8B-Stheno-v3.2-GGUF"].license == "cc-by-nc-4.0"
    assert "roleplay" in ranking["bartowski/L3-8B-Stheno-v3.2-GGUF"].tasks
    assert ranking["Qwen/Qwen3-Embedding-0.6B-GGUF"].tasks == ("embedding",)
    assert ranking["bartowski/Qwen2.5-Coder-32B-Instruct-GGUF"].tasks == ("chat", "code")
    assert set(ranking["unsloth/gemma-3-4b-it-GGUF"].tasks) >= {"chat", "vision"}  # from its projector
    assert ranking["unsloth/Qwen3-30B-A3B-GGUF"].flags == ()  # apache-2.0, open
    gated = ranking["google/gemma-3-1b-it-qat-q4_0-gguf"]
    assert gated.best is None and "gated" in gated.flags and gated.reason.startswith("gated:")
    coder = ranking["bartowski/Qwen2.5-Coder-32B-Instruct-GGUF"]
    assert coder.best is None and coder.reason.startswith("too slow:")  # 1-2 t/s from DDR4
    tiny = ranking["ggml-org/tinygemma3-GGUF"]  # trained for 1024 tokens: the default context follows it
    assert tiny.best is not None and tiny.n_ctx == 1024
    ranked = [a for a in _recommend(CPU_BOX, limit=20).repos if a.best is not None]
    assert [a.n_params for a in ranked] == sorted((a.n_params for a in ranked), reverse=True)


def test_a_context_beyond_training_and_a_speed_nobody_reaches(advisor_hub):
    ranking = {a.repo_id: a for a in _recommend(GPU_BOX, text="llama", n_ctx=65536).repos}
    assert ranking["TheBloke/Llama-2-7B-Chat-GGUF"].reason == \
        "trained for 4,096 tokens of context, fewer than the 65,536 asked"
    assert ranking["bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"].best.placement.estimate.n_ctx == 65536
    fast = _recommend(CPU_BOX, text="qwen2.5-7b", min_tokens_per_s=500)
    assert all(a.best is None and a.reason.startswith("too slow") for a in fast.repos)
    big = _recommend(CPU_BOX.with_changes(ram_bytes=4 * 1024**3), text="qwen2.5-coder")
    assert big.repos[0].reason.startswith("too big: even Q3_K_M")


@pytest.mark.parametrize("rank_by", ["quality", "speed", "downloads"])
def test_rank_orders(advisor_hub, rank_by):
    ranking = _recommend(GPU_BOX, author="bartowski", rank_by=rank_by)
    ranked = [a for a in ranking.repos if a.best is not None]
    assert len(ranked) >= 2
    if rank_by == "quality":
        values = [(a.best.quality, a.best.tokens_per_s) for a in ranked]
    elif rank_by == "speed":
        values = [a.best.tokens_per_s for a in ranked]
    else:
        values = [a.downloads for a in ranked]
    assert values == sorted(values, reverse=True)
    assert all(a.repo_id.startswith("bartowski/") for a in ranking.repos)


def test_bad_requests_are_one_clear_error():
    from tui.core.advisor.recommend import RecommendRequest

    for bad, message in ((dict(limit=0), "--limit"), (dict(min_tokens_per_s=-1), "--min-tps"),
                         (dict(min_bits=99), "--min-bits"), (dict(rank_by="vibes"), "unknown ranking"),
                         (dict(n_ctx=0), "at least 1 token"), (dict(runner_ups=-1), "--runner-ups")):
        with pytest.raises(LocalAIError, match=message):
            RecommendRequest(**bad).check()


def test_search_results_keep_the_hub_tags(advisor_hub):
    from tui.core.hub.search import SearchResult, search_models

    result = search_models("coder").results[0]
    assert "code" in result.tags and "conversational" in result.tags
    assert SearchResult.from_dict(result.to_dict()) == result
    old = {k: v for k, v in result.to_dict().items() if k != "tags"}  # a page cached before tags were kept
    assert SearchResult.from_dict(old).tags == ()


def test_hub_down_during_a_ranking_is_a_reason_not_a_crash(advisor_hub):
    advisor_hub.inject(500, path_contains="/api/models/bartowski/Qwen2.5-Coder", times=5)
    ranking = {a.repo_id: a for a in _recommend(GPU_BOX, text="qwen2.5").repos}
    assert ranking["bartowski/Qwen2.5-Coder-32B-Instruct-GGUF"].reason.startswith("Hub:")
    assert ranking["Qwen/Qwen2.5-7B-Instruct-GGUF"].best is not None
