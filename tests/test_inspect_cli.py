"""``localai-tui inspect MODEL [--json]``: a readable summary, JSON, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.corpus.make_gguf_corpus import CORPUS_DIR
from tests.test_anatomy_archs import write_header
from tests.test_gguf_reader_split import write_llama
from tui.cli import main
from tui.commands.inspect import describe_per_layer, layer_pattern
from tui.units import format_count, format_size


def run_inspect(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["inspect", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_of_stories260k(capsys, stories_model):
    code, out, err = run_inspect(capsys, stories_model)
    assert code == 0 and err == ""
    lines = {line.split("  ", 2)[1].strip(): line.split("  ")[-1].strip() for line in out.splitlines()[1:] if "  " in line}
    assert lines["architecture"] == "llama"
    assert lines["parameters"] == "292.8 K"
    assert lines["layers"] == "5"
    assert lines["heads"] == "8" and lines["KV heads"] == "4"
    assert lines["head dims"] == "K 8, V 8"
    assert lines["trained context"] == "2,048 tokens"
    assert lines["vocabulary"] == "512 tokens"
    assert lines["bits per weight"] == "32.00"
    assert "1.13 MiB (1,185,376 bytes)" in out
    assert "F32        48  1.12 MiB  100.0%" in out


def test_json_output(capsys, stories_model):
    code, out, _ = run_inspect(capsys, stories_model, "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["architecture"], data["n_layer"], data["tensor_count"], data["file_size"]) == ("llama", 5, 48, 1_185_376)
    assert "tensors" not in data


def test_sliding_window_experts_and_per_layer_heads(capsys, tmp_path):
    path = write_header(tmp_path / "g.gguf", "gemma3", {
        "block_count": 12, "embedding_length": 640, "context_length": 32768,
        "attention.head_count": 4, "attention.head_count_kv": [2] * 6 + [1] * 6, "attention.key_length": 256,
        "attention.sliding_window": 1024,
    })  # fmt: skip
    code, out, _ = run_inspect(capsys, path)
    assert code == 0
    assert "KV heads         2 x6, 1 x6" in out
    assert "sliding window   1,024 tokens on 10 of 12 layers (repeating SSSSSF: S sliding, F full)" in out
    assert "head dims        K 256, V 160" in out


def test_moe_mla_and_mtp(capsys, tmp_path):
    path = write_header(tmp_path / "d.gguf", "deepseek2", {
        "block_count": 4, "nextn_predict_layers": 1, "embedding_length": 1024, "expert_count": 64,
        "expert_used_count": 6, "expert_shared_count": 2, "expert_feed_forward_length": 1408,
        "leading_dense_block_count": 1, "attention.head_count": 16, "attention.head_count_kv": 1,
        "attention.kv_lora_rank": 512, "attention.key_length_mla": 192, "attention.value_length_mla": 128,
    })  # fmt: skip
    _, out, _ = run_inspect(capsys, path)
    assert "layers           4 (3 + 1 MTP)" in out
    assert "experts          64 (6 used per token), 2 shared, expert FFN 1408, first layer dense" in out
    assert "MLA              kv_lora_rank 512, head K 192, V 128" in out


def test_recurrent_hybrid(capsys, tmp_path):
    path = write_header(tmp_path / "q.gguf", "qwen3next", {
        "block_count": 8, "embedding_length": 2048, "attention.head_count": 16, "ssm.conv_kernel": 4,
        "ssm.inner_size": 4096, "ssm.state_size": 128, "ssm.group_count": 16,
    })  # fmt: skip
    _, out, _ = run_inspect(capsys, path)
    assert "recurrent        6 of 8 layers (repeating RRRA: R recurrent, A attention)" in out
    assert "SSM conv 4, inner 4096, state 128, groups 16" in out


def test_split_model_from_any_shard(capsys, tmp_path):
    files = write_llama(tmp_path / "model.gguf", split_max_tensors=3)
    _, out, _ = run_inspect(capsys, files[2])
    total = sum(f.stat().st_size for f in files)
    assert f"in 3 shards ({total:,} bytes)" in out


def test_unknown_architecture_is_flagged(capsys, tmp_path):
    path = write_header(tmp_path / "x.gguf", "mystery", {"block_count": 1})
    _, out, _ = run_inspect(capsys, path)
    assert "mystery (not supported by the bundled llama.cpp)" in out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.gguf", "no such file: "),
        (".", "is a directory, not a GGUF file"),
        ("README.md", "not a GGUF file"),
        (CORPUS_DIR / "huge_string_array.gguf", "claims 1099511627776 elements"),
        (CORPUS_DIR / "truncated_tensor_data.gguf", "past the end of the file"),
    ],
)
def test_errors_are_one_line_and_exit_1(capsys, target, message):
    code, out, err = run_inspect(capsys, ROOT / target if isinstance(target, str) else target)
    assert code == 1 and out == ""
    assert err.startswith("localai-tui: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_shard_error(capsys, tmp_path):
    files = write_llama(tmp_path / "model.gguf", split_max_tensors=3)
    files[2].unlink()
    code, _, err = run_inspect(capsys, files[0])
    assert code == 1 and "shard 3 of 3 is missing" in err


def test_real_command_line(stories_model):
    done = subprocess.run([sys.executable, "-m", "tui", "inspect", str(stories_model), "--json"],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_vocab"] == 512


def test_formatting_helpers():
    assert format_count(8_030_261_248, precise=True) == "8.03 B"
    assert format_count(494_032_768, precise=True) == "494.0 M"
    assert format_count(292_800, precise=True) == "292.8 K" and format_count(12, precise=True) == "12"
    assert format_size(4_920_734_016, precise=True) == "4.58 GiB" and format_size(1_185_376, precise=True) == "1.13 MiB"
    assert format_size(960, precise=True) == "0.9 KiB"
    assert describe_per_layer([8] * 4) == "8"
    assert describe_per_layer([0, 0, 0, 8, 8]) == "0 x3, 8 x2"
    assert describe_per_layer([0, 8] * 4) == "0 on 4 layers, 8 on 4 layers"
    assert describe_per_layer([]) == "-"
    assert layer_pattern([True, True, False] * 4, "S", "F") == "SSF"
    assert layer_pattern([True, False, False, True, True], "S", "F") is None


def test_the_file_type_is_named_by_its_quant_label(capsys, tmp_path):
    from tests.gguf_factory import make_header_only

    path = make_header_only(tmp_path / "Qwen3-30B-A3B-Q4_K_M.gguf", "qwen3-30b-a3b-q4_k_m").path
    code, out, _ = run_inspect(capsys, path)
    assert code == 0 and "file type        Q4_K_M (general.file_type 15)" in out
