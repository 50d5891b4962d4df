"""Fit badges per quant row: exact from a header, estimated from the file size otherwise; few bytes read."""

from __future__ import annotations

import json

import pytest

from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.sizes import GiB

BARTOWSKI = "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"


def _box(vram_gib: float, ram_gib: float) -> HardwareProfile:
    gpus = (GpuSpec("test GPU", int(vram_gib * GiB), 360.0),) if vram_gib else ()
    return HardwareProfile(f"test box {vram_gib} GiB", gpus=gpus, ram_bytes=int(ram_gib * GiB), ram_bandwidth_gbps=60.0)


def _quants(repo_id: str):
    from tui.core.hub.repo_files import group_repo_files
    from tui.core.hub.repo_listing import fetch_repo_listing

    return group_repo_files(fetch_repo_listing(repo_id))


def _served_files(hub, repo_id: str) -> set[str]:
    return {k.removeprefix(repo_id + "/") for k, v in hub.bytes_served.items() if k.startswith(repo_id) and v}


@pytest.mark.parametrize("repo_id", [BARTOWSKI, "unsloth/Qwen3-30B-A3B-GGUF", "Qwen/Qwen2.5-7B-Instruct-GGUF"])
def test_size_estimates_keep_the_shapes_and_match_the_file_sizes(hub_env, repo_id):
    from tui.core.hub.badges import group_anatomy
    from tui.core.hub.size_anatomy import anatomy_for_size

    quants = _quants(repo_id)
    reference = group_anatomy(quants, quants.groups[0])
    for group in quants.groups[1:]:
        real = group_anatomy(quants, group)
        estimate = anatomy_for_size(reference, group.size_bytes, group.shards)
        assert [(t.name, t.shape) for t in estimate.tensors] == [(t.name, t.shape) for t in real.tensors]
        assert estimate.tensor_bytes == pytest.approx(real.tensor_bytes, rel=1e-3)
        assert estimate.file_size == real.file_size and estimate.n_shards == real.n_shards
        norms = [t for t in estimate.tensors if t.name.endswith("norm.weight")]
        assert norms and all(t.type_name == "F32" for t in norms)


def test_one_header_is_read_for_a_whole_repo(hub_env):
    from tui.core.hub.badges import fit_badges

    quants = _quants(BARTOWSKI)
    badges = fit_badges(quants, _box(12, 32), LlamaSettings())
    assert [b.group_name for b in badges] == [g.name for g in quants.groups]
    assert _served_files(hub_env, BARTOWSKI) == {quants.groups[0].first_path}  # the first (smallest) label only
    assert [b.source for b in badges] == ["header"] + ["size"] * (len(badges) - 1)
    hub_env.reset_counters()
    exact = fit_badges(quants, _box(12, 32), LlamaSettings(), read_headers=True)
    assert all(b.source == "header" for b in exact)
    assert _served_files(hub_env, BARTOWSKI) == {g.first_path for g in quants.groups[1:]}  # the first was cached
    for estimated, real in zip(badges, exact, strict=True):  # the size estimate agrees with the header on clear-cut rows
        assert estimated.verdict == real.verdict
        if real.tokens_per_s:
            assert estimated.tokens_per_s == pytest.approx(real.tokens_per_s, rel=0.1)


def test_verdicts_follow_the_hardware(hub_env):
    from tui.core.fit.verdict import Verdict
    from tui.core.hub.badges import fit_badges

    FITS, TIGHT, PARTIAL, NO_FIT = Verdict.FITS, Verdict.TIGHT, Verdict.PARTIAL, Verdict.NO_FIT

    quants = _quants(BARTOWSKI)

    def verdicts(box, ctx=4096):
        return {b.group_name: b for b in fit_badges(quants, box, LlamaSettings(n_ctx=ctx), read_headers=True)}

    roomy = verdicts(_box(24, 64))
    assert roomy["Q4_K_M"].verdict == FITS and roomy["Q4_K_M"].tokens_per_s > 0
    assert roomy["F32"].verdict == PARTIAL and "layers on the GPU" in roomy["F32"].detail
    assert roomy["F32"].tokens_per_s < roomy["Q4_K_M"].tokens_per_s
    small = verdicts(_box(4, 8))
    assert small["F32"].verdict == NO_FIT and small["F32"].tokens_per_s is None
    assert small["Q2_K"].verdict == TIGHT  # 2.9 GiB of weights in 4 GiB: less than llama.cpp's 1 GiB margin left
    cpu = verdicts(_box(0, 16))
    assert cpu["Q4_K_M"].verdict == FITS and cpu["F32"].verdict == NO_FIT


def test_no_header_to_be_had_means_no_badges(hub_env, monkeypatch):
    from tui.core.hub.badges import fit_badges
    from tui.core.hub.errors import HubOfflineError

    quants = _quants(BARTOWSKI)
    assert fit_badges(quants, _box(12, 32), LlamaSettings(), read_reference=False) == []
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOfflineError):
        fit_badges(quants, _box(12, 32), LlamaSettings())


def test_cli_files_with_badges(hub_env, capsys):
    from tui.cli import main

    assert main(["files", BARTOWSKI, "--gpu", "cpu", "--ram", "16", "-c", "8192", "--json"]) == 0
    rows = {r["label"]: r for r in json.loads(capsys.readouterr().out) if not r.get("side_file")}
    assert rows["Q4_K_M"]["fit"]["verdict"] == "fits" and rows["Q4_K_M"]["fit"]["n_ctx"] == 8192
    assert rows["F32"]["fit"]["verdict"] == "no-fit"
    assert main(["files", BARTOWSKI, "--gpu", "cpu", "--ram", "16"]) == 0
    out = capsys.readouterr().out
    assert "FIT" in out.splitlines()[1] and "no-fit*" in out and "4,096 tokens of context" in out


def test_cli_files_without_a_reachable_header_still_lists(hub_env, capsys, monkeypatch):
    from tui.cli import main

    assert main(["files", BARTOWSKI, "--no-fit"]) == 0  # the listing is cached, no header is
    capsys.readouterr()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["files", BARTOWSKI, "--gpu", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "Q4_K_M" in out and "FIT" not in out
    assert "localai-tui: warning: no fit badges: offline mode is on" in err


def test_badges_carry_the_prompt_estimate_with_fits_keys(hub_env, capsys):
    """Prompt tokens/s and time to first token per row: the same figures and JSON keys as ``fit``."""
    from tui.cli import main
    from tui.core.fit.estimate import estimate_fit
    from tui.core.hub.badges import fit_badges, group_anatomy
    from tui.screens.repo import badge_summary

    quants = _quants(BARTOWSKI)
    box = _box(0, 16)
    badges = {b.group_name: b for b in fit_badges(quants, box, LlamaSettings(), read_headers=True)}
    q4 = next(g for g in quants.groups if g.label == "Q4_K_M")
    estimate = estimate_fit(group_anatomy(quants, q4), box, LlamaSettings())
    badge = badges[q4.name]
    assert badge.prompt_tokens == estimate.prompt_tokens == 512
    assert estimate.est_prompt_tokens_per_s > 0 and estimate.est_ttft_s > 0
    assert badge.prompt_tokens_per_s == pytest.approx(estimate.est_prompt_tokens_per_s)
    assert badge.ttft_s == pytest.approx(estimate.est_ttft_s)
    f32 = badges[next(g.name for g in quants.groups if g.label == "F32")]
    assert f32.ttft_s is None and f32.to_dict()["est_ttft_s"] is None  # it does not run: no prompt figure
    assert f"first token in {badge.ttft_text()} (512 tokens)" in str(badge_summary(badge, []))

    assert main(["files", BARTOWSKI, "--gpu", "cpu", "--ram", "16", "--json"]) == 0
    rows = {r["label"]: r["fit"] for r in json.loads(capsys.readouterr().out) if not r.get("side_file")}
    assert rows["Q4_K_M"]["est_prompt_tokens_per_s"] > 0 and rows["Q4_K_M"]["est_ttft_s"] > 0
    assert rows["Q4_K_M"]["prompt_tokens"] == 512 and rows["F32"]["est_ttft_s"] is None
    assert main(["files", BARTOWSKI, "--gpu", "cpu", "--ram", "16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:7] == ["LABEL", "SIZE", "SHARDS", "BPW", "FAMILY", "FIT", "TTFT"]
    q4_line = next(line for line in lines if line.startswith("Q4_K_M"))
    assert len(q4_line.split("  4-bit")[0]) <= 80  # every column but the free text fits 80 columns
    assert any(line.startswith("TTFT: estimated time to the first token") for line in lines)
