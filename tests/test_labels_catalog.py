"""The quant label catalog (tui/data/quant_labels.toml): complete, consistent, and checked on load."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest

from tui.core.gguf.ggml_types import GGML_TYPES, GGML_TYPES_BY_NAME
from tui.core.gguf.labels import (
    CatalogError,
    all_labels,
    all_tensor_types,
    families,
    load_label_catalog,
    parse_label_catalog,
)
from tui.core.sizes import GiB
from tui.core.toml_io import parse_toml

ROOT = Path(__file__).resolve().parent.parent
CATALOG_FILE = ROOT / "tui" / "data" / "quant_labels.toml"
#: The llama.cpp vendored in the pinned llama-cpp-python, as ``scripts/build_llama_rpc.py --source-only``
#: extracts it (``.ci/run`` does) into the cache; LOCALAI_LLAMA_CPP_SOURCE points elsewhere.
LLAMA_CPP_SOURCE = Path(os.environ.get("LOCALAI_LLAMA_CPP_SOURCE") or (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "localai-tui" / "llama-rpc-0.3.36" / "src" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"))


def _raw() -> dict:
    return parse_toml(CATALOG_FILE.read_text(encoding="utf-8"))


def _llama_cpp_ftypes() -> dict[int, str]:
    """LLAMA_FTYPE_* from llama-cpp-python's bindings (which mirror llama.h), GUESSED left out."""
    import llama_cpp

    found = {}
    for name in dir(llama_cpp):
        if name.startswith("LLAMA_FTYPE_") and name != "LLAMA_FTYPE_GUESSED":
            found[getattr(llama_cpp, name)] = name.removeprefix("LLAMA_FTYPE_").removeprefix("MOSTLY_")
    return found


def test_catalog_loads_once_and_is_cached():
    assert load_label_catalog() is load_label_catalog()


def test_every_llama_cpp_file_type_is_covered_with_its_id():
    catalog = load_label_catalog()
    ftypes = _llama_cpp_ftypes()
    assert len(ftypes) >= 36
    for ftype, name in ftypes.items():
        quant = catalog.by_ftype.get(ftype)
        assert quant is not None, f"file type {ftype} ({name}) is missing"
        expected = "F32" if name == "ALL_F32" else name
        assert quant.label == expected
        assert not quant.retired


def test_every_file_type_in_llama_h_is_covered():
    header = LLAMA_CPP_SOURCE / "include" / "llama.h"
    if not header.exists():
        pytest.skip(f"{header} is absent (the llama.cpp source tree of llama-cpp-python)")
    catalog = load_label_catalog()
    live = re.findall(r"^\s*LLAMA_FTYPE_(?:MOSTLY_)?(\w+)\s*=\s*(\d+),", header.read_text(), re.MULTILINE)
    live = [(name, int(value)) for name, value in live if name != "GUESSED"]
    assert len(live) >= 36
    for name, value in live:
        assert catalog.by_ftype[value].label == ("F32" if name == "ALL_F32" else name)
    retired = re.findall(r"^\s*//\s*LLAMA_FTYPE_MOSTLY_(Q4_0_\d_\d)\s*=\s*(\d+)", header.read_text(), re.MULTILINE)
    assert retired, "llama.h no longer lists the retired Q4_0_x_y types"
    for name, value in retired:
        assert catalog.by_ftype[int(value)].label == name and catalog.by_ftype[int(value)].retired


def test_every_ggml_tensor_type_is_covered_and_bits_come_from_ggml_types():
    tensor_types = {quant.label: quant for quant in all_tensor_types()}
    assert set(tensor_types) == set(GGML_TYPES_BY_NAME)
    for name, quant in tensor_types.items():
        assert quant.kind == "tensor" and quant.ftype is None
        assert quant.bits_per_weight == GGML_TYPES_BY_NAME[name].bits_per_weight
    for entry in _raw()["tensor_type"]:
        assert "bits_per_weight" not in entry, "tensor bits per weight must come from ggml_types, not the data file"


@pytest.mark.parametrize("name,bits", [("Q8_0", 8.5), ("Q4_0", 4.5), ("F16", 16.0), ("BF16", 16.0), ("F32", 32.0),
                                       ("Q4_K", 4.5), ("Q6_K", 6.5625), ("IQ4_XS", 4.25), ("IQ2_XXS", 2.0625),
                                       ("TQ1_0", 1.6875), ("MXFP4", 4.25), ("NVFP4", 4.5), ("Q1_0", 1.125)])
def test_pure_tensor_types_have_exact_bits(name, bits):
    assert load_label_catalog().tensor_types[name].bits_per_weight == bits


def test_file_type_bits_are_sane_against_their_main_type():
    for quant in all_labels(include_variants=False):
        main = GGML_TYPES_BY_NAME[quant.main_type].bits_per_weight
        assert quant.bits_per_weight is not None
        if quant.family == "float":
            # unquantized: the whole model is its float type, norms aside
            assert quant.bits_per_weight == pytest.approx(main, abs=0.01), quant.label
        elif quant.label == "NVFP4":
            assert main < quant.bits_per_weight < 16, quant.label
        else:
            # a mix never goes below its main type and stays within ~1 bit above it on Llama-3-8B
            # (embeddings and output are 13% of that model); 1-bit types carry a Q6_K output layer
            assert main <= quant.bits_per_weight <= main + 1.0, quant.label
        assert quant.main_type_bits_per_weight == main


def test_pure_types_typical_bits_match_ggml_types():
    """Q8_0 and the floats put every weight in one type: typical == the type's own bits."""
    catalog = load_label_catalog()
    for label in ("Q8_0", "F16", "BF16", "F32"):
        assert catalog.file_types[label].bits_per_weight == pytest.approx(
            catalog.tensor_types[label].bits_per_weight, abs=0.002)


def test_llama3_8b_quotes_from_quantize_cpp_agree_with_the_measured_bits():
    """quantize.cpp's 'x.xxG @ Llama-3-8B' are GiB; converted they must match within 1%."""
    catalog = load_label_catalog()
    n_params = catalog.references["llama3-8b"].n_params
    quoted = [q for q in catalog.file_types.values() if q.quantize_cpp_gib is not None]
    assert len(quoted) == 14  # every Llama-3-8B size in QUANT_OPTIONS but Q2_K_S's
    for quant in quoted:
        from_quote = quant.quantize_cpp_gib * GiB * 8 / n_params
        assert from_quote == pytest.approx(quant.bits_per_weight, rel=0.01), quant.label


def test_quotes_match_quantize_cpp_source():
    source = LLAMA_CPP_SOURCE / "tools" / "quantize" / "quantize.cpp"
    if not source.exists():
        pytest.skip(f"{source} is absent (the llama.cpp source tree of llama-cpp-python)")
    catalog = load_label_catalog()
    options = re.findall(r'\{\s*"(\w+)",\s*LLAMA_FTYPE_\w+,\s*"\s*([\d.]+)G, ([+-][\d.]+) ppl @ Llama-3-8B"',
                         source.read_text())
    assert len(options) >= 15
    for label, gib, ppl in options:
        quant = catalog.file_types[label]
        if label == "Q2_K_S":  # quantize.cpp repeats Q2_K's size; the data file explains and measures it
            assert quant.quantize_cpp_gib is None
            continue
        assert quant.quantize_cpp_gib == float(gib), label
        assert quant.quantize_cpp_ppl == float(ppl), label


def test_k_quant_mixes_grow_with_their_suffix():
    catalog = load_label_catalog()
    bits = {label: q.bits_per_weight for label, q in catalog.file_types.items()}
    assert bits["Q2_K_S"] < bits["Q2_K"] < bits["Q3_K_S"] < bits["Q3_K_M"] < bits["Q3_K_L"]
    assert bits["Q4_K_S"] < bits["Q4_K_M"] < bits["Q5_K_S"] < bits["Q5_K_M"] < bits["Q6_K"] < bits["Q8_0"]
    assert bits["IQ1_S"] < bits["IQ1_M"] < bits["IQ2_XXS"] < bits["IQ2_XS"] < bits["IQ2_S"] < bits["IQ2_M"]
    assert bits["IQ3_XXS"] < bits["IQ3_XS"] < bits["IQ3_S"] < bits["IQ3_M"] < bits["IQ4_XS"] < bits["IQ4_NL"]


def test_bartowski_variants_add_q8_embeddings_on_top_of_their_base():
    catalog = load_label_catalog()
    for label in ("Q2_K_L", "Q3_K_XL", "Q4_K_L", "Q5_K_L", "Q6_K_L"):
        variant = catalog.variants[label]
        base = catalog.file_types[variant.base]
        # token_embd + output (13% of Llama-3-8B) from Q2_K..Q6_K to Q8_0: +0.2 to +0.6 bits per weight
        assert 0.2 < variant.bits_per_weight - base.bits_per_weight < 0.6, label
        assert not variant.bits_per_weight_approximate
        assert variant.ftype == base.ftype


def test_unsloth_variants_are_marked_approximate():
    catalog = load_label_catalog()
    ud = [v for label, v in catalog.variants.items() if label.startswith("UD-")]
    assert len(ud) == 6
    for variant in ud:
        assert variant.bits_per_weight_approximate
        assert variant.bits_per_weight == catalog.file_types[variant.base].bits_per_weight


def test_every_entry_explains_itself():
    for quant in all_labels(include_variants=False):
        assert len(quant.summary) <= 60, f"{quant.label}: summary too long for a table"
        assert len(quant.explanation.split()) >= 25, f"{quant.label}: explanation too short"
    for family in families():
        assert len(family.explanation.split()) >= 15
    for note in load_label_catalog().notes.values():
        assert len(note.explanation.split()) >= 15


def test_the_asked_for_topics_are_explained():
    catalog = load_label_catalog()
    text = {key: q.explanation for key, q in catalog.file_types.items()}
    assert "default" in text["Q4_K_M"]
    assert "original model" in text["Q8_0"] and "noise" in text["Q8_0"]
    assert "original" in text["BF16"] and "original" in text["F16"]
    assert "gpt-oss" in text["MXFP4_MOE"]
    notes = catalog.notes
    assert "Q8_0" in notes["q8-embed-output"].explanation
    assert "i1-" in notes["imatrix"].explanation and "calibration" in notes["imatrix"].explanation
    assert "UD-" in notes["unsloth-dynamic"].explanation
    assert "_M" in notes["mix-size"].explanation and "_XL" in notes["mix-size"].explanation
    assert {f.id for f in families()} >= {"float", "legacy", "k-quant", "i-quant", "ternary", "fp4"}


def test_llama_names_are_llama_cpps_display_names():
    source = LLAMA_CPP_SOURCE / "src" / "llama-model-loader.cpp"
    if not source.exists():
        pytest.skip(f"{source} is absent (the llama.cpp source tree of llama-cpp-python)")
    names = dict(re.findall(r'case LLAMA_FTYPE_(?:MOSTLY_)?(\w+):\s*name = LLAMA_FTYPE_PREFIX "([^"]+)"',
                            source.read_text()))
    catalog = load_label_catalog()
    for quant in catalog.file_types.values():
        if quant.retired:
            assert quant.llama_name is None
            continue
        key = "ALL_F32" if quant.label == "F32" else quant.label
        assert quant.llama_name == names[key], quant.label


# --- the loader rejects broken data with one clear message ----------------------------------


def _broken(mutate) -> str:
    data = copy.deepcopy(_raw())
    mutate(data)
    with pytest.raises(CatalogError) as info:
        parse_label_catalog(data)
    message = str(info.value)
    assert message.startswith("quant label catalog tui/data/quant_labels.toml: ")
    return message


def test_rejects_duplicate_labels():
    assert "listed twice" in _broken(lambda d: d["file_type"].append(dict(d["file_type"][0])))


def test_rejects_duplicate_ftype_ids():
    def mutate(d):
        d["file_type"][1]["ftype"] = d["file_type"][0]["ftype"]
    assert "already belongs" in _broken(mutate)


def test_rejects_unknown_family_and_main_type():
    def family(d):
        d["file_type"][0]["family"] = "mystery"
    def main_type(d):
        d["file_type"][0]["main_type"] = "Q9_9"
    assert "unknown family" in _broken(family)
    assert "not a ggml type" in _broken(main_type)


def test_rejects_variant_without_base_and_unknown_tensor_type():
    def variant(d):
        d["variant"][0]["base"] = "Q7_K_M"
    def tensor(d):
        d["tensor_type"].append({"name": "Q9_9", "family": "legacy", "summary": "x"})
    assert "unknown base" in _broken(variant)
    assert "not in tui/core/gguf/ggml_types.py" in _broken(tensor)


def test_rejects_missing_figures_and_references():
    def no_bits(d):
        del d["file_type"][0]["bits_per_weight"]
    def bad_reference(d):
        d["file_type"][0]["reference"] = "nowhere"
    def schema(d):
        d["schema"] = 2
    assert "needs bits_per_weight" in _broken(no_bits)
    assert "unknown reference" in _broken(bad_reference)
    assert "unsupported schema" in _broken(schema)


def test_ggml_type_ids_in_catalog_match_table():
    assert {q.label for q in all_tensor_types()} == {t.name for t in GGML_TYPES.values()}
