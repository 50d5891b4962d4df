"""llama-bench style throughput: the method, the statistics and the ``bench`` command."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from tui.core.engine.bench import BenchResult


def test_result_statistics_follow_llama_bench():
    result = BenchResult("pp512", 512, 0, samples_seconds=(0.5, 0.25, 0.125), llama_tokens_per_s=2000.0)
    assert result.samples_tokens_per_s == (1024.0, 2048.0, 4096.0)
    assert result.mean_tokens_per_s == pytest.approx(7168 / 3)
    assert result.stddev_tokens_per_s == pytest.approx(statistics.stdev([1024, 2048, 4096]))  # n-1, as llama-bench
    single = BenchResult("tg128", 0, 128, samples_seconds=(0.5,), llama_tokens_per_s=256.0)
    assert single.stddev_tokens_per_s == 0.0
    data = single.to_dict()
    assert data["avg_ts"] == 256.0 and data["samples_ns"] == [500_000_000]


def test_bench_runs_pp_and_tg_on_the_engine(stories_model):
    pytest.importorskip("llama_cpp")
    from tui.core.engine.bench import run_bench
    from tui.core.engine.errors import EngineError
    from tui.core.engine.runtime import Engine
    from tui.core.fit.settings import LlamaSettings

    with Engine.load(stories_model, LlamaSettings(n_ctx=256, n_threads=1)) as engine:
        progress = []
        results = run_bench(engine, n_prompt=128, n_gen=32, repetitions=3,
                            on_progress=lambda *args: progress.append(args))
        assert [r.test for r in results] == ["pp128", "tg32"]
        assert all(len(r.samples_seconds) == 3 and r.mean_tokens_per_s > 0 for r in results)
        assert progress == [("pp128", i, 3) for i in (1, 2, 3)] + [("tg32", i, 3) for i in (1, 2, 3)]
        # llama.cpp's counters over the same runs tell the same story (they leave out Python's overhead).
        pp, tg = results
        assert pp.llama_tokens_per_s == pytest.approx(pp.mean_tokens_per_s, rel=0.35)
        assert tg.llama_tokens_per_s == pytest.approx(tg.mean_tokens_per_s, rel=0.35)
        assert engine.kv_tokens == []
        only_tg = run_bench(engine, n_prompt=0, n_gen=8, repetitions=1, warmup=False)
        assert [r.test for r in only_tg] == ["tg8"]
        with pytest.raises(EngineError, match="does not fit the 256-token context"):
            run_bench(engine, n_prompt=1000, n_gen=0)
        with pytest.raises(EngineError, match="repetitions"):
            run_bench(engine, repetitions=0)


def test_bench_command_json_and_table(stories_model):
    pytest.importorskip("llama_cpp")
    base = [sys.executable, "-m", "tui", "bench", str(stories_model), "-p", "64", "-n", "16", "-r", "2", "-t", "1"]
    done = subprocess.run(base + ["--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    data = json.loads(done.stdout)
    assert [r["test"] for r in data["results"]] == ["pp64", "tg16"]
    assert all(r["avg_ts"] > 0 and len(r["samples_ts"]) == 2 for r in data["results"])
    assert data["backend"] == "CPU" and data["info"]["n_threads"] == 1

    table = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == ["model", "size", "params", "backend",
                                                                     "threads", "test", "t/s"]
    assert " pp64 " in lines[2] and " tg16 " in lines[3] and " ± " in lines[2]
    assert "1.12 MiB" in lines[2] and "292.8 K" in lines[2]
