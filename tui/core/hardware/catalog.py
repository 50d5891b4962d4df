"""The built-in device catalog (``tui/data/gpus.toml``): what a card or RAM setup holds and how fast it reads.

The file is read once, on first use, and checked as it loads, so a bad edit fails with a
message naming the entry instead of a wrong estimate later. ``find_device`` turns what people
type ("rtx 3060", "3060 12gb", "P40") into one entry or a clear error; ``match_detected_name``
maps a driver's device name (NVML's "NVIDIA GeForce RTX 3090") back to the catalog.

Sizes are GiB in the file and bytes on the objects' ``*_bytes`` properties; bandwidths are GB/s.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tui.core.errors import LocalAIError
from tui.core.hardware.devices import GpuSpec
from tui.core.sizes import GiB
from tui.core.toml_io import TOMLDecodeError, packaged_text, parse_toml

BACKENDS = ("CUDA", "ROCm", "Metal", "Vulkan", "SYCL", "CPU")
CATEGORIES = ("consumer", "used", "workstation", "datacenter", "apple", "cpu")

#: Words that say who made a device, not which device it is ("NVIDIA GeForce RTX 3090" = "RTX 3090").
_VENDOR_WORDS = frozenset({"nvidia", "geforce", "tesla", "amd", "radeon", "instinct", "intel", "apple", "gpu", "graphics"})
_SIZE_RE = re.compile(r"(\d+)\s*(?:gib|gb|g)\b")
_TOKEN_RE = re.compile(r"\d+gb|[a-z]+|\d+")

_DEVICE_KEYS = {"name", "vram_gib", "bandwidth_gbps", "backend", "category", "note",
                "aliases", "unified_memory", "ram_gib", "efficiency", "memory", "fp16_tflops",
                "source"}


class UnknownDeviceError(LocalAIError):
    """No catalog entry matches; ``suggestions`` holds names that look close."""

    def __init__(self, query: str, suggestions: list[str]) -> None:
        did_you_mean = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"no device called '{query}' in the catalog{did_you_mean}",
                         hint="'localai-tui gpus' lists the catalog")
        self.query = query
        self.suggestions = suggestions


class AmbiguousDeviceError(LocalAIError):
    """Several catalog entries match equally well; ``candidates`` lists them."""

    def __init__(self, query: str, candidates: list[CatalogDevice]) -> None:
        names = ", ".join(d.name for d in candidates[:12]) + (", ..." if len(candidates) > 12 else "")
        super().__init__(f"'{query}' matches several devices: {names}",
                         hint="type more of the name, or use its number from 'localai-tui gpus'")
        self.query = query
        self.candidates = candidates


def name_tokens(text: str) -> tuple[str, ...]:
    """Split a device name into comparable words: "RTX3060 12 GB" -> ("rtx", "3060", "12gb").

    Letters and digits are split apart ("a100" -> "a", "100"), memory sizes become one token
    ("12 GB", "12g" -> "12gb") and vendor words are dropped.
    """
    lowered = _SIZE_RE.sub(lambda m: f" {m.group(1)}gb ", text.lower())
    return tuple(t for t in _TOKEN_RE.findall(lowered) if t not in _VENDOR_WORDS)


def _is_size(token: str) -> bool:
    return token.endswith("gb") and token[:-2].isdigit()


@dataclass(frozen=True)
class MetalWorkingSetRule:
    """How much of an Apple machine's RAM the GPU may use (Metal's recommendedMaxWorkingSetSize).

    Up to ``threshold_gib`` of RAM the GPU gets ``fraction_up_to_threshold``; above, ``fraction_above``.
    """

    threshold_gib: float
    fraction_up_to_threshold: float
    fraction_above: float

    def gpu_share_bytes(self, ram_bytes: int) -> int:
        fraction = self.fraction_up_to_threshold if ram_bytes <= self.threshold_gib * GiB else self.fraction_above
        return int(ram_bytes * fraction)


@dataclass(frozen=True)
class CatalogDevice:
    """One catalog entry: a GPU, an Apple/unified machine, or a CPU-only RAM setup.

    ``number`` is its 1-based position, as ``localai-tui gpus`` lists it and ``--gpu N`` takes it.
    ``vram_gib`` is 0 for CPU entries and, for unified machines, the GPU's share of ``ram_gib``.
    ``ram_gib`` is None when the device brings no RAM of its own (a plug-in card, a desktop RAM kit):
    profiles then use the RAM detected on this machine. ``efficiency`` is decode's fraction of
    ``bandwidth_gbps`` (the device's own or its backend's).
    """

    number: int
    name: str
    vram_gib: float
    bandwidth_gbps: float
    backend: str
    category: str
    note: str
    efficiency: float
    aliases: tuple[str, ...] = ()
    unified_memory: bool = False
    ram_gib: float | None = None
    memory: str = ""  # HBM2e, GDDR6X, LPDDR5X ... (optional): picks the speed model's device class
    fp16_tflops: float | None = None  # dense FP16 tensor TFLOPS from the vendor's spec sheet (optional)

    @property
    def is_cpu(self) -> bool:
        """A RAM setup for CPU-only inference, not a GPU."""
        return self.backend == "CPU"

    @property
    def vram_bytes(self) -> int:
        return int(round(self.vram_gib * GiB))

    @property
    def ram_bytes(self) -> int | None:
        return None if self.ram_gib is None else int(round(self.ram_gib * GiB))

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def gpu_spec(self, index: int = 0) -> GpuSpec:
        """This card as a ``GpuSpec`` (all memory assumed free: nothing is known about usage)."""
        if self.is_cpu:
            raise LocalAIError(f"'{self.name}' is a RAM setup, not a GPU")
        return GpuSpec(name=self.name, vram_bytes=self.vram_bytes, bandwidth_gbps=self.bandwidth_gbps,
                       backend=self.backend, index=index, efficiency=self.efficiency, memory=self.memory,
                       fp16_tflops=self.fp16_tflops)


@dataclass(frozen=True)
class Catalog:
    """The loaded catalog: devices in file order plus the rules stored beside them."""

    devices: tuple[CatalogDevice, ...]
    backend_efficiency: dict[str, float]
    default_ram_setup: CatalogDevice
    metal_rule: MetalWorkingSetRule

    def __len__(self) -> int:
        return len(self.devices)

    def by_number(self, number: int) -> CatalogDevice:
        if not 1 <= number <= len(self.devices):
            raise LocalAIError(f"no catalog entry number {number}: they run from 1 to {len(self.devices)}",
                               hint="'localai-tui gpus' lists them")
        return self.devices[number - 1]


def catalog_text() -> str:
    """The raw catalog file (package data)."""
    return packaged_text("gpus.toml")


@lru_cache(maxsize=1)
def load_gpu_catalog() -> Catalog:
    """Parse and check ``gpus.toml`` once; later calls return the same object."""
    return parse_gpu_catalog(catalog_text(), source="tui/data/gpus.toml")


def parse_gpu_catalog(text: str, source: str = "gpus.toml") -> Catalog:
    """Build a ``Catalog`` from TOML text; any inconsistency raises ``LocalAIError`` naming the entry."""
    try:
        data = parse_toml(text)
    except TOMLDecodeError as exc:
        raise LocalAIError(f"{source} is not valid TOML: {exc}") from None

    def fail(message: str) -> LocalAIError:
        return LocalAIError(f"{source}: {message}")

    efficiency = data.get("efficiency", {})
    for backend in BACKENDS:
        value = efficiency.get(backend)
        if not _is_fraction(value):
            raise fail(f"[efficiency] {backend} must be a number between 0 and 1")
    rule_data = data.get("metal_working_set", {})
    try:
        rule = MetalWorkingSetRule(float(rule_data["threshold_gib"]), float(rule_data["fraction_up_to_threshold"]),
                                   float(rule_data["fraction_above_threshold"]))
    except (KeyError, TypeError, ValueError):
        raise fail("[metal_working_set] needs threshold_gib, fraction_up_to_threshold, fraction_above_threshold") from None
    if not (_is_fraction(rule.fraction_up_to_threshold) and _is_fraction(rule.fraction_above)):
        raise fail("[metal_working_set] fractions must be between 0 and 1")

    devices = []
    seen: dict[tuple[str, ...], str] = {}
    for number, entry in enumerate(data.get("device", []), start=1):
        device = _parse_device(number, entry, efficiency, rule, fail)
        for spelling in device.spellings:
            key = name_tokens(spelling)
            if key in seen:
                raise fail(f"device '{device.name}': '{spelling}' is already the name of '{seen[key]}'")
            seen[key] = device.name
        devices.append(device)
    if not devices:
        raise fail("no [[device]] entries")

    default_name = data.get("defaults", {}).get("ram_setup")
    default = next((d for d in devices if d.name == default_name and d.is_cpu), None)
    if default is None:
        raise fail(f"[defaults] ram_setup '{default_name}' is not a CPU entry of the catalog")
    return Catalog(tuple(devices), dict(efficiency), default, rule)


def _parse_device(number: int, entry: dict[str, Any], efficiency: dict[str, Any], rule: MetalWorkingSetRule,
                  fail: Callable[[str], LocalAIError]) -> CatalogDevice:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail(f"device #{number} has no name")
    where = f"device '{name}'"
    unknown = set(entry) - _DEVICE_KEYS
    if unknown:
        raise fail(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    backend, category = entry.get("backend"), entry.get("category")
    if backend not in BACKENDS:
        raise fail(f"{where}: backend must be one of {', '.join(BACKENDS)}")
    if category not in CATEGORIES:
        raise fail(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    if (backend == "CPU") != (category == "cpu"):
        raise fail(f"{where}: backend CPU and category cpu go together")
    note = entry.get("note")
    if not isinstance(note, str) or not note.strip():
        raise fail(f"{where}: needs a short note")
    bandwidth: Any = entry.get("bandwidth_gbps")  # raw TOML values, checked one by one
    if not _is_positive(bandwidth):
        raise fail(f"{where}: bandwidth_gbps must be a positive number (GB/s)")
    unified = entry.get("unified_memory", False)
    if not isinstance(unified, bool):
        raise fail(f"{where}: unified_memory must be true or false")
    ram: Any = entry.get("ram_gib")
    if ram is not None and not _is_positive(ram):
        raise fail(f"{where}: ram_gib must be a positive number (GiB)")
    if unified and ram is None:
        raise fail(f"{where}: a unified-memory device needs ram_gib (the shared pool)")
    vram: Any = entry.get("vram_gib")
    if vram is None and unified and backend == "Metal":
        vram = rule.gpu_share_bytes(int(ram * GiB)) / GiB
    if backend == "CPU":
        if vram not in (0, 0.0):
            raise fail(f"{where}: a CPU entry has vram_gib = 0")
    elif not _is_positive(vram):
        raise fail(f"{where}: vram_gib must be a positive number (GiB)")
    if unified and vram > ram:
        raise fail(f"{where}: the GPU's share (vram_gib) cannot exceed the shared RAM (ram_gib)")
    own_efficiency = entry.get("efficiency", efficiency[backend])
    if not _is_fraction(own_efficiency):
        raise fail(f"{where}: efficiency must be a number between 0 and 1")
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise fail(f"{where}: aliases must be a list of names")
    memory = entry.get("memory", "")
    if not isinstance(memory, str):
        raise fail(f"{where}: memory must be a text such as 'HBM2e' or 'GDDR6X'")
    tflops = entry.get("fp16_tflops")
    if tflops is not None and not _is_positive(tflops):
        raise fail(f"{where}: fp16_tflops must be a positive number")
    return CatalogDevice(memory=memory, fp16_tflops=None if tflops is None else float(tflops), number=number, name=name.strip(), vram_gib=float(vram), bandwidth_gbps=float(bandwidth),
                         backend=backend, category=category, note=note.strip(), efficiency=float(own_efficiency),
                         aliases=tuple(a.strip() for a in aliases), unified_memory=unified,
                         ram_gib=None if ram is None else float(ram))


def _is_positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _is_fraction(value: object) -> bool:
    return _is_positive(value) and isinstance(value, (int, float)) and value <= 1


def metal_working_set_bytes(ram_bytes: int) -> int:
    """The GPU's share of an Apple machine's unified RAM by macOS's default rule (bytes)."""
    return load_gpu_catalog().metal_rule.gpu_share_bytes(ram_bytes)


def backend_efficiency(backend: str) -> float:
    """Decode's typical fraction of peak bandwidth on ``backend`` (CUDA, ROCm, Metal, Vulkan, SYCL, CPU)."""
    table = load_gpu_catalog().backend_efficiency
    if backend not in table:
        raise LocalAIError(f"unknown backend '{backend}'", hint=f"one of {', '.join(BACKENDS)}")
    return float(table[backend])


def _match(query: tuple[str, ...], spelling: tuple[str, ...]) -> tuple[int, int] | None:
    """How well a spelling covers every query word: (other words it has, other size words), or None.

    A bare number in the query also matches a size ("3060 12" finds "RTX 3060 12GB").
    """
    have = set(spelling)
    used = set()
    for token in query:
        if token in have:
            used.add(token)
        elif token.isdigit() and f"{token}gb" in have:
            used.add(f"{token}gb")
        else:
            return None
    extra = have - used
    sizes = sum(1 for t in extra if _is_size(t))
    return (len(extra) - sizes, sizes)


def find_device(query: str) -> CatalogDevice:
    """The catalog entry ``query`` names, forgiving case, spacing, vendor words and word order.

    Every word typed must appear in the entry's name or an alias; among those, the entry with the
    fewest other words wins ("3090" is the RTX 3090, not the 3090 Ti). Entries that differ only in
    ways the query did not say ("4060 ti": 8 or 16 GB?) make it ambiguous, and the error lists them.
    """
    catalog = load_gpu_catalog()
    words = name_tokens(query or "")
    if not words:
        raise LocalAIError("no device name given", hint="'localai-tui gpus' lists the catalog")
    ranked: dict[str, tuple[tuple[int, int], CatalogDevice]] = {}
    for device in catalog.devices:
        scores = [s for s in (_match(words, name_tokens(sp)) for sp in device.spellings) if s is not None]
        if scores:
            ranked[device.name] = (min(scores), device)
    if not ranked:
        raise UnknownDeviceError(query, close_device_names(query))
    best = min(score for score, _ in ranked.values())
    winners = [device for score, device in ranked.values() if score == best]
    if len(winners) == 1:
        return winners[0]
    raise AmbiguousDeviceError(query, winners)


def close_device_names(query: str, limit: int = 4) -> list[str]:
    """Catalog names that look like ``query`` (for "did you mean"), best first."""
    wanted = " ".join(name_tokens(query))
    by_key: dict[str, str] = {}
    for device in load_gpu_catalog().devices:
        for spelling in device.spellings:
            by_key.setdefault(" ".join(name_tokens(spelling)), device.name)
    names: list[str] = []
    for key in difflib.get_close_matches(wanted, list(by_key), n=limit * 2, cutoff=0.6):
        if by_key[key] not in names:
            names.append(by_key[key])
    return names[:limit]


def match_detected_name(device_name: str, memory_bytes: int | None = None) -> CatalogDevice | None:
    """The catalog entry for a name a driver reports, or None if the catalog does not know it.

    The driver's name may carry extra words ("NVIDIA A100-SXM4-80GB", "RTX 6000 Ada Generation"):
    an entry matches when all its words except sizes are in the reported name. Laptop parts
    ("RTX 4090 Laptop GPU": 16 GB, 576 GB/s) never match desktop entries of the same number. The entry that
    matches the most words wins; between variants of one card (RTX 4060 Ti 8/16 GB share a name),
    the one whose memory is closest to ``memory_bytes`` (VRAM, or RAM for unified machines) wins.
    """
    words = set(name_tokens(device_name))
    laptop = {"laptop", "mobile"} & words
    best_key = None
    best: CatalogDevice | None = None
    for device in load_gpu_catalog().devices:
        if device.is_cpu:
            continue
        for spelling in device.spellings:
            core = {t for t in name_tokens(spelling) if not _is_size(t)}
            if not core or not core <= words or (laptop and not laptop <= core):
                continue
            size_words = {t for t in name_tokens(spelling) if _is_size(t)}
            named_size = bool(size_words & words)
            device_memory = device.ram_bytes if device.unified_memory and device.ram_bytes else device.vram_bytes
            distance = abs(device_memory - memory_bytes) if memory_bytes is not None else 0
            key = (len(core), named_size, -distance)
            if best_key is None or key > best_key:
                best_key, best = key, device
    return best
