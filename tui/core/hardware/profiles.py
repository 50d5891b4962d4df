"""Which hardware to size for: this machine, catalog cards in it, CPU-only, several GPUs, or a custom box.

``resolve_profile`` turns the CLI's ``--gpu``/``--vram``/``--ram`` into one ``HardwareProfile``:

* ``auto`` (the default): what ``detect_profile`` finds here;
* ``cpu``: this machine without its GPUs;
* a catalog name ("RTX 3090", "3060 12gb") or its number from ``localai-tui gpus``: that card in
  this machine (this machine's RAM); a unified machine (Apple, DGX Spark) brings its own RAM; a
  CPU entry ("DDR5-5600 dual") sets the RAM's speed;
* a custom profile's name (or number): that profile as saved.

Repeat ``--gpu`` for several cards ("--gpu 3090 --gpu 3090", or "--gpu auto --gpu 3060" to add a
card to this machine). ``--vram`` then sets every GPU's memory and ``--ram`` the system RAM (GiB),
to ask "what if". Sizes in profiles are bytes; bandwidths GB/s.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

from tui.core.errors import LocalAIError
from tui.core.hardware.catalog import (
    BACKENDS,
    CatalogDevice,
    UnknownDeviceError,
    backend_efficiency,
    find_device,
    load_gpu_catalog,
    metal_working_set_bytes,
)
from tui.core.hardware.detect import (
    HostInfo,
    RamSetup,
    assumed_ram_setup,
    detect_host,
    detect_profile,
    ram_setup_note,
    summarize_gpu_names,
)
from tui.core.hardware.devices import GpuSpec, HardwareProfile
from tui.core.hardware.profile_store import (
    HardwareSettings,
    load_custom_profiles,
    load_hardware_settings,
    save_hardware_settings,
)
from tui.core.sizes import GiB

AUTO = "auto"
CPU = "cpu"

#: How the note saying where a profile's RAM size came from begins (a what-if RAM size replaces it).
RAM_SIZE_NOTE = "RAM: "

#: Largest plausible system RAM bandwidth (GB/s): dual-socket 12-channel DDR5-6400 is about 1,230.
MAX_RAM_BANDWIDTH_GBPS = 2000.0

#: Largest what-if size accepted for --vram / --ram (GiB): beyond any machine, below float trouble.
MAX_WHAT_IF_GIB = 1024 * 1024


@dataclass(frozen=True)
class NumberedEntry:
    """One line of ``localai-tui gpus``'s numbered list: a catalog device or a custom profile."""

    number: int
    name: str
    device: CatalogDevice | None = None
    profile: HardwareProfile | None = None


def numbered_entries(custom: Sequence[HardwareProfile] | None = None) -> list[NumberedEntry]:
    """The catalog (numbers 1..N, file order) followed by the custom profiles (N+1...)."""
    entries = [NumberedEntry(d.number, d.name, device=d) for d in load_gpu_catalog().devices]
    first_custom = len(entries) + 1
    profiles = load_custom_profiles() if custom is None else custom
    entries += [NumberedEntry(first_custom + i, p.name, profile=p) for i, p in enumerate(profiles)]
    return entries


# ------------------------------------------------------------------ building profiles


def cpu_only_profile(host: HostInfo | None = None, ram_setup: CatalogDevice | None = None) -> HardwareProfile:
    """No GPU: this machine's RAM, or a catalog RAM setup (its speed; its size when it has one)."""
    return catalog_profile([], host=host, ram_setup=ram_setup)


def catalog_profile(devices: Sequence[CatalogDevice], host: HostInfo | None = None,
                    ram_setup: CatalogDevice | None = None, extra_gpus: Sequence[GpuSpec] = ()) -> HardwareProfile:
    """Catalog GPUs (after ``extra_gpus``, e.g. detected ones) in this machine.

    The RAM is this machine's (size from ``host``, speed from hardware.toml or the catalog default)
    unless ``ram_setup`` (a CPU entry) says otherwise. A unified-memory device stands alone: it
    is a whole machine, its RAM included.
    """
    cards = [d for d in devices if not d.is_cpu]
    setups = [d for d in devices if d.is_cpu] + ([ram_setup] if ram_setup else [])
    if len(setups) > 1:
        raise LocalAIError(f"several RAM setups given ({', '.join(d.name for d in setups)}): pick one")
    setup = setups[0] if setups else None
    unified = [d for d in cards if d.unified_memory]
    if unified:
        if len(cards) > 1 or extra_gpus or setup:
            raise LocalAIError(f"'{unified[0].name}' is a whole machine (its GPU shares its RAM): "
                               "it cannot be combined with other devices")
        return _unified_profile(unified[0])

    gpus = [replace(g, index=i) for i, g in enumerate(extra_gpus)]
    gpus += [d.gpu_spec(index=len(gpus) + i) for i, d in enumerate(cards)]
    notes = []
    if setup is not None and setup.ram_bytes is not None:
        ram_bytes, ram_free, threads = setup.ram_bytes, None, None
        notes.append(f"{RAM_SIZE_NOTE}{setup.ram_gib:g} GiB, typical for {setup.name}")
    else:
        host = host or detect_host()
        ram_bytes, ram_free, threads = host.ram_bytes, host.ram_available_bytes, host.physical_cores
        notes.append(f"{RAM_SIZE_NOTE}this machine's {host.ram_bytes / GiB:.1f} GiB")
    if setup is not None:
        ram = RamSetup(setup.bandwidth_gbps, setup.name, setup.efficiency, True)
    else:
        ram = assumed_ram_setup()
    notes.append(ram_setup_note(ram))
    backends = sorted({g.backend for g in gpus})
    if len(backends) > 1:
        notes.append(f"mixed backends ({', '.join(backends)}): one llama.cpp build rarely drives them all")
    if gpus:
        name = summarize_gpu_names(gpus)
        efficiency = gpus[0].efficiency or backend_efficiency(gpus[0].backend)
    else:
        name = f"CPU-only: {setup.name}" if setup else "CPU-only (this machine)"
        efficiency = ram.efficiency
    return HardwareProfile(name=name, gpus=tuple(gpus), ram_bytes=ram_bytes, ram_free_bytes=ram_free,
                           ram_bandwidth_gbps=ram.bandwidth_gbps, source="catalog", efficiency=efficiency,
                           ram_efficiency=ram.efficiency, cpu_threads=threads, notes="\n".join(notes))


def _unified_profile(device: CatalogDevice) -> HardwareProfile:
    """An Apple (or Strix Halo, GB10) machine: one GPU whose memory is a share of the machine's RAM."""
    gpu = device.gpu_spec()
    if device.ram_bytes is None:  # parse_gpu_catalog requires ram_gib of unified-memory devices
        raise LocalAIError(f"catalog entry '{device.name}' has no ram_gib")
    return HardwareProfile(name=device.name, gpus=(gpu,), ram_bytes=device.ram_bytes,
                           ram_bandwidth_gbps=device.bandwidth_gbps, unified_memory=True, source="catalog",
                           efficiency=device.efficiency, ram_efficiency=backend_efficiency("CPU"),
                           notes=f"unified memory: the GPU may use {device.vram_gib:.1f} of {device.ram_gib:g} GiB")


# ------------------------------------------------------------------ the CLI's --gpu/--vram/--ram


def resolve_profile(gpu_args: list[str] | None, vram_gib: float | None = None,
                    ram_gib: float | None = None) -> HardwareProfile:
    """The profile the ``--gpu`` values (None: auto) describe, with ``--vram``/``--ram`` applied (GiB).

    Bad names raise ``LocalAIError`` with suggestions; combinations that make no sense (cpu with a
    GPU, a custom profile with anything else, an Apple machine with a card) say so.
    """
    args = [str(a).strip() for a in gpu_args] if gpu_args else [AUTO]
    if not all(args):
        raise LocalAIError("--gpu needs a value", hint="'auto', 'cpu', a catalog name or a number from 'localai-tui gpus'")
    customs = None if not _may_name_custom(args) else load_custom_profiles()
    items = [_resolve_one(arg, customs or []) for arg in args]
    if len(items) == 1:
        base = _single_profile(*items[0])
    else:
        base = _combined_profile(items)
    profile = apply_what_if(base, vram_gib, ram_gib)
    return profile.with_changes(extra={**profile.extra, "gpu_args": list(args)})


def _may_name_custom(args: list[str]) -> bool:
    return any(a.casefold() not in (AUTO, CPU) for a in args)


#: One ``--gpu`` value resolved: ("auto" | "cpu", None), ("device", CatalogDevice) or ("custom", HardwareProfile).
_Resolved: TypeAlias = "tuple[str, CatalogDevice | HardwareProfile | None]"


def _resolve_one(arg: str, customs: list[HardwareProfile]) -> _Resolved:
    """('auto'|'cpu', None), ('device', CatalogDevice) or ('custom', HardwareProfile) for one --gpu value.

    A whole number is a position in 'localai-tui gpus' when the list is that long ("--gpu 12"),
    else a model number ("--gpu 3090").
    """
    if "@" in arg:
        return _with_backend(arg, customs)
    word = arg.casefold()
    if word in (AUTO, CPU):
        return word, None
    if arg.isdigit():  # a list number; model numbers ("3090") are far above the list's length
        number = int(arg)
        entries = numbered_entries(customs)
        if 1 <= number <= len(entries):
            entry = entries[number - 1]
            return ("device", entry.device) if entry.device else ("custom", entry.profile)
        if number < 1000:
            raise LocalAIError(f"--gpu {arg}: 'localai-tui gpus' numbers its entries 1 to {len(entries)}",
                               hint="use 'auto' for the GPUs detected here")
    custom = next((p for p in customs if p.name.casefold() == word), None)
    if custom is not None:
        return "custom", custom
    try:
        return "device", find_device(arg)
    except UnknownDeviceError as exc:
        close_customs = difflib.get_close_matches(word, [p.name.casefold() for p in customs], n=2, cutoff=0.6)
        names = [p.name for p in customs if p.name.casefold() in close_customs] + exc.suggestions
        did_you_mean = f"; did you mean {', '.join(repr(n) for n in names[:4])}?" if names else ""
        raise LocalAIError(f"--gpu '{arg}' is not 'auto', 'cpu', a catalog device or a custom profile{did_you_mean}",
                           hint="'localai-tui gpus' lists them") from None


def _with_backend(arg: str, customs: list[HardwareProfile]) -> _Resolved:
    """``"RTX 3090@vulkan"``: a catalog card driven by another llama.cpp backend than its default.

    The backend changes the speed model's fixed costs and efficiency (an NVIDIA card on Vulkan
    decodes 1.3-1.6x slower than on CUDA), and the device names llama.cpp gives it (Vulkan0).
    """
    name, _, wanted = arg.rpartition("@")
    backend = next((b for b in BACKENDS if b.casefold() == wanted.strip().casefold()), None)
    if backend is None or backend == "CPU":
        gpu_backends = ", ".join(b for b in BACKENDS if b != "CPU")
        raise LocalAIError(f"--gpu '{arg}': '{wanted}' is not a GPU backend", hint=f"one of {gpu_backends}")
    _kind, value = _resolve_one(name.strip(), customs)
    if not isinstance(value, CatalogDevice) or value.is_cpu or (
            value.unified_memory and backend not in ("Vulkan", value.backend)):
        raise LocalAIError(f"--gpu '{arg}': a backend can be chosen for a catalog GPU only",
                           hint="e.g. --gpu 'RTX 3090@Vulkan'")
    return "device", replace(value, backend=backend, efficiency=backend_efficiency(backend))


def _single_profile(kind: str, value: CatalogDevice | HardwareProfile | None) -> HardwareProfile:
    if kind == AUTO:
        return detect_profile()
    if kind == CPU or value is None:
        return cpu_only_profile()
    if isinstance(value, HardwareProfile):  # "custom"
        return value
    return catalog_profile([value])


def _combined_profile(items: list[_Resolved]) -> HardwareProfile:
    kinds = [kind for kind, _ in items]
    if CPU in kinds:
        raise LocalAIError("--gpu cpu means no GPU: it cannot be combined with other --gpu values")
    if "custom" in kinds:
        name = next(value.name for _, value in items if isinstance(value, HardwareProfile))
        raise LocalAIError(f"custom profile '{name}' is a whole machine: use it alone",
                           hint="save a new custom profile with all the cards instead")
    extra: tuple[GpuSpec, ...] = ()
    if kinds.count(AUTO) > 1:
        raise LocalAIError("--gpu auto given twice")
    if AUTO in kinds:
        detected = detect_profile()
        if detected.unified_memory:
            raise LocalAIError("this machine's GPU shares its RAM (unified memory): it cannot take other cards")
        extra = detected.gpus
    devices = [value for _, value in items if isinstance(value, CatalogDevice)]
    profile = catalog_profile(devices, extra_gpus=extra)
    if AUTO in kinds:
        added = (summarize_gpu_names([d.gpu_spec() for d in devices if not d.is_cpu])
                 or ", ".join(d.name for d in devices if d.is_cpu))
        here = f"This machine ({summarize_gpu_names(extra)})" if extra else "This machine"
        profile = profile.with_changes(name=f"{here} + {added}")
    return profile


def apply_what_if(profile: HardwareProfile, vram_gib: float | None = None,
                  ram_gib: float | None = None) -> HardwareProfile:
    """``profile`` with every GPU's memory set to ``vram_gib`` and/or the RAM to ``ram_gib`` (GiB).

    What-if memory is taken as all free. On a unified machine, a new RAM size also moves the
    GPU's share (Metal's rule on Apple, the same fraction elsewhere) unless ``vram_gib`` is given.
    """
    if vram_gib is None and ram_gib is None:
        return profile
    vram = _what_if_bytes(vram_gib, "--vram")
    ram = _what_if_bytes(ram_gib, "--ram")
    if vram is not None and profile.is_cpu_only:
        raise LocalAIError("--vram sets each GPU's memory, but this profile has no GPU",
                           hint="pick a card too, e.g. --gpu 'RTX 3090'; 'localai-tui gpus' lists them")
    gpus = profile.gpus
    ram_bytes = profile.ram_bytes if ram is None else ram
    if profile.unified_memory and gpus:
        share = vram
        if share is None:
            old = gpus[0]
            share = (metal_working_set_bytes(ram_bytes) if old.backend == "Metal"
                     else int(ram_bytes * old.vram_bytes / profile.ram_bytes))
        if share > ram_bytes:
            raise LocalAIError(f"--vram {share / GiB:g} GiB is more than the {ram_bytes / GiB:g} GiB of unified memory")
        gpus = tuple(replace(g, vram_bytes=share, free_bytes=None, used_bytes=None) for g in gpus)
    elif vram is not None:
        gpus = tuple(replace(g, vram_bytes=vram, free_bytes=None, used_bytes=None) for g in gpus)
    said = []
    if vram is not None:
        said.append(f"{vram_gib:g} GiB VRAM" + (" per GPU" if len(gpus) > 1 else ""))
    if ram is not None:
        said.append(f"{ram_gib:g} GiB RAM")
    what_if = ", ".join(said)
    kept = [n for n in profile.notes.splitlines() if n and not (ram is not None and n.startswith(RAM_SIZE_NOTE))]
    notes = "\n".join([*kept, f"what-if: {what_if}"])
    return profile.with_changes(
        name=f"{profile.name} (what-if: {what_if})", gpus=gpus, ram_bytes=ram_bytes,
        ram_free_bytes=profile.ram_free_bytes if ram is None else None, notes=notes)


def _what_if_bytes(value: float | None, flag: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= MAX_WHAT_IF_GIB:
        raise LocalAIError(f"{flag} must be a positive size in GiB, not {value!r}")
    return int(round(value * GiB))


# ------------------------------------------------------------------ remembered choices (TUI)


def remember_selection(gpu_args: list[str] | None, vram_gib: float | None = None,
                       ram_gib: float | None = None) -> Path:
    """Remember the profile the user picked (as --gpu values and what-if sizes) in hardware.toml."""
    resolve_profile(gpu_args, vram_gib, ram_gib)  # never remember something that does not resolve
    settings = load_hardware_settings()
    chosen = tuple(a.strip() for a in (gpu_args or []))
    if [a.casefold() for a in chosen] == [AUTO]:
        chosen = ()
    return save_hardware_settings(replace(settings, selected_gpu=chosen, selected_vram_gib=vram_gib,
                                          selected_ram_gib=ram_gib))


@dataclass(frozen=True)
class ProfileChoice:
    """A profile to size for, and what went wrong reading or remembering one (None: nothing)."""

    profile: HardwareProfile
    problem: str | None = None


def remembered_profile_problem() -> str | None:
    """Why the remembered profile cannot be used (a broken hardware.toml or profiles.toml), naming the
    file and what the app does instead; None when it can. Reads the files only, probes nothing."""
    from tui.core.hardware.profile_store import hardware_settings_path

    kept = "this machine's profile is used for now; the file was left as it is"
    try:
        settings = load_hardware_settings()
    except LocalAIError as exc:
        return f"{exc}; {kept}"
    if not settings.selected_gpu:
        return None
    try:
        resolve_profile([g for g in settings.selected_gpu if g.casefold() != AUTO] or ["cpu"],
                        settings.selected_vram_gib, settings.selected_ram_gib)
    except LocalAIError as exc:
        return f"the profile remembered in {hardware_settings_path()} cannot be loaded: {exc}; {kept}"
    return None


def choose_profile(gpu_args: list[str], vram_gib: float | None = None, ram_gib: float | None = None) -> ProfileChoice:
    """Resolve ``gpu_args`` (with the remembered helper boxes) and remember them; when remembering fails
    (a read-only or broken config), the profile still holds for this session and ``problem`` says why
    it was not saved."""
    profile = _with_remembered_boxes(resolve_profile(gpu_args, vram_gib, ram_gib))
    try:
        remember_selection(gpu_args, vram_gib, ram_gib)
    except (LocalAIError, OSError) as exc:
        return ProfileChoice(profile, f"{profile.name} is used for this session only: it could not be saved ({exc})")
    return ProfileChoice(profile)


def _with_remembered_boxes(profile: HardwareProfile) -> HardwareProfile:
    """Helper boxes join whichever head is chosen (hardware.toml's ``[[box]]``; none if it cannot be read)."""
    from tui.core.hardware.boxes import attach_boxes

    try:
        boxes = load_hardware_settings().boxes
    except LocalAIError:
        return profile
    return attach_boxes(profile, boxes) if boxes else profile


def load_selected_profile() -> HardwareProfile:
    """The profile last remembered, or this machine's when none was (or it no longer resolves)."""
    from tui.core.hardware.boxes import attach_boxes

    try:
        settings = load_hardware_settings()
    except LocalAIError as exc:  # a broken hardware.toml: never fatal, never overwritten here
        profile = detect_profile()
        return profile.with_changes(notes=f"{profile.notes}\n{exc}")
    if not settings.selected_gpu and settings.selected_vram_gib is None and settings.selected_ram_gib is None:
        return attach_boxes(detect_profile(), settings.boxes) if settings.boxes else detect_profile()
    try:
        profile = resolve_profile(list(settings.selected_gpu) or None, settings.selected_vram_gib,
                                  settings.selected_ram_gib)
    except LocalAIError as exc:
        profile = detect_profile()
        profile = profile.with_changes(notes=f"{profile.notes}\nthe remembered profile no longer works: {exc}")
    return attach_boxes(profile, settings.boxes) if settings.boxes else profile


def parse_ram_bandwidth(text: str) -> tuple[float, str | None]:
    """GB/s from "89.6" or from a catalog RAM setup such as "DDR5-5600 dual"; also its catalog name."""
    cleaned = (text or "").strip()
    try:
        value = float(cleaned.removesuffix("GB/s").removesuffix("gb/s").strip())
    except ValueError:
        device = find_device(cleaned)
        if not device.is_cpu:
            raise LocalAIError(f"'{device.name}' is a GPU; --ram-bandwidth takes GB/s or a RAM setup such as "
                               "'DDR5-5600 dual channel'") from None
        return device.bandwidth_gbps, device.name
    if not math.isfinite(value) or not 0 < value <= MAX_RAM_BANDWIDTH_GBPS:
        raise LocalAIError(f"RAM bandwidth must be between 0 and {MAX_RAM_BANDWIDTH_GBPS:g} GB/s, not '{text}'",
                           hint="dual-channel DDR4-3200 is 51.2, DDR5-5600 89.6; 'localai-tui gpus' lists RAM setups")
    return value, None


def set_host_ram_bandwidth(text: str | None) -> HardwareSettings:
    """Remember this machine's RAM bandwidth (GB/s or a RAM setup name); None forgets it."""
    settings = load_hardware_settings()
    if text is None:
        updated = replace(settings, ram_bandwidth_gbps=None, ram_setup=None)
    else:
        gbps, label = parse_ram_bandwidth(text)
        updated = replace(settings, ram_bandwidth_gbps=gbps, ram_setup=label)
    save_hardware_settings(updated)
    return updated


# ------------------------------------------------------------------ for --json and the TUI


def gpu_to_dict(gpu: GpuSpec) -> dict[str, Any]:
    return {
        "index": gpu.index, "name": gpu.name, "backend": gpu.backend,
        "vram_bytes": gpu.vram_bytes, "vram_gib": round(gpu.vram_bytes / GiB, 3),
        "free_bytes": gpu.free_bytes, "used_bytes": gpu.used_bytes,
        "bandwidth_gbps": gpu.bandwidth_gbps, "efficiency": gpu.efficiency,
        "driver": gpu.driver, "notes": gpu.notes, "box": gpu.box,
    }


def profile_to_dict(profile: HardwareProfile) -> dict[str, Any]:
    """A profile as JSON-ready data (bytes, with GiB beside them for people)."""
    return {
        "name": profile.name, "source": profile.source,
        "gpus": [gpu_to_dict(g) for g in profile.gpus],
        "ram_bytes": profile.ram_bytes, "ram_gib": round(profile.ram_bytes / GiB, 3),
        "ram_available_bytes": profile.ram_available_bytes,
        "ram_bandwidth_gbps": profile.ram_bandwidth_gbps,
        "unified_memory": profile.unified_memory,
        "efficiency": profile.efficiency, "ram_efficiency": profile.ram_efficiency,
        "cpu_threads": profile.cpu_threads,
        "notes": profile.notes.splitlines(),
        "boxes": [{"name": b.name, "endpoint": b.endpoint, "devices": list(b.specs), "link": b.link.key,
                   "link_goodput_gbit": b.link.goodput_gbit, "link_rtt_us": b.link.rtt_us} for b in profile.boxes],
    }
