"""The ggml tensor types: how many bytes a block of weights takes.

Every size the fit engine reports starts here, so the table mirrors ggml's own
``type_traits`` (ggml/src/ggml.c) and ``block_*`` structs (ggml-common.h)
exactly; a test checks it against the ``gguf`` package's table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GgmlType:
    """One ggml tensor type: ``block_size`` elements are stored in ``type_size`` bytes."""

    id: int
    name: str
    block_size: int
    type_size: int

    @property
    def bits_per_weight(self) -> float:
        return self.type_size * 8 / self.block_size

    def row_bytes(self, n_elements: int) -> int:
        """Bytes for ``n_elements`` values (ggml_row_size); a partial block is not allowed."""
        return self.type_size * n_elements // self.block_size


_TYPES = [
    GgmlType(0, "F32", 1, 4),
    GgmlType(1, "F16", 1, 2),
    GgmlType(2, "Q4_0", 32, 18),
    GgmlType(3, "Q4_1", 32, 20),
    GgmlType(6, "Q5_0", 32, 22),
    GgmlType(7, "Q5_1", 32, 24),
    GgmlType(8, "Q8_0", 32, 34),
    GgmlType(9, "Q8_1", 32, 36),
    GgmlType(10, "Q2_K", 256, 84),
    GgmlType(11, "Q3_K", 256, 110),
    GgmlType(12, "Q4_K", 256, 144),
    GgmlType(13, "Q5_K", 256, 176),
    GgmlType(14, "Q6_K", 256, 210),
    GgmlType(15, "Q8_K", 256, 292),
    GgmlType(16, "IQ2_XXS", 256, 66),
    GgmlType(17, "IQ2_XS", 256, 74),
    GgmlType(18, "IQ3_XXS", 256, 98),
    GgmlType(19, "IQ1_S", 256, 50),
    GgmlType(20, "IQ4_NL", 32, 18),
    GgmlType(21, "IQ3_S", 256, 110),
    GgmlType(22, "IQ2_S", 256, 82),
    GgmlType(23, "IQ4_XS", 256, 136),
    GgmlType(24, "I8", 1, 1),
    GgmlType(25, "I16", 1, 2),
    GgmlType(26, "I32", 1, 4),
    GgmlType(27, "I64", 1, 8),
    GgmlType(28, "F64", 1, 8),
    GgmlType(29, "IQ1_M", 256, 56),
    GgmlType(30, "BF16", 1, 2),
    GgmlType(34, "TQ1_0", 256, 54),
    GgmlType(35, "TQ2_0", 256, 66),
    GgmlType(39, "MXFP4", 32, 17),
    GgmlType(40, "NVFP4", 64, 36),
    GgmlType(41, "Q1_0", 128, 18),
    GgmlType(42, "Q2_0", 64, 18),
]

GGML_TYPES: dict[int, GgmlType] = {t.id: t for t in _TYPES}
GGML_TYPES_BY_NAME: dict[str, GgmlType] = {t.name: t for t in _TYPES}


def ggml_type(type_id: int) -> GgmlType:
    """The type for a GGUF tensor's type id; KeyError for ids ggml does not define."""
    return GGML_TYPES[type_id]


def ggml_type_named(name: str) -> GgmlType:
    """The type for a name such as ``q8_0`` or ``F16`` (case-insensitive)."""
    return GGML_TYPES_BY_NAME[name.upper()]
