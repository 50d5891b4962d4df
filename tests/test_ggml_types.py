"""The ggml type table must agree with the gguf package's (itself generated from ggml)."""

from __future__ import annotations

import pytest

from tui.core.gguf.ggml_types import GGML_TYPES, ggml_type, ggml_type_named


def test_matches_gguf_package():
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    checked = 0
    for qtype, (block, size) in GGML_QUANT_SIZES.items():
        # Q8_1 is an internal (activation) type; gguf-py still lists the old 40-byte block,
        # ggml-common.h asserts 36 (two halves + 32 quants).
        if int(qtype) in GGML_TYPES and qtype.name != "Q8_1":
            t = ggml_type(int(qtype))
            assert (t.block_size, t.type_size) == (block, size), qtype
            assert t.name == GGMLQuantizationType(int(qtype)).name
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("name,bpw", [("F32", 32), ("F16", 16), ("Q8_0", 8.5), ("Q4_0", 4.5),
                                      ("Q4_K", 4.5), ("Q6_K", 6.5625), ("IQ4_XS", 4.25), ("MXFP4", 4.25)])
def test_bits_per_weight(name, bpw):
    assert ggml_type_named(name).bits_per_weight == pytest.approx(bpw)


def test_row_bytes():
    assert ggml_type_named("q8_0").row_bytes(4096) == 4096 // 32 * 34
    assert ggml_type_named("f16").row_bytes(10) == 20
