"""What quant labels mean: "Q4_K_M", "UD-Q4_K_XL", "i1-IQ3_M", "BF16", "MXFP4" ...

The facts live in ``tui/data/quant_labels.toml`` (read once, on first use); this module turns
a label as people write it into a ``QuantLabel`` and explains it in plain words.

Three kinds of names are understood:

* llama.cpp **file types** (``enum llama_ftype``, ``general.file_type`` in a GGUF): Q4_K_M, IQ4_XS ...
  plus their aliases (Q4_K = Q4_K_M, FP16 = F16, MXFP4 = MXFP4_MOE) and three retired ARM layouts;
* publishers' **variants** built on one: bartowski's Q4_K_L (Q8_0 embeddings/output), Unsloth's
  UD-Q4_K_XL; and the **modifiers** ``UD-`` (Unsloth Dynamic), ``i1-`` and ``-imat`` (importance
  matrix) on any of them;
* ggml **tensor types** (Q4_K, Q8_K, MXFP4, I32 ...), whose bits per weight come from
  ``tui.core.gguf.ggml_types`` and are exact.

Bits per weight of a file type are *typical whole-model* figures (embeddings and upgraded tensors
included) measured with llama.cpp on a reference model; the data file says how.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.gguf.ggml_types import GGML_TYPES_BY_NAME, GgmlType
from tui.core.toml_io import read_packaged_toml

#: Bit llama.cpp sets in a file type it guessed from the tensor types (LLAMA_FTYPE_GUESSED).
FTYPE_GUESSED = 1024

CATALOG_RESOURCE = "quant_labels.toml"

#: Label endings that name the size of a mix or codebook (see the "mix-size" note).
_MIX_SUFFIX = re.compile(r"_(?:XXS|XS|S|M|L|XL)$")
_PREFIX = re.compile(r"^(?P<prefix>ud|i1)[-_](?P<rest>.+)$", re.IGNORECASE)
_IMATRIX_SUFFIX = re.compile(r"^(?P<rest>.+?)[-_.](?:imat|imatrix)$", re.IGNORECASE)


class CatalogError(LocalAIError):
    """The packaged label catalog is broken: a bug in the data file, not in the user's input."""


class UnknownLabelError(LocalAIError):
    """A quant label the catalog does not know."""


@dataclass(frozen=True)
class Note:
    """A modifier or topic that explains part of a label (UD-, i1-, _L, _S/_M/_L ...)."""

    id: str
    name: str
    explanation: str


@dataclass(frozen=True)
class Family:
    """A family of formats: float, legacy, k-quant, i-quant, ternary, fp4, low-bit, integer."""

    id: str
    name: str
    explanation: str


@dataclass(frozen=True)
class Reference:
    """The model a bits-per-weight figure was measured on, and how."""

    id: str
    model: str
    n_params: int
    method: str


@dataclass(frozen=True)
class QuantLabel:
    """One label, resolved.

    ``kind`` is "file" for llama.cpp file types and publishers' variants of them, "tensor" for
    ggml tensor types. ``base`` is the catalog file type a variant or modified label builds on
    (the label itself for a plain file type; the type name for a tensor type).
    ``bits_per_weight``: average bits per parameter of a whole typical model (file kinds) or the
    exact storage of the type (tensor kinds); ``bits_per_weight_approximate`` is set where the
    figure is the base's, because the publisher's mix varies by model (UD-).
    """

    label: str
    kind: str
    base: str
    family: str
    summary: str
    explanation: str
    ftype: int | None = None
    llama_name: str | None = None
    main_type: str | None = None
    bits_per_weight: float | None = None
    bits_per_weight_approximate: bool = False
    reference: str | None = None
    notes: tuple[Note, ...] = ()
    retired: bool = False
    aliases: tuple[str, ...] = ()
    quantize_cpp_gib: float | None = None
    quantize_cpp_ppl: float | None = None

    @property
    def main_type_bits_per_weight(self) -> float | None:
        """Exact bits per weight of the tensor type most weights use (from ggml's table)."""
        ggml = GGML_TYPES_BY_NAME.get(self.main_type or "")
        return ggml.bits_per_weight if ggml else None

    @property
    def is_variant(self) -> bool:
        """A publisher's mix (Q4_K_L, UD-Q4_K_XL, UD-IQ1_S) rather than llama.cpp's recipe for ``base``.

        An importance matrix (i1-, -imat) changes no tensor types, so ``i1-Q4_K_M`` is not one.
        """
        return self.kind == "file" and _unmodified(self.label) != self.base


@dataclass(frozen=True)
class LabelCatalog:
    """Everything in the data file, indexed."""

    families: dict[str, Family]
    notes: dict[str, Note]
    references: dict[str, Reference]
    file_types: dict[str, QuantLabel]      # by label, llama.cpp order of the data file
    variants: dict[str, QuantLabel]        # by label ("Q4_K_L", "UD-Q4_K_XL")
    tensor_types: dict[str, QuantLabel]    # by ggml type name
    aliases: dict[str, str]                # alias -> file type label
    by_ftype: dict[int, QuantLabel]

    def file_type(self, name: str) -> QuantLabel | None:
        """A file type by its label or an alias (upper-case input)."""
        label = self.aliases.get(name, name)
        return self.file_types.get(label)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def load_label_catalog() -> LabelCatalog:
    """The packaged catalog, parsed and checked once per process."""
    return parse_label_catalog(read_packaged_toml(CATALOG_RESOURCE))


def parse_label_catalog(data: dict[str, Any]) -> LabelCatalog:
    """Build and cross-check a catalog from the TOML document; CatalogError names the problem."""
    if data.get("schema") != 1:
        raise _broken(f"unsupported schema {data.get('schema')!r}")
    families = {f.id: f for f in (Family(e["id"], e["name"], e["explanation"]) for e in _entries(data, "family"))}
    notes = {n.id: n for n in (Note(e["id"], e["name"], e["explanation"]) for e in _entries(data, "note"))}
    references = {
        key: Reference(key, value["model"], int(value["n_params"]), value["method"])
        for key, value in data.get("reference", {}).items()
    }

    file_types: dict[str, QuantLabel] = {}
    aliases: dict[str, str] = {}
    by_ftype: dict[int, QuantLabel] = {}
    pending_same_as: list[tuple[str, int, str]] = []
    for entry in _entries(data, "file_type"):
        label = _required(entry, "label", "file_type")
        if label in file_types:
            raise _broken(f"file type {label} is listed twice")
        _check_family(entry, families, label)
        main_type = entry.get("main_type")
        if main_type not in GGML_TYPES_BY_NAME:
            raise _broken(f"{label}: main_type {main_type!r} is not a ggml type")
        retired = bool(entry.get("retired", False))
        if not retired and not entry.get("llama_name"):
            raise _broken(f"{label}: llama_name is required")
        ftype = int(_required(entry, "ftype", label))
        bpw = entry.get("bits_per_weight")
        reference = entry.get("reference")
        if bpw is None:
            same_as = entry.get("bits_per_weight_same_as")
            if not same_as:
                raise _broken(f"{label}: needs bits_per_weight or bits_per_weight_same_as")
            pending_same_as.append((label, ftype, same_as))
        elif reference not in references:
            raise _broken(f"{label}: unknown reference {reference!r}")
        quant = QuantLabel(
            label=label, kind="file", base=label, family=entry["family"],
            summary=_required(entry, "summary", label), explanation=_required(entry, "explanation", label),
            ftype=ftype, llama_name=entry.get("llama_name"),
            main_type=main_type, bits_per_weight=None if bpw is None else float(bpw), reference=reference,
            notes=(notes["retired"],) if retired else (), retired=retired,
            aliases=tuple(entry.get("aliases", ())),
            quantize_cpp_gib=entry.get("quantize_cpp_gib"), quantize_cpp_ppl=entry.get("quantize_cpp_ppl"),
        )
        if ftype in by_ftype:
            raise _broken(f"{label}: file type id {ftype} already belongs to {by_ftype[ftype].label}")
        file_types[label] = by_ftype[ftype] = quant
        for alias in quant.aliases:
            if alias in aliases or alias in file_types:
                raise _broken(f"alias {alias} is used twice")
            aliases[alias] = label
    for label, ftype, same_as in pending_same_as:
        source = file_types.get(same_as)
        if source is None or source.bits_per_weight is None:
            raise _broken(f"{label}: bits_per_weight_same_as {same_as!r} has no figure")
        file_types[label] = by_ftype[ftype] = _replace(
            file_types[label], bits_per_weight=source.bits_per_weight, reference=source.reference)
    clash = set(aliases) & set(file_types)
    if clash:
        raise _broken(f"aliases clash with labels: {sorted(clash)}")

    variants: dict[str, QuantLabel] = {}
    for entry in _entries(data, "variant"):
        label = _required(entry, "label", "variant")
        base = file_types.get(entry.get("base", ""))
        if base is None:
            raise _broken(f"variant {label}: unknown base {entry.get('base')!r}")
        if label in variants or label in file_types or label in aliases:
            raise _broken(f"variant {label} clashes with another label")
        missing = [n for n in entry.get("notes", ()) if n not in notes]
        if missing:
            raise _broken(f"variant {label}: unknown notes {missing}")
        bpw = entry.get("bits_per_weight")
        if bpw is not None and entry.get("reference") not in references:
            raise _broken(f"variant {label}: unknown reference {entry.get('reference')!r}")
        variants[label] = _replace(
            base, label=label, summary=_required(entry, "summary", label),
            bits_per_weight=base.bits_per_weight if bpw is None else float(bpw),
            bits_per_weight_approximate=bpw is None,
            reference=base.reference if bpw is None else entry["reference"],
            notes=tuple(notes[n] for n in entry.get("notes", ())), aliases=(),
            quantize_cpp_gib=None, quantize_cpp_ppl=None,
        )

    tensor_types: dict[str, QuantLabel] = {}
    for entry in _entries(data, "tensor_type"):
        name = _required(entry, "name", "tensor_type")
        ggml = GGML_TYPES_BY_NAME.get(name)
        if ggml is None:
            raise _broken(f"tensor type {name} is not in tui/core/gguf/ggml_types.py")
        if name in tensor_types:
            raise _broken(f"tensor type {name} is listed twice")
        _check_family(entry, families, name)
        summary = _required(entry, "summary", name)
        tensor_types[name] = QuantLabel(
            label=name, kind="tensor", base=name, family=entry["family"], summary=summary,
            explanation=_tensor_sentence(ggml, summary), main_type=name, bits_per_weight=ggml.bits_per_weight,
        )
    return LabelCatalog(families, notes, references, file_types, variants, tensor_types, aliases, by_ftype)


def _entries(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list) or not entries:
        raise _broken(f"no [[{key}]] entries")
    return entries


def _required(entry: dict[str, Any], key: str, where: str) -> Any:
    value = entry.get(key)
    if value is None or value == "":
        raise _broken(f"{where}: missing {key}")
    return value


def _check_family(entry: dict[str, Any], families: dict[str, Family], where: str) -> None:
    if entry.get("family") not in families:
        raise _broken(f"{where}: unknown family {entry.get('family')!r}")


def _broken(problem: str) -> CatalogError:
    return CatalogError(f"quant label catalog tui/data/{CATALOG_RESOURCE}: {problem}")


def _replace(quant: QuantLabel, **changes: Any) -> QuantLabel:
    return replace(quant, **changes)


def _tensor_sentence(ggml: GgmlType, summary: str) -> str:
    return (f"{summary[0].upper()}{summary[1:]}. ggml stores {ggml.block_size} "
            f"weight{'s' if ggml.block_size > 1 else ''} in {ggml.type_size} bytes: "
            f"{_format_bpw(ggml.bits_per_weight)} bits per weight.")


# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------


def lookup_label(text: str) -> QuantLabel | None:
    """Resolve a label as people write it; None when it means nothing known.

    Case-insensitive; accepts file types and aliases (``q4_k_m``, ``Q4_K``, ``FP16``, ``mxfp4``),
    publishers' variants (``Q4_K_L``, ``UD-Q4_K_XL``, ``Q4_K_XL``), the modifiers ``UD-``,
    ``i1-`` and ``-imat`` on any of them, and, without modifiers, ggml tensor types (``Q8_K``).
    """
    return _lookup(text if isinstance(text, str) else "")


@functools.lru_cache(maxsize=4096)
def _lookup(text: str) -> QuantLabel | None:
    """``lookup_label``, memoised: file listings ask about the same few labels over and over."""
    catalog = load_label_catalog()
    core, dynamic, imatrix_prefix, imatrix_suffix = _split_modifiers(text)
    if not core:
        return None

    extra_notes: list[Note] = []
    found = None
    if dynamic:
        found = catalog.variants.get(f"UD-{core}")
    if found is None:
        found = catalog.file_type(core)
        if found is not None and core != found.label:
            extra_notes.append(catalog.notes["alias"])
    if found is None:
        variant = catalog.variants.get(core)
        if variant is not None and not variant.label.startswith("UD-"):
            found = variant
    if found is None and f"UD-{core}" in catalog.variants:
        found = catalog.variants[f"UD-{core}"]  # Unsloth's XL mix written without its UD- prefix
        dynamic = True
    if found is None:
        if dynamic or imatrix_prefix or imatrix_suffix:
            return None
        return catalog.tensor_types.get(core)

    notes = list(found.notes)
    if _MIX_SUFFIX.search(found.label.removeprefix("UD-")) and found.family in ("k-quant", "i-quant"):
        notes.append(catalog.notes["mix-size"])
    notes += extra_notes
    label = found.label
    summary = found.summary
    bpw_approximate = found.bits_per_weight_approximate
    if dynamic and not label.startswith("UD-"):
        label = f"UD-{label}"
        summary = f"Unsloth Dynamic mix in the {found.label} size class"
        bpw_approximate = True
    if dynamic and catalog.notes["unsloth-dynamic"] not in notes:
        notes.insert(0, catalog.notes["unsloth-dynamic"])
    if imatrix_prefix or imatrix_suffix:
        label = f"i1-{label}" if imatrix_prefix else f"{label}-imat"
        summary = f"{summary} (made with an importance matrix)"
        notes.append(catalog.notes["imatrix"])
    return _replace(found, label=label, summary=summary, bits_per_weight_approximate=bpw_approximate,
                    notes=tuple(_unique(notes)))


def lookup_tensor_type(name: str) -> QuantLabel | None:
    """A ggml tensor type by name (case-insensitive): Q4_K, Q8_0, MXFP4, I32 ..."""
    return load_label_catalog().tensor_types.get(_normalise(name or ""))


def require_label(text: str) -> QuantLabel:
    """``lookup_label`` that raises UnknownLabelError with a hint instead of returning None."""
    quant = lookup_label(text)
    if quant is None:
        raise UnknownLabelError(f"unknown quant label '{(text or '').strip()}'",
                                hint="'localai-tui labels' lists the known ones")
    return quant


def label_for_ftype(ftype_id: int) -> QuantLabel | None:
    """The file type for a ``general.file_type`` value (the "guessed" flag is ignored)."""
    return load_label_catalog().by_ftype.get(int(ftype_id) & ~FTYPE_GUESSED)


def ftype_label(ftype_id: int) -> str:
    """``general.file_type`` as a label ("Q4_K_M"); "unknown (N)" for ids llama.cpp does not define."""
    quant = label_for_ftype(ftype_id)
    return quant.label if quant else f"unknown ({ftype_id})"


def all_labels(*, include_variants: bool = True, include_retired: bool = True) -> tuple[QuantLabel, ...]:
    """Every file type (in the data file's order), then the publishers' variants, as ``lookup_label`` gives them."""
    catalog = load_label_catalog()
    names = [q.label for q in catalog.file_types.values() if include_retired or not q.retired]
    if include_variants:
        names += list(catalog.variants)
    found = [lookup_label(name) for name in names]
    return tuple(quant for quant in found if quant is not None)  # every name is the catalog's: none is dropped


def all_tensor_types() -> tuple[QuantLabel, ...]:
    return tuple(load_label_catalog().tensor_types.values())


def families() -> tuple[Family, ...]:
    return tuple(load_label_catalog().families.values())


def label_sort_key(label: QuantLabel | str) -> tuple[float, str]:
    """Orders labels from fewest to most bits per weight (unknown last), then by name, for tables."""
    quant = lookup_label(label) if isinstance(label, str) else label
    if quant is None:
        return (math.inf, str(label).upper())
    bpw = quant.bits_per_weight
    return (math.inf if bpw is None else bpw, quant.label.upper())


# ---------------------------------------------------------------------------------------------
# Explaining
# ---------------------------------------------------------------------------------------------


def explain_label(text: str) -> str:
    """A newcomer's explanation of a label: what it is, its size, its modifiers and its family.

    Plain text, paragraphs separated by blank lines, not wrapped (the caller wraps to its width).
    Raises UnknownLabelError for labels the catalog does not know.
    """
    quant = require_label(text)
    catalog = load_label_catalog()
    if quant.kind == "tensor":
        return _explain_tensor_type(quant, catalog)

    facts = []
    if quant.retired:
        facts.append(f"Retired llama.cpp file type {quant.ftype}: current llama.cpp cannot load it.")
    elif quant.is_variant:
        facts.append(f"Built on {quant.base}, llama.cpp file type {quant.ftype} (\"{quant.llama_name}\").")
    else:
        facts.append(f"llama.cpp file type {quant.ftype} (\"{quant.llama_name}\"), "
                     f"{catalog.families[quant.family].name}.")
    facts.append(_size_sentence(quant, catalog))
    main_bpw = quant.main_type_bits_per_weight
    if main_bpw is not None:
        facts.append(f"Most weights are {quant.main_type} ({_format_bpw(main_bpw)} bits per weight).")

    paragraphs = [f"{quant.label}: {quant.summary}", " ".join(facts)]
    if quant.is_variant:
        paragraphs.append(f"{quant.base}: {quant.explanation}")
    else:
        paragraphs.append(quant.explanation)
    paragraphs += [f"{note.name}: {note.explanation}" for note in quant.notes]
    core = _split_modifiers(text)[0]
    tensor = catalog.tensor_types.get(core)
    if tensor is not None and core != quant.base:
        paragraphs.append(f"As a ggml tensor type, {tensor.label}: {tensor.explanation}")
    family = catalog.families[quant.family]
    paragraphs.append(f"{family.name[0].upper()}{family.name[1:]}: {family.explanation}")
    return "\n\n".join(paragraphs)


def describe_label(label: str | None) -> str:
    """``explain_label``'s text, or in its place why there is none (no label in the file name, an unknown
    label): for a panel that shows something either way."""
    if not label:
        return "This file's name carries no quant label."
    try:
        return explain_label(label)
    except LocalAIError as exc:
        return str(exc)


def explain_tensor_type(name: str) -> str:
    """Explanation of a ggml tensor type (as listed per tensor in a GGUF)."""
    quant = lookup_tensor_type(name)
    if quant is None:
        raise UnknownLabelError(f"unknown ggml tensor type '{name.strip()}'")
    return _explain_tensor_type(quant, load_label_catalog())


def _explain_tensor_type(quant: QuantLabel, catalog: LabelCatalog) -> str:
    family = catalog.families[quant.family]
    paragraphs = [f"{quant.label}: ggml tensor type, {family.name}", quant.explanation]
    same_name = catalog.file_types.get(quant.label)
    if same_name is not None:
        paragraphs.append(f"The file type {same_name.label} (\"{same_name.llama_name}\") uses it for most weights: "
                          f"{same_name.summary}.")
    paragraphs.append(f"{family.name[0].upper()}{family.name[1:]}: {family.explanation}")
    return "\n\n".join(paragraphs)


def _size_sentence(quant: QuantLabel, catalog: LabelCatalog) -> str:
    if quant.bits_per_weight is None:
        return "No typical size is known."
    reference = catalog.references.get(quant.reference or "")
    where = ""
    if reference is not None:
        gigabytes = reference.n_params * quant.bits_per_weight / 8 / 1e9
        where = f" on {reference.model} ({gigabytes:.1f} GB)"
    if quant.bits_per_weight_approximate:
        return (f"Size: close to {quant.base}, about {quant.bits_per_weight:.2f} bits per weight{where}; "
                f"the real mix varies by model.")
    return f"Typical size: {quant.bits_per_weight:.2f} bits per weight{where}."


def _format_bpw(bits: float) -> str:
    return f"{bits:.4f}".rstrip("0").rstrip(".")


def _normalise(text: str) -> str:
    """Upper case, with '-', '.' and spaces read as '_' (``q4-k-m`` is Q4_K_M)."""
    return re.sub(r"[-. ]", "_", text.strip()).upper()


def _split_modifiers(text: str) -> tuple[str, bool, bool, bool]:
    """(normalised core label, UD- prefix, i1- prefix, -imat suffix) of a label as written."""
    core = (text or "").strip()
    dynamic = imatrix_prefix = imatrix_suffix = False
    for _ in range(2):
        match = _PREFIX.match(core)
        if not match:
            break
        if match["prefix"].lower() == "ud":
            dynamic = True
        else:
            imatrix_prefix = True
        core = match["rest"]
    match = _IMATRIX_SUFFIX.match(core)
    if match:
        imatrix_suffix = True
        core = match["rest"]
    return _normalise(core), dynamic, imatrix_prefix, imatrix_suffix


def _unmodified(label: str) -> str:
    """A resolved label without the importance-matrix marks, which change no tensor types."""
    return label.removeprefix("i1-").removesuffix("-imat")


def _unique(notes: list[Note]) -> list[Note]:
    seen: set[str] = set()
    result = []
    for note in notes:
        if note.id not in seen:
            seen.add(note.id)
            result.append(note)
    return result
