"""``localai-tui recommend`` and ``localai-tui compare``: tables, JSON, and agreement with ``localai-tui fit``."""

from __future__ import annotations

import json

import pytest

from tui.cli import main

MOE_SPEC = "unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M"
DENSE_SPEC = "bartowski/Qwen2.5-Coder-32B-Instruct-GGUF:Q4_K_M"
BOXES = ["RTX 3060 12GB", "RTX 3060 12GB+DDR5-6000 dual channel", "Tesla P40 24GB", "cpu", "Apple M4 Pro 48GB",
         "RTX 3060 12GB+RTX 3060 12GB"]


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _fit_argv(spec: str, box: dict, ram_gib: float | None) -> list[str]:
    """``localai-tui fit`` for one compare column: its box and its placement, as flags."""
    argv = ["fit", spec, "--json", "-c", str(box["estimate"]["settings"]["n_ctx"])]
    if box["spec"].casefold() not in ("auto", ""):
        for part in box["spec"].split("+"):
            argv += ["--gpu", part]
    if ram_gib is not None and not box["profile"]["unified_memory"]:
        argv += ["--ram", str(ram_gib)]
    ngl = box["estimate"]["settings"]["n_gpu_layers"]
    argv += ["-ngl", "all" if ngl is None else str(ngl)]
    if box["n_cpu_moe"]:
        argv += ["--n-cpu-moe", str(box["n_cpu_moe"])]
    return argv


@pytest.mark.parametrize("spec", [MOE_SPEC, DENSE_SPEC])
def test_compare_columns_match_fit_run_per_box(advisor_hub, capsys, spec):
    argv = ["compare", spec, "--ram", "64", "-c", "8192", "--json"]
    for box in BOXES:
        argv += ["--gpu", box]
    out = _json(capsys, argv)
    assert [b["title"] for b in out["boxes"]] == BOXES and out["placement_searched"]
    assert out["settings"]["n_ctx"] == 8192 and out["settings"]["n_gpu_layers"] is None  # as asked
    for box in out["boxes"]:
        fit = _json(capsys, _fit_argv(spec, box, 64))
        assert fit["verdict"] == box["verdict"]
        assert fit["est_tokens_per_s"] == box["est_tokens_per_s"]
        assert fit["n_gpu_layers"] == box["n_gpu_layers"] and fit["n_ctx"] == box["n_ctx"] == 8192
        assert [d["total_bytes"] for d in fit["devices"]] == [d["total_bytes"] for d in box["estimate"]["devices"]]
        assert fit["profile"] == box["profile"]["name"]


def test_compare_table_wraps_to_the_terminal_and_names_the_fastest(advisor_hub, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["compare", MOE_SPEC, "--ram", "64", "--gpu", "RTX 3060 12GB", "--gpu", "RTX 3090",
                 "--gpu", "DDR5-6000 dual channel", "--gpu", "Apple M4 Pro 48GB"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(MOE_SPEC) and "MoE, 8 of 128 experts per token" in lines[0]
    assert all(len(line) <= 80 for line in lines[2:-2])  # the table itself fits 80 columns
    assert sum(1 for line in lines if line.startswith("tokens/s")) == 2  # two blocks of columns
    assert "experts of 21/48 layers in RAM" in out
    assert out.rstrip().splitlines()[-1].startswith("Fastest: RTX 3090, ~")


def test_compare_defaults_to_this_machine_and_the_catalog_picks(advisor_hub, capsys, monkeypatch):
    from tests.advisor_fixtures import CPU_BOX
    from tui.core.advisor.compare import default_box_specs

    monkeypatch.setattr("tui.core.hardware.profiles.detect_profile", lambda: CPU_BOX)
    out = _json(capsys, ["compare", DENSE_SPEC, "--json"])
    titles = [b["title"] for b in out["boxes"]]
    assert titles == ["this machine"] + [title for title, _ in default_box_specs()]
    assert out["boxes"][0]["profile"]["name"] == CPU_BOX.name
    assert all(b["n_ctx"] == 4096 for b in out["boxes"])  # fit's default context


def test_compare_sweep_table_and_json(advisor_hub, capsys):
    assert main(["compare", MOE_SPEC, "--ram", "64", "--gpu", "RTX 3060 12GB", "--sweep"]) == 0
    out = capsys.readouterr().out
    assert "context sweep on RTX 3060 12GB" in out and "longest context that fits: 40k tokens" in out
    sweep = out[out.index("context sweep"):].splitlines()
    assert [line.split()[0] for line in sweep[3:11]] == ["512", "1k", "2k", "4k", "8k", "16k", "32k", "40k"]
    data = _json(capsys, ["compare", MOE_SPEC, "--ram", "64", "--gpu", "RTX 3060 12GB", "--gpu", "cpu", "--sweep",
                          "--json"])
    assert [s["title"] for s in data["sweep"]] == ["RTX 3060 12GB", "cpu"]
    points = data["sweep"][0]["points"]
    assert [p["n_ctx"] for p in points][-1] == 40960
    assert [p["n_cpu_moe"] for p in points] == sorted(p["n_cpu_moe"] for p in points)


def test_compare_keeps_a_placement_the_user_fixed(advisor_hub, capsys):
    data = _json(capsys, ["compare", DENSE_SPEC, "--ram", "64", "--gpu", "RTX 3090", "--gpu", "RTX 3060 12GB",
                          "-ngl", "20", "--json"])
    assert not data["placement_searched"]
    assert [b["n_gpu_layers"] for b in data["boxes"]] == [20, 20]


def test_recommend_table(advisor_hub, capsys):
    assert main(["recommend", "--gpu", "RTX 3060 12GB", "--ram", "64", "--limit", "20"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "hardware: RTX 3060 12GB (what-if: 64 GiB RAM)"
    header = next(line for line in lines if line.startswith(" #"))
    assert header.split() == ["#", "REPO", "PARAMS", "BEST", "GiB", "T/S", "RUNS", "FASTER", "TASKS", "LICENSE"]
    first = lines[lines.index(header) + 2]
    assert first.split()[:5] == ["1", "unsloth/Qwen3-30B-A3B-GGUF", "30.5B", "MoE", "Q8_0"]
    assert "experts of" in first and "apache-2.0" in first
    assert "cc-by-nc-4.0 (non-commercial)" in out
    below = lines[lines.index("not recommended:") + 1:]
    gated = next(line for line in below if line.strip().startswith("google/gemma-3-1b-it-qat-q4_0-gguf"))
    assert gated.split()[1] == "gated:"


def test_recommend_json_picks_are_what_fit_says(advisor_hub, capsys):
    data = _json(capsys, ["recommend", "--gpu", "RTX 3060 12GB", "--ram", "64", "--author", "bartowski",
                          "--min-tps", "10", "--runner-ups", "1", "--json"])
    assert data["request"]["author"] == "bartowski" and data["request"]["min_tokens_per_s"] == 10
    picks = [p for repo in data["repos"] for p in ([repo["best"]] if repo["best"] else []) + repo["runner_ups"]]
    assert picks and all(len(repo["runner_ups"]) <= 1 for repo in data["repos"])
    for pick in picks:
        argv = ["fit", pick["spec"], "--gpu", "RTX 3060 12GB", "--ram", "64", "-c", str(pick["n_ctx"]), "--json",
                "-ngl", str(pick["n_gpu_layers"])]
        if pick["n_cpu_moe"]:
            argv += ["--n-cpu-moe", str(pick["n_cpu_moe"])]
        fit = _json(capsys, argv)
        assert fit["fits"] and fit["verdict"] == pick["verdict"]
        assert fit["est_tokens_per_s"] == pick["est_tokens_per_s"] >= 10


@pytest.mark.parametrize(("argv", "message"), [
    (["compare", MOE_SPEC, "--gpu", "RTX 9999 Ultra"], "--gpu 'RTX 9999 Ultra' is not"),
    (["compare", "no/such-repo-GGUF:Q4_K_M", "--gpu", "cpu"], "error:"),
    (["compare", "./missing.gguf", "--gpu", "cpu"], "no such file"),
    (["recommend", "--limit", "0"], "--limit must be between 1 and 100"),
    (["recommend", "--author", "two words"], "is not a Hub user"),
    (["recommend", "--min-tps", "nan"], "--min-tps"),
])
def test_bad_input_is_one_line_and_exit_1(advisor_hub, capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("localai-tui: error:") and message in err[0]


def test_cli_defaults_are_the_cores():
    from tui.commands import recommend as command
    from tui.core.advisor import recommend as core

    assert command.DEFAULT_MIN_TOKENS_PER_S == core.DEFAULT_MIN_TOKENS_PER_S
    assert command.RANKINGS == core.RANK_ORDERS
    parser = __import__("tui.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(["recommend"])
    assert (args.min_bits, args.limit, args.runner_ups) == (core.DEFAULT_MIN_BITS, core.DEFAULT_LIMIT,
                                                            core.DEFAULT_RUNNER_UPS)


def test_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "recommend" in out and "compare" in out
