"""``localai-tui gpus``: this machine's devices, the numbered device catalog and the custom profiles.

The numbers it prints are what ``--gpu N`` takes. With ``--gpu``/``--vram``/``--ram`` it shows the
profile those flags resolve to; ``--save NAME`` keeps it as a custom profile; ``--ram-bandwidth``
records how fast this machine's RAM is (it cannot be measured cheaply).
"""

from __future__ import annotations

import argparse
import json

from tui.commands.fit_flags import add_profile_flags


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gpus", help="list detected GPUs, the device catalog and custom profiles",
        description="List this machine's GPUs and RAM, the numbered device catalog (for --gpu N) and your "
                    "custom profiles. With --gpu/--vram/--ram: show (or --save) the profile they describe.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--save", metavar="NAME", default=None,
                        help="save the hardware given by --gpu/--vram/--ram/--ram-bandwidth as custom profile NAME")
    parser.add_argument("--delete", metavar="NAME", default=None, help="delete custom profile NAME")
    parser.add_argument("--ram-bandwidth", dest="ram_bandwidth", metavar="GBPS", default=None,
                        help="RAM bandwidth in GB/s or a RAM setup such as 'DDR5-5600 dual': for --save, "
                             "else remembered for this machine ('default' forgets it)")
    parser.add_argument("--calibrate", action="store_true",
                        help="measure this machine's decode speed terms with llama.cpp (a few seconds per device: "
                             "effective bandwidth and fixed costs); 'this machine' then uses them")
    add_profile_flags(parser, boxes=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.core.errors import LocalAIError

    gpu, vram, ram = getattr(args, "gpu", None), getattr(args, "vram_gib", None), getattr(args, "ram_gib", None)
    if args.delete and (args.save or gpu or vram is not None or ram is not None or args.ram_bandwidth):
        raise LocalAIError("--delete takes no other options")
    if args.calibrate:
        if args.delete or args.save or gpu or vram is not None or ram is not None or args.ram_bandwidth:
            raise LocalAIError("--calibrate measures this machine: it takes no other options")
        return _calibrate(args.json)
    if args.delete:
        return _delete(args.delete, args.json)
    if args.save:
        return _save(args.save, gpu, vram, ram, args.ram_bandwidth, args.json)
    if args.ram_bandwidth is not None and (gpu or vram is not None or ram is not None):
        raise LocalAIError("--ram-bandwidth with --gpu/--vram/--ram only makes sense with --save NAME")
    if args.ram_bandwidth is not None:
        return _set_ram_bandwidth(args.ram_bandwidth, args.json)
    if gpu or vram is not None or ram is not None:
        return _show_profile(gpu, vram, ram, args.json)
    return _list(args.json)


# ------------------------------------------------------------------ calibration


def _calibrate(as_json: bool) -> int:
    """Run the speed probe on the CPU and every GPU of this machine and store the measured terms."""
    import sys

    from tui.core.engine.calibrate import calibrate_device
    from tui.core.engine.llama_log import install_llama_log
    from tui.core.hardware.detect import detect_profile
    from tui.core.hardware.speed_store import save_calibration

    install_llama_log(None)
    profile = detect_profile()
    devices = [f"GPU{g.index}" for g in profile.gpus] + ([] if profile.unified_memory else ["CPU"])

    def progress(text: str) -> None:
        if not as_json and sys.stderr.isatty():
            sys.stderr.write(f"\r\033[Kcalibrating {text}")
            sys.stderr.flush()

    measured = [calibrate_device(profile.with_changes(calibration=()), d, on_progress=progress) for d in devices]
    if not as_json and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    path = save_calibration(str(profile.extra["fingerprint"]), measured)
    if as_json:
        from dataclasses import asdict

        devices_out = [{**asdict(m), "type_gbps": dict(m.type_gbps)} for m in measured]
        print(json.dumps({"fingerprint": profile.extra["fingerprint"], "path": str(path),
                          "devices": devices_out}, indent=2))
        return 0
    print(f"Measured on this machine ({profile.name}):")
    for m in measured:
        threads = f", {m.threads} threads" if m.threads else ""
        print(f"  {m.device:<5} effective bandwidth {m.bandwidth_gbps:7.1f} GB/s   fixed cost {m.token_s * 1e6:6.0f} us "
              f"per token + {m.layer_s * 1e6:5.1f} us per layer{threads}")
        if m.type_gbps:
            print("        decode streams " + ", ".join(f"{t} {r:.1f}" for t, r in m.type_gbps) + " GB/s")
    print(f"saved to {path}; 'fit --gpu auto' now uses these figures")
    return 0


# ------------------------------------------------------------------ the listing


def _list(as_json: bool) -> int:
    from tui.core.hardware.catalog import load_gpu_catalog
    from tui.core.hardware.detect import detect_host, detect_profile, probe_nvidia_gpus
    from tui.core.hardware.profile_store import custom_profiles_path, load_custom_profiles
    from tui.core.hardware.profiles import numbered_entries, profile_to_dict

    host = detect_host()
    detection = probe_nvidia_gpus()
    detected = detect_profile(host, detection)
    customs = load_custom_profiles()
    entries = numbered_entries(customs)
    catalog = load_gpu_catalog()
    if as_json:
        print(json.dumps({
            "detected": {
                "status": detection.status,
                "host": {"ram_bytes": host.ram_bytes, "ram_available_bytes": host.ram_available_bytes,
                         "physical_cores": host.physical_cores, "logical_cores": host.logical_cores,
                         "cpu_name": host.cpu_name, "system": host.system},
                "profile": profile_to_dict(detected),
            },
            "catalog": [_device_to_dict(e.device) for e in entries if e.device],
            "custom": [{"number": e.number, **profile_to_dict(e.profile)} for e in entries if e.profile],
        }, indent=2))
        return 0

    lines = ["This machine"]
    if detected.gpus:
        lines += [f"  {line}" for line in _gpu_lines(detected)]
        lines.append(f"  {detection.status}" if detection.gpus else "  Apple silicon (Metal, unified memory)")
    else:
        lines.append(f"  no NVIDIA GPU detected ({detection.status}): CPU-only")
    lines.append(f"  RAM {host.ram_bytes / 2**30:.1f} GiB ({host.ram_available_bytes / 2**30:.1f} GiB available), "
                 f"{host.physical_cores} physical cores ({host.cpu_name})")
    lines += [f"  {n}" for n in detected.notes.splitlines() if n.startswith(("RAM bandwidth", "container"))]
    lines += ["", 'Catalog (use --gpu NUMBER or --gpu "NAME")',
              f"  {'#':>3}  {'Name':<26}  {'VRAM GiB':>8}  {'RAM GiB':>7}  {'GB/s':>7}  {'Backend':<7}  Category"]
    for device in catalog.devices:
        ram = f"{device.ram_gib:g}" if device.ram_gib else "-"
        vram = f"{device.vram_gib:.1f}" if not device.is_cpu else "-"
        lines.append(f"  {device.number:>3}  {device.name:<26}  {vram:>8}  {ram:>7}  {device.bandwidth_gbps:>7g}  "
                     f"{device.backend:<7}  {device.category}")
    lines.append("  RAM GiB '-': this machine's RAM. Apple VRAM: Metal's share of the unified RAM.")
    lines += ["", f"Custom profiles ({custom_profiles_path()})"]
    custom_entries = [e for e in entries if e.profile]
    if not custom_entries:
        lines.append("  none yet: 'localai-tui gpus --save NAME --gpu ... --ram GiB --ram-bandwidth GBPS' makes one")
    for entry in custom_entries:
        lines.append(f"  {entry.number:>3}  {entry.name:<26} {_profile_summary(entry.profile)}")
    print("\n".join(lines))
    return 0


def _device_to_dict(device) -> dict:
    return {"number": device.number, "name": device.name, "vram_gib": device.vram_gib,
            "bandwidth_gbps": device.bandwidth_gbps, "backend": device.backend, "category": device.category,
            "note": device.note, "aliases": list(device.aliases), "unified_memory": device.unified_memory,
            "ram_gib": device.ram_gib, "efficiency": device.efficiency}


def _gpu_lines(profile) -> list[str]:
    lines = []
    for gpu in profile.gpus:
        memory = f"{gpu.vram_bytes / 2**30:.1f} GiB"
        if gpu.free_bytes is not None:
            memory += f" ({gpu.free_bytes / 2**30:.1f} free)"
        if profile.unified_memory:
            memory += f" of {profile.ram_bytes / 2**30:.0f} GiB unified"
        driver = f"  driver {gpu.driver}" if gpu.driver else ""
        lines.append(f"GPU {gpu.index}  {gpu.name}  {memory}  {gpu.bandwidth_gbps:g} GB/s  {gpu.backend}{driver}")
        if gpu.notes:
            lines.append(f"       {gpu.notes}")
    return lines


def _profile_summary(profile) -> str:
    from tui.core.hardware.detect import summarize_gpu_names

    gpus = summarize_gpu_names(profile.gpus) if profile.gpus else "CPU-only"
    return (f"{gpus}; {profile.total_vram_bytes / 2**30:g} GiB VRAM, {profile.ram_bytes / 2**30:g} GiB RAM "
            f"at {profile.ram_bandwidth_gbps:g} GB/s" + ("; unified" if profile.unified_memory else ""))


# ------------------------------------------------------------------ one profile


def profile_lines(profile) -> list[str]:
    """A profile as a few lines of text: GPUs, RAM, efficiencies, notes."""
    lines = [f"{profile.name}  [{profile.source}]"]
    lines += [f"  {line}" for line in _gpu_lines(profile)] or ["  no GPU: CPU-only"]
    ram = f"  RAM {profile.ram_bytes / 2**30:.1f} GiB"
    if profile.ram_free_bytes is not None:
        ram += f" ({profile.ram_free_bytes / 2**30:.1f} GiB available)"
    lines.append(f"{ram} at {profile.ram_bandwidth_gbps:g} GB/s"
                 + (f", {profile.cpu_threads} CPU cores" if profile.cpu_threads else ""))
    lines.append(f"  decode efficiency: {profile.efficiency:g} of peak bandwidth"
                 + (f" (RAM: {profile.ram_efficiency:g})" if profile.gpus else ""))
    lines += [f"  {note}" for note in profile.notes.splitlines() if note]
    return lines


def _show_profile(gpu, vram, ram, as_json: bool) -> int:
    from tui.core.hardware.profiles import profile_to_dict, resolve_profile

    profile = resolve_profile(gpu, vram, ram)
    print(json.dumps(profile_to_dict(profile), indent=2) if as_json else "\n".join(profile_lines(profile)))
    return 0


def _save(name, gpu, vram, ram, ram_bandwidth, as_json: bool) -> int:
    """Keep the resolved hardware as a custom profile: sizes and speeds only, not today's free memory."""
    from dataclasses import replace

    from tui.core.hardware.catalog import find_device
    from tui.core.hardware.profile_store import check_profile_name, save_custom_profile
    from tui.core.hardware.profiles import parse_ram_bandwidth, profile_to_dict, resolve_profile

    name = check_profile_name(name)
    profile = resolve_profile(gpu, vram, ram)
    changes = {"name": name, "source": "custom", "notes": "", "extra": {},
               "gpus": tuple(replace(g, free_bytes=None, used_bytes=None, driver=None, notes="") for g in profile.gpus),
               "ram_free_bytes": None}
    if ram_bandwidth is not None:
        gbps, setup = parse_ram_bandwidth(ram_bandwidth)
        changes["ram_bandwidth_gbps"] = gbps
        if setup:
            changes["ram_efficiency"] = find_device(setup).efficiency
    saved = profile.with_changes(**changes)
    if saved.is_cpu_only:
        saved = saved.with_changes(efficiency=saved.ram_efficiency)
    path = save_custom_profile(saved)
    if as_json:
        print(json.dumps({"saved": str(path), "profile": profile_to_dict(saved)}, indent=2))
    else:
        print("\n".join(profile_lines(saved)))
        print(f"saved to {path}; use it with --gpu '{name}'")
    return 0


def _delete(name: str, as_json: bool) -> int:
    from tui.core.errors import LocalAIError
    from tui.core.hardware.profile_store import custom_profiles_path, delete_custom_profile

    if not delete_custom_profile(name):
        raise LocalAIError(f"no custom profile called '{name}'", hint="'localai-tui gpus' lists them")
    print(json.dumps({"deleted": name}) if as_json else f"deleted custom profile '{name}' from {custom_profiles_path()}")
    return 0


def _set_ram_bandwidth(text: str, as_json: bool) -> int:
    from tui.core.hardware.profile_store import hardware_settings_path
    from tui.core.hardware.profiles import set_host_ram_bandwidth

    forget = text.strip().casefold() in ("default", "reset", "auto", "none")
    settings = set_host_ram_bandwidth(None if forget else text)
    if as_json:
        print(json.dumps({"ram_bandwidth_gbps": settings.ram_bandwidth_gbps, "ram_setup": settings.ram_setup}))
    elif forget:
        print(f"this machine's RAM bandwidth: back to the catalog default (saved in {hardware_settings_path()})")
    else:
        label = f" ({settings.ram_setup})" if settings.ram_setup else ""
        print(f"this machine's RAM bandwidth: {settings.ram_bandwidth_gbps:g} GB/s{label} "
              f"(saved in {hardware_settings_path()})")
    return 0
