"""The user's hardware files in the config dir: custom profiles and the remembered choice.

``profiles.toml`` holds custom profiles (boxes the catalog does not describe: several cards, a known
RAM speed); ``hardware.toml`` remembers the profile the TUI last selected and this machine's RAM
bandwidth when the user knows it. Both are TOML, written atomically (temp file + ``os.replace``)
with the previous version kept as ``*.bak``. A file that does not parse is never overwritten:
reading it raises a ``LocalAIError`` that names it.

Units in the files: GiB for sizes, GB/s for bandwidths; in memory, bytes (``HardwareProfile``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from tui.core.errors import LocalAIError
from tui.core.hardware.catalog import (
    BACKENDS,
    CatalogDevice,
    backend_efficiency,
    find_device,
    load_gpu_catalog,
    name_tokens,
)
from tui.core.hardware.devices import GpuSpec, HardwareProfile, RemoteBox
from tui.core.paths import config_dir
from tui.core.sizes import GiB
from tui.core.toml_io import read_toml, write_toml_atomically

PROFILES_FILE = "profiles.toml"
SETTINGS_FILE = "hardware.toml"

#: ``--gpu`` words that are not profile names.
RESERVED_NAMES = ("auto", "cpu")

_PROFILES_HEADER = """\
# localai-tui custom hardware profiles (sizes in GiB, bandwidths in GB/s).
# Each [[profile]] needs name, ram_gib and ram_bandwidth_gbps (or ram_setup = a CPU entry of
# 'localai-tui gpus'); each [[profile.gpu]] needs name, vram_gib, bandwidth_gbps and backend,
# or catalog = "a catalog name". Optional: unified_memory, efficiency, ram_efficiency, notes.

"""
_PROFILE_KEYS = {"name", "ram_gib", "ram_bandwidth_gbps", "ram_setup", "unified_memory", "efficiency",
                 "ram_efficiency", "notes", "gpu"}
_GPU_KEYS = {"name", "vram_gib", "bandwidth_gbps", "backend", "efficiency", "catalog"}


def custom_profiles_path() -> Path:
    return config_dir() / PROFILES_FILE


def hardware_settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


# ------------------------------------------------------------------ custom profiles


def load_custom_profiles() -> list[HardwareProfile]:
    """The user's custom profiles, in file order (``source="custom"``)."""
    path = custom_profiles_path()
    data = read_toml(path)
    entries = data.get("profile", [])
    if not isinstance(entries, list):
        raise LocalAIError(f"{path}: 'profile' must be an array of tables ([[profile]])")
    profiles, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        profile = profile_from_toml(entry, where=f"{path}: profile #{number}")
        key = profile.name.casefold()
        if key in seen:
            raise LocalAIError(f"{path}: two profiles are called '{profile.name}'")
        seen.add(key)
        profiles.append(profile)
    return profiles


def find_custom_profile(name: str) -> HardwareProfile | None:
    """The custom profile called ``name`` (case-insensitive), or None."""
    wanted = name.strip().casefold()
    return next((p for p in load_custom_profiles() if p.name.casefold() == wanted), None)


def check_profile_name(name: str) -> str:
    """A usable custom profile name (stripped), or LocalAIError saying why not."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise LocalAIError("a profile needs a name")
    if len(cleaned) > 64 or any(not ch.isprintable() for ch in cleaned):
        raise LocalAIError(f"'{cleaned[:64]}' is not a usable profile name: up to 64 printable characters")
    if cleaned.casefold() in RESERVED_NAMES or cleaned.isdigit():
        raise LocalAIError(f"'{cleaned}' is reserved for --gpu (auto, cpu and numbers); pick another profile name")
    tokens = name_tokens(cleaned)
    for device in load_gpu_catalog().devices:
        if any(name_tokens(spelling) == tokens for spelling in device.spellings):
            raise LocalAIError(f"'{cleaned}' is the catalog's '{device.name}'; pick another profile name")
    return cleaned


def save_custom_profile(profile: HardwareProfile) -> Path:
    """Add ``profile`` to profiles.toml, replacing one of the same name; returns the file's path."""
    name = check_profile_name(profile.name)
    entry = profile_to_toml(profile.with_changes(name=name))
    profile_from_toml(entry, where=f"profile '{name}'")  # what we write must read back
    path = custom_profiles_path()
    load_custom_profiles()  # raises on a malformed file: never overwrite what we cannot read
    data = read_toml(path)
    entries = [e for e in data.get("profile", []) if e["name"].strip().casefold() != name.casefold()]
    entries.append(entry)
    data["profile"] = entries
    return write_toml_atomically(path, data, header=_PROFILES_HEADER)


def save_custom_profile_entry(entry: dict[str, object]) -> HardwareProfile:
    """Check a ``[[profile]]`` table (GiB, GB/s) as a person typed it (the app's form), save it, return it."""
    profile = profile_from_toml(entry, where="custom profile")
    save_custom_profile(profile)
    return profile


def delete_custom_profile(name: str) -> bool:
    """Remove the custom profile called ``name``; False if there was none."""
    path = custom_profiles_path()
    load_custom_profiles()  # never rewrite a file we cannot read
    data = read_toml(path)
    entries = data.get("profile", [])
    kept = [e for e in entries if e["name"].strip().casefold() != name.strip().casefold()]
    if len(kept) == len(entries):
        return False
    data["profile"] = kept
    write_toml_atomically(path, data, header=_PROFILES_HEADER)
    return True


def profile_to_toml(profile: HardwareProfile) -> dict[str, Any]:
    """A profile as a ``[[profile]]`` table (GiB, GB/s)."""
    entry: dict[str, Any] = {
        "name": profile.name,
        "ram_gib": profile.ram_bytes / GiB,
        "ram_bandwidth_gbps": float(profile.ram_bandwidth_gbps),
        "unified_memory": profile.unified_memory,
        "efficiency": float(profile.efficiency),
        "ram_efficiency": float(profile.ram_efficiency),
    }
    if profile.notes:
        entry["notes"] = profile.notes
    gpus = []
    for gpu in profile.gpus:
        item = {"name": gpu.name, "vram_gib": gpu.vram_bytes / GiB, "bandwidth_gbps": float(gpu.bandwidth_gbps),
                "backend": gpu.backend}
        if gpu.efficiency is not None:
            item["efficiency"] = float(gpu.efficiency)
        gpus.append(item)
    if gpus:
        entry["gpu"] = gpus
    return entry


def profile_from_toml(entry: object, where: str) -> HardwareProfile:
    """Check one ``[[profile]]`` table and build its profile; mistakes raise LocalAIError naming ``where``."""
    if not isinstance(entry, dict):
        raise LocalAIError(f"{where}: must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LocalAIError(f"{where}: needs a name")
    where = f"{where} ('{name.strip()}')"
    _reject_unknown(entry, _PROFILE_KEYS, where)
    ram_gib = _positive(entry, "ram_gib", where, "GiB")
    if "ram_setup" in entry:
        setup = _catalog_device(entry["ram_setup"], where)
        if not setup.is_cpu:
            raise LocalAIError(f"{where}: ram_setup '{setup.name}' is not a RAM setup (a CPU entry)")
        ram_bandwidth = setup.bandwidth_gbps
        ram_efficiency_default = setup.efficiency
    else:
        ram_bandwidth = _positive(entry, "ram_bandwidth_gbps", where, "GB/s")
        ram_efficiency_default = backend_efficiency("CPU")
    unified = entry.get("unified_memory", False)
    if not isinstance(unified, bool):
        raise LocalAIError(f"{where}: unified_memory must be true or false")
    gpu_entries = entry.get("gpu", [])
    if not isinstance(gpu_entries, list):
        raise LocalAIError(f"{where}: 'gpu' must be an array of tables ([[profile.gpu]])")
    gpus = tuple(_gpu_from_toml(g, i, f"{where}: gpu #{i + 1}") for i, g in enumerate(gpu_entries))
    if unified:
        if len(gpus) != 1:
            raise LocalAIError(f"{where}: a unified-memory profile has exactly one GPU (its share of the RAM)")
        if gpus[0].vram_bytes > int(round(ram_gib * GiB)):
            raise LocalAIError(f"{where}: the GPU's share of unified memory cannot exceed ram_gib")
    ram_efficiency = _fraction(entry, "ram_efficiency", where, ram_efficiency_default)
    main_default = (gpus[0].efficiency if gpus and gpus[0].efficiency is not None else
                    backend_efficiency(gpus[0].backend) if gpus else ram_efficiency)
    efficiency = _fraction(entry, "efficiency", where, main_default)
    notes = entry.get("notes", "")
    if not isinstance(notes, str):
        raise LocalAIError(f"{where}: notes must be text")
    return HardwareProfile(name=name.strip(), gpus=gpus, ram_bytes=int(round(ram_gib * GiB)),
                           ram_bandwidth_gbps=ram_bandwidth, unified_memory=unified, source="custom",
                           efficiency=efficiency, ram_efficiency=ram_efficiency, notes=notes)


def _gpu_from_toml(entry: object, index: int, where: str) -> GpuSpec:
    if not isinstance(entry, dict):
        raise LocalAIError(f"{where}: must be a table")
    _reject_unknown(entry, _GPU_KEYS, where)
    base = _catalog_device(entry["catalog"], where) if "catalog" in entry else None
    if base is not None and base.is_cpu:
        raise LocalAIError(f"{where}: '{base.name}' is a RAM setup, not a GPU")
    name = entry.get("name", base.name if base else None)
    if not isinstance(name, str) or not name.strip():
        raise LocalAIError(f"{where}: needs a name (or catalog = \"a catalog GPU\")")
    vram = _positive(entry, "vram_gib", where, "GiB", base.vram_gib if base else None)
    bandwidth = _positive(entry, "bandwidth_gbps", where, "GB/s", base.bandwidth_gbps if base else None)
    backend = entry.get("backend", base.backend if base else None)
    if backend not in BACKENDS or backend == "CPU":
        raise LocalAIError(f"{where}: backend must be one of {', '.join(b for b in BACKENDS if b != 'CPU')}")
    efficiency = _fraction(entry, "efficiency", where, base.efficiency if base else None)
    return GpuSpec(name=name.strip(), vram_bytes=int(round(vram * GiB)), bandwidth_gbps=bandwidth,
                   backend=backend, index=index, efficiency=efficiency)


def _catalog_device(value: object, where: str) -> CatalogDevice:
    if not isinstance(value, str):
        raise LocalAIError(f"{where}: catalog names are text")
    try:
        return find_device(value)
    except LocalAIError as exc:
        raise LocalAIError(f"{where}: {exc.message}", hint=exc.hint) from None


def _reject_unknown(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise LocalAIError(f"{where}: unknown key(s) {', '.join(unknown)}",
                           hint=f"allowed: {', '.join(sorted(allowed))}")


def _positive(entry: dict[str, Any], key: str, where: str, unit: str, default: float | None = None) -> float:
    value = entry.get(key, default)
    if value is None:
        raise LocalAIError(f"{where}: needs {key} ({unit})")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise LocalAIError(f"{where}: {key} must be a positive number ({unit}), not {value!r}")
    if value > MAX_CONFIG_NUMBER:
        raise LocalAIError(f"{where}: {key} = {value:g} {unit} is beyond any real machine (at most {MAX_CONFIG_NUMBER:g})")
    return float(value)


#: The largest size (GiB) or bandwidth (GB/s) a profile may state: far past any machine, far below overflow.
MAX_CONFIG_NUMBER = 1e6


@overload
def _fraction(entry: dict[str, Any], key: str, where: str, default: float) -> float: ...


@overload
def _fraction(entry: dict[str, Any], key: str, where: str, default: float | None) -> float | None: ...


def _fraction(entry: dict[str, Any], key: str, where: str, default: float | None) -> float | None:
    """``entry[key]`` as a fraction in (0, 1]; ``default`` when absent (so never None with a number default)."""
    value = entry.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise LocalAIError(f"{where}: {key} must be a fraction between 0 and 1, not {value!r}")
    return float(value)


# ------------------------------------------------------------------ helper boxes

_BOX_KEYS = {"name", "address", "devices", "link"}


def box_to_toml(box: RemoteBox) -> dict[str, object]:
    """A helper box as a ``[[box]]`` table: devices in ``--rpc`` words (catalog names, ``cpu:GIB``)."""
    return {"name": box.name, "address": box.endpoint, "devices": list(box.specs), "link": box.link.key}


def box_from_toml(entry: object, where: str) -> RemoteBox:
    """Check one ``[[box]]`` table and build the box; mistakes raise LocalAIError naming ``where``."""
    from tui.core.hardware.boxes import DEFAULT_LINK, make_box

    if not isinstance(entry, dict):
        raise LocalAIError(f"{where}: must be a table")
    _reject_unknown(entry, _BOX_KEYS, where)
    address, devices = entry.get("address"), entry.get("devices")
    if not isinstance(address, str):
        raise LocalAIError(f"{where}: needs address = \"host:port\"")
    if isinstance(devices, str):
        devices = [devices]
    if not isinstance(devices, list) or not all(isinstance(d, str) for d in devices):
        raise LocalAIError(f"{where}: devices must be a list of names, e.g. [\"RTX 3060 12GB\"] or [\"cpu:32\"]")
    name, link = entry.get("name", ""), entry.get("link", DEFAULT_LINK)
    if not isinstance(name, str) or not isinstance(link, str):
        raise LocalAIError(f"{where}: name and link are text")
    try:
        return make_box(address, devices, link, name)
    except LocalAIError as exc:
        raise LocalAIError(f"{where}: {exc.message}", hint=exc.hint) from None


def save_boxes(boxes: tuple[RemoteBox, ...] | list[RemoteBox]) -> Path:
    """Remember the helper boxes (they join whichever profile is selected); an empty list forgets them."""
    from dataclasses import replace

    from tui.core.hardware.boxes import attach_boxes

    attach_boxes(HardwareProfile(name="check"), tuple(boxes))  # duplicates and limits raise here
    return save_hardware_settings(replace(load_hardware_settings(), boxes=tuple(boxes)))


# ------------------------------------------------------------------ remembered choices


@dataclass(frozen=True)
class HardwareSettings:
    """What ``hardware.toml`` remembers.

    ``selected_gpu`` holds the ``--gpu`` values of the profile the TUI last selected (empty: auto),
    with its what-if sizes (GiB). ``ram_bandwidth_gbps`` is this machine's RAM bandwidth (GB/s)
    when the user has told us (None: the catalog's default RAM setup); ``ram_setup`` names the
    catalog RAM setup it came from, if any.
    """

    selected_gpu: tuple[str, ...] = ()
    selected_vram_gib: float | None = None
    selected_ram_gib: float | None = None
    ram_bandwidth_gbps: float | None = None
    ram_setup: str | None = None
    boxes: tuple[RemoteBox, ...] = ()  # helper boxes (llama.cpp RPC) added to the selected profile


def load_hardware_settings() -> HardwareSettings:
    path = hardware_settings_path()
    data = read_toml(path)
    selection, host = data.get("selection", {}), data.get("host", {})
    if not isinstance(selection, dict) or not isinstance(host, dict):
        raise LocalAIError(f"{path}: [selection] and [host] must be tables")
    gpu = selection.get("gpu", [])
    if isinstance(gpu, str):
        gpu = [gpu]
    if not isinstance(gpu, list) or not all(isinstance(g, str) for g in gpu):
        raise LocalAIError(f"{path}: [selection] gpu must be a list of --gpu values")
    where = f"{path}"
    vram = _positive(selection, "vram_gib", f"{where} [selection]", "GiB") if "vram_gib" in selection else None
    ram = _positive(selection, "ram_gib", f"{where} [selection]", "GiB") if "ram_gib" in selection else None
    bandwidth = (_positive(host, "ram_bandwidth_gbps", f"{where} [host]", "GB/s")
                 if "ram_bandwidth_gbps" in host else None)
    setup = host.get("ram_setup")
    if setup is not None and not isinstance(setup, str):
        raise LocalAIError(f"{where}: [host] ram_setup must be text")
    entries = data.get("box", [])
    if not isinstance(entries, list):
        raise LocalAIError(f"{path}: 'box' must be an array of tables ([[box]])")
    boxes = tuple(box_from_toml(entry, f"{path}: box #{i + 1}") for i, entry in enumerate(entries))
    return HardwareSettings(tuple(gpu), vram, ram, bandwidth, setup, boxes)


def save_hardware_settings(settings: HardwareSettings) -> Path:
    data: dict[str, Any] = {}
    selection: dict[str, Any] = {}
    if settings.selected_gpu:
        selection["gpu"] = list(settings.selected_gpu)
    if settings.selected_vram_gib is not None:
        selection["vram_gib"] = float(settings.selected_vram_gib)
    if settings.selected_ram_gib is not None:
        selection["ram_gib"] = float(settings.selected_ram_gib)
    if selection:
        data["selection"] = selection
    host: dict[str, Any] = {}
    if settings.ram_bandwidth_gbps is not None:
        host["ram_bandwidth_gbps"] = float(settings.ram_bandwidth_gbps)
    if settings.ram_setup:
        host["ram_setup"] = settings.ram_setup
    if host:
        data["host"] = host
    if settings.boxes:
        data["box"] = [box_to_toml(box) for box in settings.boxes]
    return write_toml_atomically(hardware_settings_path(), data,
                                 header="# localai-tui: the hardware profile last selected, and this machine's RAM speed.\n\n")
