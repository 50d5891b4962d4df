"""Read a Hugging Face GGUF file path the way people name them: model, size, quant label, shard.

Real repositories follow a handful of conventions, all handled here:

* ``Qwen3-8B-Q4_K_M.gguf`` (ggml-org, Qwen, unsloth, lmstudio-community), bartowski's
  ``Qwen_Qwen3-8B-Q4_K_L.gguf`` and Qwen's lower-case ``qwen2.5-7b-instruct-q4_k_m.gguf``;
* TheBloke's and mradermacher's dots: ``llama-2-7b.Q4_K_M.gguf``, ``Qwen3-8B.i1-Q4_K_M.gguf``;
* Unsloth's ``UD-`` labels and folder-per-quant layout: ``UD-Q4_K_XL/Model-UD-Q4_K_XL-00001-of-00003.gguf``;
* shards: llama.cpp's ``-00001-of-00003.gguf`` (gguf-split), mradermacher's ``.gguf.part1of2`` and
  TheBloke's old ``.gguf-split-a``;
* side files: vision projectors (``mmproj-*``), multi-token-prediction heads (``mtp-*``) and
  importance matrices (``imatrix.dat``, ``*.imatrix``, ``*-imatrix.gguf``).

``label`` is the quant label as published, in one spelling: upper case, with the modifiers written
``UD-``, ``i1-`` (mradermacher's imatrix quants) and ``-imat``: "Q4_K_M", "UD-Q4_K_XL", "i1-Q4_K_M",
"Q4_K_L", "BF16", "FP16", "MXFP4". ``base_label`` is the llama.cpp file type it resolves to in the
label catalog ("Q4_K_M", "Q4_K_M", "Q4_K_M", "Q4_K_M", "BF16", "F16", "MXFP4_MOE").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.core.gguf.labels import QuantLabel, lookup_label

KINDS = ("model", "mmproj", "mtp", "imatrix", "other")

_SEP = r"[-_.]"
# A quant label candidate; the label catalog decides whether it is a real one.
_LABEL = re.compile(
    r"""(?<![A-Za-z0-9])
    (?:(?P<prefix>UD|i1)[-_])?
    (?P<core>
        Q[2-8]_K(?:_(?:S|M|L|XL))?
      | Q[1-8]_[01](?:_[48]_[48])?
      | IQ[1-4]_(?:XXS|XS|S|M|NL)
      | TQ[12]_0
      | MXFP4(?:_MOE)?
      | NVFP4
      | BF16 | FP16 | FP32 | F16 | F32
    )
    (?P<imat>[-_.]imat(?:rix)?)?
    (?![A-Za-z0-9])""",
    re.IGNORECASE | re.VERBOSE,
)
# A parameter count: 8B, 0.6B, 135M, E4B (Gemma 3n), 8x7B (Mixtral), 30B-A3B (MoE active), 17B-16E (Llama 4).
_SIZE = re.compile(
    r"""(?<![A-Za-z0-9.])
    (?:
        E(?P<effective>\d+(?:\.\d+)?)B
      | (?P<n_experts>\d+)x(?P<expert_size>\d+(?:\.\d+)?)(?P<expert_unit>[BMT])
      | (?P<total>\d+(?:\.\d+)?)(?P<unit>[BMT])(?:[-_](?:A(?P<active>\d+(?:\.\d+)?)B|(?P<experts>\d+)E))?
    )
    (?![A-Za-z0-9])""",
    re.IGNORECASE | re.VERBOSE,
)
_SPLIT_SHARD = re.compile(r"^(?P<stem>.+)-(?P<index>\d+)-of-(?P<count>\d+)\.gguf$", re.IGNORECASE)
_PART_SHARD = re.compile(r"^(?P<stem>.+)\.gguf\.part(?P<index>\d+)of(?P<count>\d+)$", re.IGNORECASE)
_LETTER_SHARD = re.compile(r"^(?P<stem>.+)\.gguf-split-(?P<letter>[a-z])$", re.IGNORECASE)
_PLAIN_GGUF = re.compile(r"^(?P<stem>.+)\.gguf$", re.IGNORECASE)
_SIDE_FILE_EXTENSIONS = (".gguf", ".dat", ".bin", ".gguf_file")


@dataclass(frozen=True)
class GgufFileName:
    """What a repository path says about the file; nothing is read from the file itself.

    ``folder``: the directory part ("" at the top). ``base_name``: the name without label, shard,
    kind marker and extension ("Qwen3-8B", "gemma-3-27b-it"), None when nothing is left
    (``mmproj-BF16.gguf``). ``shard_index`` is 1-based; ``shard_count`` is None for TheBloke's
    lettered splits, which do not say. ``group_key``: equal for all shards of one file, and
    different between labels, folders and kinds: the path with the shard marker removed.
    """

    path: str
    filename: str
    folder: str
    kind: str
    base_name: str | None
    label: str | None
    base_label: str | None
    shard_index: int | None
    shard_count: int | None
    size_label: str | None
    group_key: str

    @property
    def is_sharded(self) -> bool:
        return self.shard_index is not None

    @property
    def is_first_shard(self) -> bool:
        """True for an unsharded file and for shard 1: the file llama.cpp is pointed at."""
        return self.shard_index in (None, 1)

    def quant(self) -> QuantLabel | None:
        """The label's catalog entry (with its modifiers), or None."""
        return lookup_label(self.label) if self.label else None


def parse_gguf_filename(path: str) -> GgufFileName:
    """Parse a repository path such as ``UD-Q4_K_XL/Qwen3-235B-A22B-UD-Q4_K_XL-00001-of-00003.gguf``.

    Never raises for odd names: what cannot be recognised is left None (label, size, shard), and
    files that are not GGUF weights get kind "other".
    """
    clean = str(path).replace("\\", "/").strip()
    folder, _, filename = clean.rpartition("/")
    stem, shard_index, shard_count, is_gguf = _split_shard(filename)
    group_key = f"{folder}/{stem}.gguf" if folder and shard_index else (f"{stem}.gguf" if shard_index else clean)

    label_match = _find_label(stem) if is_gguf else None
    label_match_is_float = label_match is not None and _is_float(label_match)
    if _has_token(filename, "imatrix") and (label_match is None or label_match_is_float):
        base = _remove_token(_strip_extension(filename), "imatrix")
        return GgufFileName(clean, filename, folder, "imatrix", _clean_base(base), None, None, None, None,
                            _size_label(base), clean)
    if not is_gguf:
        return GgufFileName(clean, filename, folder, "other", _clean_base(_strip_extension(filename)), None, None,
                            None, None, None, clean)

    kind = "model"
    base = stem
    for marker in ("mmproj", "mtp"):
        if _has_token(stem, marker):
            kind = marker
            base = _remove_token(stem, marker)
            break
    label = base_label = None
    match = _find_label(base)
    if match is not None:
        label, base_label = _label_from(match)
        base = base[:match.start()]
    elif folder:
        folder_match = _find_label(folder.rpartition("/")[2])
        if folder_match is not None:
            label, base_label = _label_from(folder_match)
    base_name = _clean_base(base)
    return GgufFileName(clean, filename, folder, kind, base_name, label, base_label, shard_index, shard_count,
                        _size_label(base_name or ""), group_key)


def _split_shard(filename: str) -> tuple[str, int | None, int | None, bool]:
    """(stem, shard index, shard count, is a GGUF) for a file name."""
    for pattern in (_PART_SHARD, _SPLIT_SHARD):
        match = pattern.match(filename)
        if match:
            index, count = int(match["index"]), int(match["count"])
            if 1 <= index <= count:
                return match["stem"], index, count, True
    match = _LETTER_SHARD.match(filename)
    if match:
        return match["stem"], ord(match["letter"].lower()) - ord("a") + 1, None, True
    match = _PLAIN_GGUF.match(filename)
    if match:
        return match["stem"], None, None, True
    return filename, None, None, False


def _find_label(text: str) -> re.Match[str] | None:
    """The last label candidate in ``text`` that the catalog knows as a file label."""
    found = None
    for match in _LABEL.finditer(text):
        quant = lookup_label(_canonical(match))
        if quant is not None and quant.kind == "file":
            found = match
    return found


def _canonical(match: re.Match[str]) -> str:
    prefix = (match["prefix"] or "").upper()
    core = match["core"].upper()
    if prefix == "I1":
        core = f"i1-{core}"
    elif prefix == "UD":
        core = f"UD-{core}"
    return f"{core}-imat" if match["imat"] else core


def _label_from(match: re.Match[str]) -> tuple[str, str | None]:
    label = _canonical(match)
    quant = lookup_label(label)
    return label, quant.base if quant else None


def _is_float(match: re.Match[str]) -> bool:
    quant = lookup_label(_canonical(match))
    return quant is not None and quant.family == "float"


def _has_token(text: str, token: str) -> bool:
    return re.search(rf"(?:^|{_SEP}){token}(?:{_SEP}|$)", text, re.IGNORECASE) is not None


def _remove_token(text: str, token: str) -> str:
    """Remove ``token`` and one separator next to it: "a.mmproj-f16" -> "a-f16", "mtp-x" -> "x"."""
    match = re.search(rf"(^|{_SEP}){token}({_SEP}|$)", text, re.IGNORECASE)
    if match is None:
        return text
    if not match.group(1):
        return text[match.end():]
    return text[:match.start()] + match.group(2) + text[match.end():]


def _strip_extension(filename: str) -> str:
    lower = filename.lower()
    for extension in _SIDE_FILE_EXTENSIONS:
        if lower.endswith(extension):
            return filename[: -len(extension)]
    return filename.rsplit(".", 1)[0] if "." in filename[1:] else filename


def _clean_base(text: str) -> str | None:
    base = text.strip(" -_.")
    return base or None


def _size_label(text: str) -> str | None:
    """The first parameter-count token, normalised: "30b-a3b" -> "30B-A3B", "8x7b" -> "8x7B"."""
    match = _SIZE.search(text)
    if match is None:
        return None
    if match["effective"]:
        return f"E{match['effective']}B"
    if match["n_experts"]:
        return f"{match['n_experts']}x{match['expert_size']}{match['expert_unit'].upper()}"
    size = f"{match['total']}{match['unit'].upper()}"
    if match["active"]:
        return f"{size}-A{match['active']}B"
    if match["experts"]:
        return f"{size}-{match['experts']}E"
    return size
