"""Looking labels up as people write them, and explaining them."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.errors import LocalAIError
from tui.core.gguf.labels import (
    FTYPE_GUESSED,
    UnknownLabelError,
    all_labels,
    all_tensor_types,
    explain_label,
    explain_tensor_type,
    ftype_label,
    label_for_ftype,
    label_sort_key,
    load_label_catalog,
    lookup_label,
    lookup_tensor_type,
)


@pytest.mark.parametrize("text,label,base,family,ftype", [
    ("Q4_K_M", "Q4_K_M", "Q4_K_M", "k-quant", 15),
    ("q4_k_m", "Q4_K_M", "Q4_K_M", "k-quant", 15),
    (" Q4-K-M ", "Q4_K_M", "Q4_K_M", "k-quant", 15),
    ("Q4_K", "Q4_K_M", "Q4_K_M", "k-quant", 15),       # llama-quantize's alias
    ("Q3_K", "Q3_K_M", "Q3_K_M", "k-quant", 12),
    ("UD-Q4_K_XL", "UD-Q4_K_XL", "Q4_K_M", "k-quant", 15),
    ("ud-q4_k_xl", "UD-Q4_K_XL", "Q4_K_M", "k-quant", 15),
    ("Q4_K_XL", "UD-Q4_K_XL", "Q4_K_M", "k-quant", 15),  # Unsloth's mix without its prefix
    ("UD-Q8_K_XL", "UD-Q8_K_XL", "Q8_0", "legacy", 7),
    ("UD-IQ1_S", "UD-IQ1_S", "IQ1_S", "i-quant", 24),
    ("UD-TQ1_0", "UD-TQ1_0", "TQ1_0", "ternary", 36),
    ("i1-Q4_K_M", "i1-Q4_K_M", "Q4_K_M", "k-quant", 15),
    ("I1-iq3_m", "i1-IQ3_M", "IQ3_M", "i-quant", 27),
    ("Q4_K_M-imat", "Q4_K_M-imat", "Q4_K_M", "k-quant", 15),
    ("Q4_K_L", "Q4_K_L", "Q4_K_M", "k-quant", 15),     # bartowski
    ("Q6_K_L", "Q6_K_L", "Q6_K", "k-quant", 18),
    ("Q3_K_L", "Q3_K_L", "Q3_K_L", "k-quant", 13),     # a real llama.cpp mix, not bartowski's
    ("Q3_K_XL", "Q3_K_XL", "Q3_K_L", "k-quant", 13),   # bartowski's, since Q3_K_L is taken
    ("UD-Q3_K_XL", "UD-Q3_K_XL", "Q3_K_M", "k-quant", 12),
    ("FP16", "F16", "F16", "float", 1),
    ("fp32", "F32", "F32", "float", 0),
    ("bf16", "BF16", "BF16", "float", 32),
    ("MXFP4", "MXFP4_MOE", "MXFP4_MOE", "fp4", 38),
    ("mxfp4_moe", "MXFP4_MOE", "MXFP4_MOE", "fp4", 38),
    ("NVFP4", "NVFP4", "NVFP4", "fp4", 39),
    ("TQ2_0", "TQ2_0", "TQ2_0", "ternary", 37),
    ("Q1_0", "Q1_0", "Q1_0", "low-bit", 40),
    ("Q4_0_4_4", "Q4_0_4_4", "Q4_0_4_4", "legacy", 33),
])
def test_lookup(text, label, base, family, ftype):
    quant = lookup_label(text)
    assert quant is not None, text
    assert (quant.label, quant.base, quant.family, quant.ftype) == (label, base, family, ftype)
    assert quant.kind == "file"


@pytest.mark.parametrize("text", ["", "   ", "Q9_K_M", "Q4_K_XXL", "hello", "UD-", "i1-", "UD-nonsense",
                                  "i1-Q8_K", "UD-I32", "Q4_K_M.gguf", "-imat"])
def test_unknown_labels_give_none(text):
    assert lookup_label(text) is None


def test_tensor_types_are_found_when_no_file_type_has_the_name():
    assert lookup_label("Q8_K").kind == "tensor"
    assert lookup_label("i32").kind == "tensor"
    assert lookup_label("Q8_1").bits_per_weight == 9.0
    assert lookup_tensor_type("q4_k").bits_per_weight == 4.5
    assert lookup_tensor_type("mxfp4").bits_per_weight == 4.25
    assert lookup_tensor_type("Q4_K_M") is None


def test_modifiers_carry_their_notes():
    def notes(text):
        return [n.id for n in lookup_label(text).notes]

    assert notes("UD-Q4_K_XL") == ["unsloth-dynamic", "unsloth-xl", "mix-size"]
    assert notes("Q4_K_XL") == ["unsloth-dynamic", "unsloth-xl", "mix-size"]
    assert notes("UD-IQ1_S") == ["unsloth-dynamic", "mix-size"]
    assert notes("i1-Q4_K_M") == ["mix-size", "imatrix"]
    assert notes("Q4_K_L") == ["q8-embed-output", "mix-size"]
    assert notes("Q4_K") == ["mix-size", "alias"]
    assert notes("Q8_0") == []
    assert notes("Q4_0_4_8") == ["retired"]


def test_variants_and_modifiers():
    assert lookup_label("Q4_K_L").is_variant and lookup_label("UD-IQ1_S").is_variant
    assert lookup_label("Q4_K_XL").is_variant
    assert not lookup_label("i1-Q4_K_M").is_variant and not lookup_label("Q4_K_M-imat").is_variant
    assert not lookup_label("Q4_K_M").is_variant and not lookup_label("Q4_K").is_variant
    assert lookup_label(None) is None
    for quant in all_labels():
        assert lookup_label(quant.label) == quant


def _bits(label: str) -> float | None:
    return lookup_label(label).bits_per_weight


def test_bits_per_weight_of_modified_labels():
    q4km = _bits("Q4_K_M")
    assert q4km == pytest.approx(4.894)
    assert _bits("i1-Q4_K_M") == q4km            # an imatrix changes no tensor types
    assert _bits("Q4_K_L") > q4km                 # Q8_0 embeddings/output
    assert _bits("UD-Q4_K_XL") == q4km
    assert lookup_label("UD-Q4_K_XL").bits_per_weight_approximate
    assert lookup_label("UD-IQ1_S").bits_per_weight_approximate
    assert not lookup_label("Q4_K_L").bits_per_weight_approximate
    assert _bits("Q4_0_4_4") == _bits("Q4_0")


def test_ftype_label():
    assert ftype_label(15) == "Q4_K_M"
    assert ftype_label(0) == "F32"
    assert ftype_label(38) == "MXFP4_MOE"
    assert ftype_label(15 | FTYPE_GUESSED) == "Q4_K_M"
    assert ftype_label(99) == "unknown (99)"
    assert ftype_label(4) == "unknown (4)"  # Q4_1_SOME_F16, long gone
    assert label_for_ftype(7).label == "Q8_0"
    assert label_for_ftype(1234) is None


def test_sort_key_orders_by_bits_per_weight():
    ordered = sorted(["Q8_0", "F16", "IQ1_S", "Q4_K_M", "UD-Q4_K_XL", "Q4_K_S", "mystery"], key=label_sort_key)
    assert ordered == ["IQ1_S", "Q4_K_S", "Q4_K_M", "UD-Q4_K_XL", "Q8_0", "F16", "mystery"]
    labels = sorted(all_labels(), key=label_sort_key)
    bits = [q.bits_per_weight for q in labels]
    assert bits == sorted(bits)
    assert labels[0].label == "Q1_0" and labels[-1].label == "F32"


def test_all_labels():
    labels = all_labels()
    names = [q.label for q in labels]
    assert len(names) == len(set(names)) == 39 + 11
    assert "UD-Q4_K_XL" in names and "Q4_K_L" in names and "Q4_0_4_4" in names
    assert "Q4_0_4_4" not in [q.label for q in all_labels(include_retired=False)]
    assert "Q4_K_L" not in [q.label for q in all_labels(include_variants=False)]
    assert len(all_tensor_types()) == 35


def test_explain_plain_label():
    text = explain_label("q4_k_m")
    assert text.startswith("Q4_K_M: 4-bit K-quant mix: the usual default")
    assert 'llama.cpp file type 15 ("Q4_K - Medium")' in text
    assert "4.89 bits per weight on Meta-Llama-3-8B (4.9 GB)" in text
    assert "Most weights are Q4_K (4.5 bits per weight)" in text
    assert load_label_catalog().families["k-quant"].explanation in text
    assert load_label_catalog().notes["mix-size"].explanation in text


def test_explain_unsloth_dynamic():
    text = explain_label("UD-Q4_K_XL")
    assert text.startswith("UD-Q4_K_XL: ")
    assert "Built on Q4_K_M" in text
    assert "varies by model" in text
    assert load_label_catalog().notes["unsloth-dynamic"].explanation in text
    assert load_label_catalog().notes["unsloth-xl"].explanation in text
    assert load_label_catalog().file_types["Q4_K_M"].explanation in text


def test_explain_imatrix_and_bartowski():
    imatrix = explain_label("i1-IQ3_M")
    assert imatrix.startswith("i1-IQ3_M: ") and "(made with an importance matrix)" in imatrix
    assert load_label_catalog().notes["imatrix"].explanation in imatrix and "Built on" not in imatrix
    bartowski = explain_label("Q4_K_L")
    assert "Built on Q4_K_M" in bartowski and "5.28 bits per weight" in bartowski
    assert load_label_catalog().notes["q8-embed-output"].explanation in bartowski


def test_explain_alias_mentions_the_tensor_type():
    text = explain_label("Q4_K")
    assert text.startswith("Q4_K_M: ")
    assert "As a ggml tensor type, Q4_K" in text and "144 bytes" in text
    assert "As a ggml tensor type" in explain_label("MXFP4")


def test_explain_retired_and_tensor_types():
    assert "cannot load" in explain_label("Q4_0_8_8")
    q8k = explain_label("Q8_K")
    assert q8k.startswith("Q8_K: ggml tensor type, K-quants") and "9.125 bits per weight" in q8k
    q6k = explain_tensor_type("Q6_K")
    assert "6.5625 bits per weight" in q6k and 'The file type Q6_K ("Q6_K")' in q6k
    with pytest.raises(UnknownLabelError):
        explain_tensor_type("Q4_K_M")


def test_explain_unknown_label_is_one_clear_error():
    with pytest.raises(UnknownLabelError) as info:
        explain_label("Q9_Z")
    assert isinstance(info.value, LocalAIError)
    assert str(info.value) == "unknown quant label 'Q9_Z' ('localai-tui labels' lists the known ones)"


def test_family_explanations():
    families = load_label_catalog().families
    assert "E8" in families["i-quant"].explanation
    assert families["k-quant"].name == "K-quants"
    assert "gpt-oss" in families["fp4"].explanation


def test_every_catalog_label_explains_without_error():
    for quant in all_labels():
        text = explain_label(quant.label)
        assert text.startswith(f"{quant.label}: ")
        assert "\n\n" in text
    for quant in all_tensor_types():
        assert explain_tensor_type(quant.label).startswith(f"{quant.label}: ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=24))
def test_lookup_never_raises(text):
    quant = lookup_label(text)
    assert quant is None or quant.label


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([q.label for q in all_labels(include_variants=False)]),
       st.sampled_from(["", "i1-", "UD-"]), st.booleans())
def test_any_spelling_of_a_file_type_resolves_to_it(label, prefix, lower):
    text = prefix + (label.lower() if lower else label)
    quant = lookup_label(text)
    assert quant is not None
    assert quant.base == label or (prefix == "UD-" and quant.label == f"UD-{label}")
    assert quant.ftype == load_label_catalog().file_types[label].ftype


def test_core_imports_no_textual():
    assert "tui.core.gguf.labels" in sys.modules
    import subprocess

    code = "import sys, tui.core.gguf.labels, tui.core.gguf.filenames; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_label_panel_always_has_something_to_say():
    from tui.core.gguf.labels import describe_label

    assert describe_label("Q4_K_M") == explain_label("Q4_K_M")
    assert describe_label("") == describe_label(None) == "This file's name carries no quant label."
    assert describe_label("Q9_Z").startswith("unknown quant label 'Q9_Z'")
