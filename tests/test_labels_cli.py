"""``localai-tui labels [LABEL] [--json]``."""

from __future__ import annotations

import json
import subprocess
import sys

from tui.cli import main
from tui.commands.labels import format_label_table
from tui.core.gguf.labels import all_labels, lookup_label


def _run(capsys, *argv):
    code = main(["labels", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_lists_every_label_smallest_first(capsys):
    code, out, err = _run(capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["LABEL", "FAMILY", "BPW", "SUMMARY"]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        label, family, bpw = line.split()[:3]
        rows.append((label, family, float(bpw.lstrip("~"))))
    assert {label for label, _, _ in rows} == {q.label for q in all_labels()}
    bits = [b for _, _, b in rows]
    assert bits == sorted(bits)
    assert rows[0][0] == "Q1_0" and rows[-1][0] == "F32"
    q4km = next(r for r in rows if r[0] == "Q4_K_M")
    assert q4km == ("Q4_K_M", "k-quant", 4.89)
    assert any(line.startswith("UD-Q4_K_XL") and "~4.89" in line for line in lines)
    assert "BPW: typical bits per weight" in out


def test_one_label_prints_its_explanation(capsys):
    code, out, err = _run(capsys, "ud-q4_k_xl")
    assert code == 0 and err == ""
    assert out.startswith("UD-Q4_K_XL: Unsloth Dynamic")
    assert "UD-: Unsloth Dynamic quants" in out
    assert "Built on Q4_K_M" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_modifiers_are_explained(capsys):
    _, out, _ = _run(capsys, "i1-Q4_K_M")
    assert out.startswith("i1-Q4_K_M: ") and "importance-matrix calibration" in out
    _, out, _ = _run(capsys, "Q4_K_L")
    assert "bartowski's _L and _XL" in out


def test_unknown_label_is_one_line_and_exit_1(capsys):
    code, out, err = _run(capsys, "Q9_Z")
    assert code == 1 and out == ""
    assert err == "localai-tui: error: unknown quant label 'Q9_Z' ('localai-tui labels' lists the known ones)\n"


def test_json_table(capsys):
    code, out, _ = _run(capsys, "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data) == len(all_labels())
    for item in data:
        assert {"label", "family", "bits_per_weight", "ftype", "explanation"} <= set(item)
        assert item["explanation"].startswith(item["label"] + ": ")
    q4km = next(item for item in data if item["label"] == "Q4_K_M")
    assert (q4km["family"], q4km["ftype"], q4km["bits_per_weight"]) == ("k-quant", 15, 4.894)
    bits = [item["bits_per_weight"] for item in data]
    assert bits == sorted(bits)


def test_json_one_label(capsys):
    code, out, _ = _run(capsys, "UD-IQ1_S", "--json")
    assert code == 0
    [item] = json.loads(out)
    assert item["label"] == "UD-IQ1_S" and item["base"] == "IQ1_S" and item["ftype"] == 24
    assert item["bits_per_weight"] == lookup_label("IQ1_S").bits_per_weight
    assert item["bits_per_weight_approximate"] is True
    assert item["notes"] == ["unsloth-dynamic", "mix-size"]
    [tensor] = json.loads(_run(capsys, "Q8_K", "--json")[1])
    assert tensor["kind"] == "tensor" and tensor["ftype"] is None and tensor["bits_per_weight"] == 9.125


def test_json_unknown_label_still_errors(capsys):
    code, out, err = _run(capsys, "nonsense", "--json")
    assert code == 1 and out == "" and err.count("\n") == 1


def test_real_entry_point():
    result = subprocess.run([sys.executable, "-m", "tui", "labels", "Q8_0"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Q8_0: 8-bit: near-lossless")
    bad = subprocess.run([sys.executable, "-m", "tui", "labels", "Q0_Q"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == ["localai-tui: error: unknown quant label 'Q0_Q' "
                                               "('localai-tui labels' lists the known ones)"]


def test_table_fits_a_narrow_terminal():
    table = format_label_table(all_labels(), width=60)
    assert max(len(line) for line in table.splitlines()) <= 60
    assert any(line.endswith("...") for line in table.splitlines())


def test_tensor_types_are_explained_and_listed(capsys):
    assert main(["labels", "--tensor", "q6_k"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Q6_K: ggml tensor type, K-quants") and "6.5625 bits per weight" in out
    assert main(["labels", "--tensor"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["LABEL", "FAMILY", "BPW", "SUMMARY"] and any(r.startswith("Q8_K ") for r in table)
    assert main(["labels", "--tensor", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["label"] for r in rows} >= {"Q4_K", "Q6_K", "Q8_K", "F16"}
    assert all(r["explanation"].startswith(f"{r['label']}: ggml tensor type") for r in rows)
    assert main(["labels", "--tensor", "Q4_K_M"]) == 1  # a file type, not a tensor type
    assert "unknown ggml tensor type 'Q4_K_M'" in capsys.readouterr().err
