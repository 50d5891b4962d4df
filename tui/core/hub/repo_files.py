"""A repo's GGUF files grouped the way people choose them: one row per quant label.

A "label" row gathers what one download means: every shard of a split model (summed),
whether the shards sit in the root (``Model-Q8_0-00001-of-00002.gguf``) or in a folder per
quant (Unsloth's ``BF16/...``). File names are read by ``tui.core.gguf.filenames`` (publishers'
conventions: ``UD-``, ``_L``, ``.i1-``, lower case), labels explained by ``tui.core.gguf.labels``.

Side files (vision projectors ``mmproj``, multi-token-prediction heads ``mtp``, importance
matrices) are listed apart, each linked to the models it serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.errors import LocalAIError
from tui.core.gguf.filenames import GgufFileName, parse_gguf_filename
from tui.core.gguf.labels import QuantLabel, label_sort_key, lookup_label
from tui.core.hub.repo_listing import HubFile, RepoListing

SIDE_KINDS = ("mmproj", "mtp", "imatrix")


@dataclass(frozen=True)
class QuantGroup:
    """The files of one quant of the model: the shards of a split file, or one file.

    ``label`` as published ("Q4_K_M", "UD-Q4_K_XL", "i1-Q4_K_M"); None when the file name
    has none (then ``name`` identifies the row). Sizes in bytes.
    """

    label: str | None
    files: tuple[HubFile, ...]  # in shard order
    parsed: GgufFileName  # the first shard's name, read
    shard_count_expected: int | None  # what the names say (None: unsplit or unknown)
    quant: QuantLabel | None
    n_params: int | None  # from the Hub's gguf summary, when it has one

    @property
    def name(self) -> str:
        """What identifies the row: the label, else the file path (first shard)."""
        return self.label or self.files[0].path

    @property
    def first_path(self) -> str:
        return self.files[0].path

    @property
    def folder(self) -> str:
        return self.parsed.folder

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def shards(self) -> int:
        return len(self.files)

    @property
    def complete(self) -> bool:
        """All shards the names announce are in the repo."""
        expected = self.shard_count_expected
        return expected is None or expected == len(self.files)

    @property
    def bits_per_weight(self) -> float | None:
        """Bits per parameter of this download: bytes * 8 / the model's parameter count."""
        if not self.n_params:
            return None
        return self.size_bytes * 8 / self.n_params

    @property
    def family(self) -> str | None:
        return self.quant.family if self.quant else None

    @property
    def summary(self) -> str | None:
        return self.quant.summary if self.quant else None


@dataclass(frozen=True)
class SideFile:
    """A file that goes with models rather than being one: ``serves`` names the rows it belongs to."""

    kind: str  # "mmproj", "mtp" or "imatrix"
    file: HubFile
    label: str | None  # precision of a projector ("F16"), if named
    serves: tuple[str, ...]  # QuantGroup names

    @property
    def path(self) -> str:
        return self.file.path


@dataclass(frozen=True)
class RepoQuants:
    """A repo's quant rows (smallest bits per weight first) and its side files."""

    listing: RepoListing
    groups: tuple[QuantGroup, ...]
    side_files: tuple[SideFile, ...]

    @property
    def repo_id(self) -> str:
        return self.listing.repo_id

    def find(self, label: str) -> QuantGroup:
        """The row for ``label`` as a user types it (any case, ``q4_k_m``, ``FP16`` for F16 ...)."""
        group = self.lookup(label)
        if group is None:
            known = ", ".join(g.label for g in self.groups if g.label) or "none"
            raise LocalAIError(f"{self.repo_id} has no {label.strip()} file", hint=f"labels there: {known}")
        return group

    def lookup(self, label: str) -> QuantGroup | None:
        wanted = label.strip()
        if not wanted:
            return None
        exact = [g for g in self.groups if g.label and g.label.lower() == wanted.lower()]
        if exact:
            return exact[0]
        quant = lookup_label(_without_imatrix_marks(wanted))
        if quant is None:
            return None
        same = [g for g in self.groups if g.label and _same_quant(g.label, quant)]
        return same[0] if len(same) == 1 else None

    def group_for_path(self, path: str) -> QuantGroup | None:
        """The row a file belongs to (any shard of it)."""
        return next((g for g in self.groups if any(f.path == path for f in g.files)), None)

    def side_files_for(self, group: QuantGroup) -> tuple[SideFile, ...]:
        return tuple(s for s in self.side_files if group.name in s.serves)


def _without_imatrix_marks(label: str) -> str:
    """``i1-Q4_K_M`` / ``Q4_K_M-imat`` -> ``Q4_K_M``: an importance matrix does not change the quant type."""
    text = label.strip()
    if text[:3].lower() == "i1-":
        text = text[3:]
    for suffix in ("-imat", "_imat", ".imat"):
        if text.lower().endswith(suffix):
            text = text[: -len(suffix)]
    return text


def _same_quant(group_label: str, quant: QuantLabel) -> bool:
    found = lookup_label(_without_imatrix_marks(group_label))
    return found is not None and found.label == quant.label


def group_repo_files(listing: RepoListing) -> RepoQuants:
    """Group ``listing``'s GGUF files by quant label; side files apart, linked to their models."""
    buckets: dict[tuple[str, str], list[tuple[GgufFileName, HubFile]]] = {}
    sides: list[tuple[GgufFileName, HubFile]] = []
    for file in listing.files:
        parsed = parse_gguf_filename(file.path)
        if parsed.kind in SIDE_KINDS:
            sides.append((parsed, file))
        elif parsed.kind == "model":
            buckets.setdefault((parsed.kind, parsed.group_key), []).append((parsed, file))
    groups = [_group(members, listing.n_params) for members in buckets.values()]
    groups.sort(key=_group_order)
    side_files = tuple(_side_file(parsed, file, groups) for parsed, file in sides)
    return RepoQuants(listing, tuple(groups), side_files)


def _group(members: list[tuple[GgufFileName, HubFile]], n_params: int | None) -> QuantGroup:
    members.sort(key=lambda m: (m[0].shard_index or 0, m[1].path))
    first = members[0][0]
    quant = lookup_label(first.label) if first.label else None
    return QuantGroup(first.label, tuple(f for _, f in members), first, first.shard_count, quant, n_params)


def _group_order(group: QuantGroup) -> tuple[bool, tuple[float, str], str, str]:
    key = label_sort_key(group.quant) if group.quant else label_sort_key(group.label or group.first_path)
    return (group.label is None, key, group.folder, group.first_path)


def _side_file(parsed: GgufFileName, file: HubFile, groups: list[QuantGroup]) -> SideFile:
    """Link a side file to the models with its base name, or to every model when it names none of them."""
    base = (parsed.base_name or "").lower()
    matching = [g for g in groups if base and (g.parsed.base_name or "").lower() == base]
    if not matching and base:
        matching = [g for g in groups if (g.parsed.base_name or "").lower().startswith(base)
                    or base.startswith((g.parsed.base_name or "\0").lower())]
    if not matching:
        matching = [g for g in groups if g.folder == parsed.folder or not parsed.folder] or groups
    return SideFile(parsed.kind, file, parsed.label, tuple(g.name for g in matching))
