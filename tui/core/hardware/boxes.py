"""Helper boxes: other machines that lend their GPUs (or RAM) to the head through llama.cpp's RPC backend.

On each helper, llama.cpp's ``rpc-server`` (tools/rpc, built with ``-DGGML_RPC=ON``) exposes its
devices; the head runs ``llama-server --rpc host:port,...`` and treats every remote device as a GPU
(``ggml_backend_rpc_device_get_type`` returns ``GGML_BACKEND_DEVICE_TYPE_GPU``). llama.cpp puts the
RPC devices *first*, before the head's own GPUs (``llama_prepare_model_devices`` in src/llama.cpp:
"add RPC servers at the front of the list to minimize network transfers"), in the order the
servers were given to ``--rpc`` and each server's devices in its own order. So in a profile the
helpers' devices lead ``HardwareProfile.gpus``, and ``-ts`` counts them first.

A box is written ``HOST:PORT=DEVICE[+DEVICE...][@LINK]`` on the command line (``--rpc``): each DEVICE is
a catalog GPU (``RTX 3060 12GB``) or ``cpu:GIB`` for a CPU-only helper lending GIB of its RAM (its
rpc-server then exposes the CPU backend; it reports the machine's free RAM).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from tui.core.errors import LocalAIError
from tui.core.hardware.catalog import find_device, load_gpu_catalog
from tui.core.hardware.devices import GpuSpec, HardwareProfile, Link, RemoteBox
from tui.core.sizes import GiB

#: rpc-server's default port (tools/rpc/rpc-server.cpp: ``int port = 50052``).
DEFAULT_RPC_PORT = 50052

_MAX_BOXES = 16  # GGML_RPC_MAX_SERVERS (ggml/include/ggml-rpc.h)
_MAX_RAM_GIB = 16384.0


def _link(key: str, label: str, line_gbit: float, efficiency: float, rtt_us: float, source: str) -> Link:
    return Link(key, label, round(line_gbit * efficiency, 3), rtt_us, source)


# TCP goodput over Ethernet with a 1500-byte MTU: 1448 bytes of payload (1500 - 20 IP - 32 TCP with
# timestamps) per 1538 bytes on the wire (preamble 8, header 14, FCS 4, inter-frame gap 12) = 94.1% of
# the line rate, the figure iperf3 reports on a clean link. Round trips: a ping across one switch.
_ETHERNET_TCP = 1448 / 1538

#: The links the app knows, by key. Bandwidth is TCP goodput; latency a typical round trip.
LINKS: dict[str, Link] = {link.key: link for link in (
    _link("1gbe", "1 GbE", 1.0, _ETHERNET_TCP, 250.0,
          "IEEE 802.3ab 1 Gbit/s; TCP goodput 94.1% of line rate (1500-byte MTU); ~0.25 ms ping through a switch"),
    _link("2.5gbe", "2.5 GbE", 2.5, _ETHERNET_TCP, 200.0,
          "IEEE 802.3bz 2.5 Gbit/s; TCP goodput 94.1% of line rate; ~0.2 ms ping through a switch"),
    _link("10gbe", "10 GbE", 10.0, _ETHERNET_TCP, 100.0,
          "IEEE 802.3an 10 Gbit/s; TCP goodput 94.1% of line rate; ~0.1 ms ping through a switch"),
    _link("thunderbolt", "Thunderbolt 4", 40.0, 0.5, 100.0,
          "Thunderbolt 4 40 Gbit/s; IP over Thunderbolt (thunderbolt-net) reaches about half of it in iperf3"),
    _link("loopback", "loopback", 40.0, 1.0, 20.0,
          "127.0.0.1 on one machine (testing): memory copies through the kernel, ~20 us ping"),
)}
DEFAULT_LINK = "1gbe"

_LINK_ALIASES = {"1g": "1gbe", "gbe": "1gbe", "gige": "1gbe", "1gb": "1gbe", "2.5g": "2.5gbe", "2.5gb": "2.5gbe",
                 "10g": "10gbe", "10gb": "10gbe", "tb": "thunderbolt", "tb4": "thunderbolt", "tb3": "thunderbolt",
                 "lo": "loopback"}

_RE_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_RE_CPU = re.compile(r"^cpu(?::\s*([0-9.]+)\s*(?:gib|gb|g)?)?$", re.IGNORECASE)


def find_link(word: str) -> Link:
    """A link by key or a common spelling (``10gbe``, ``10G``, ``2.5GbE``, ``thunderbolt``)."""
    key = re.sub(r"[\s_-]", "", (word or "").strip().casefold())
    key = _LINK_ALIASES.get(key, key)
    if key in LINKS:
        return LINKS[key]
    raise LocalAIError(f"'{word}' is not a link the app knows", hint=f"use one of: {', '.join(LINKS)}")


def check_host(host: str) -> str:
    """A hostname or IP address as rpc-server's ``-H`` and llama-server's ``--rpc`` take it."""
    cleaned = (host or "").strip()
    if cleaned.startswith("[") and cleaned.endswith("]"):
        cleaned = cleaned[1:-1]
    try:
        return str(ipaddress.ip_address(cleaned))
    except ValueError:
        pass
    if len(cleaned) <= 253 and _RE_HOST.match(cleaned):
        return cleaned
    raise LocalAIError(f"'{cleaned[:60]}' is not a host name or IP address")


def check_port(value: str | int) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise LocalAIError(f"port '{str(value)[:20]}' is not a number") from None
    if not 1 <= port <= 65535:
        raise LocalAIError(f"port {port} is outside 1-65535")
    return port


def split_endpoint(text: str) -> tuple[str, int]:
    """``host[:port]`` -> (host, port); the port defaults to rpc-server's 50052."""
    text = (text or "").strip()
    if not text:
        raise LocalAIError("a box needs an address (host or host:port)")
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or str(DEFAULT_RPC_PORT)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, str(DEFAULT_RPC_PORT)
    return check_host(host), check_port(port)


def box_device(spec: str, endpoint: str, index: int) -> GpuSpec:
    """One device a helper exposes: a catalog GPU, or ``cpu:GIB`` (its CPU backend with that much RAM).

    A CPU helper's bandwidth is the catalog's default RAM setup (``localai-tui gpus`` lists others).
    """
    word = spec.strip()
    if not word:
        raise LocalAIError(f"box {endpoint}: an empty device name")
    cpu = _RE_CPU.match(word)
    if cpu:
        if cpu.group(1) is None:
            raise LocalAIError(f"box {endpoint}: say how much RAM the CPU helper lends, e.g. cpu:32 (GiB)")
        gib = float(cpu.group(1))
        if not 0 < gib <= _MAX_RAM_GIB:
            raise LocalAIError(f"box {endpoint}: cpu:{cpu.group(1)} is not a RAM size in GiB")
        ram = load_gpu_catalog().default_ram_setup
        return GpuSpec(name=f"CPU {gib:g} GiB", vram_bytes=int(round(gib * GiB)), bandwidth_gbps=ram.bandwidth_gbps,
                       backend="CPU", index=index, efficiency=ram.efficiency, box=endpoint,
                       notes=f"RAM bandwidth assumed: {ram.name}")
    device = find_device(word)
    if device.is_cpu:
        ram_gib = device.ram_gib
        if ram_gib is None:
            raise LocalAIError(f"box {endpoint}: '{device.name}' is a RAM speed; give the size as cpu:GIB")
        return GpuSpec(name=f"CPU {ram_gib:g} GiB", vram_bytes=int(round(ram_gib * GiB)),
                       bandwidth_gbps=device.bandwidth_gbps, backend="CPU", index=index,
                       efficiency=device.efficiency, box=endpoint, notes=device.name)
    # a Mac helper (unified memory) lends its Metal device: the GPU's share of its RAM
    return replace(device.gpu_spec(index), box=endpoint)


def make_box(address: str, specs: list[str] | tuple[str, ...], link: Link | str = DEFAULT_LINK,
             name: str = "") -> RemoteBox:
    """A helper box from its address (``host[:port]``), its device words and its link."""
    host, port = split_endpoint(address)
    endpoint = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    words = [s.strip() for s in specs if s.strip()]
    if not words:
        raise LocalAIError(f"box {endpoint}: which devices does it lend?",
                           hint="e.g. --rpc '192.168.1.20:50052=RTX 3060 12GB' or '...=cpu:32'")
    gpus = tuple(box_device(w, endpoint, i) for i, w in enumerate(words))
    the_link = find_link(link) if isinstance(link, str) else link
    label = (name or "").strip() or host
    if len(label) > 40 or any(not ch.isprintable() for ch in label):
        raise LocalAIError(f"'{label[:40]}' is not a usable box name: up to 40 printable characters")
    return RemoteBox(name=label, host=host, port=port, gpus=gpus, link=the_link, specs=tuple(words))


def parse_rpc_arg(text: str, link: Link | str = DEFAULT_LINK) -> RemoteBox:
    """``HOST[:PORT]=DEVICE[+DEVICE...][@LINK]`` (the CLI's ``--rpc``) -> a box; ``@LINK`` overrides ``link``."""
    address, sep, devices = (text or "").partition("=")
    if not sep:
        raise LocalAIError(f"--rpc '{(text or '')[:60]}' needs '=DEVICE' after the address",
                           hint="e.g. --rpc '192.168.1.20:50052=RTX 3060 12GB' or '192.168.1.21=cpu:32@10gbe'")
    devices, at, own_link = devices.partition("@")
    return make_box(address, devices.split("+"), own_link.strip() if at else link)


def attach_boxes(profile: HardwareProfile, boxes: tuple[RemoteBox, ...] | list[RemoteBox]) -> HardwareProfile:
    """``profile`` (the head machine) with ``boxes`` as helpers: their devices first, as llama.cpp orders them.

    Replaces any boxes the profile had. Two boxes may not share an address; at most 16 (ggml-rpc).
    """
    boxes = tuple(boxes)
    if len(boxes) > _MAX_BOXES:
        raise LocalAIError(f"{len(boxes)} boxes: llama.cpp's RPC backend takes at most {_MAX_BOXES} servers")
    seen: set[str] = set()
    for box in boxes:
        if box.endpoint in seen:
            raise LocalAIError(f"two boxes at {box.endpoint}: one rpc-server per address")
        seen.add(box.endpoint)
    local = profile.local_gpus
    remote = [g for box in boxes for g in box.gpus]
    gpus = (*remote, *local)  # each keeps its own index: on its box, or the head's CUDA numbering
    name = profile.name
    base = name.split(" + boxes: ")[0]
    if boxes:
        name = f"{base} + boxes: {', '.join(b.name for b in boxes)}"
    else:
        name = base
    return profile.with_changes(gpus=gpus, boxes=boxes, name=name)


def box_of(profile: HardwareProfile, gpu: GpuSpec) -> RemoteBox | None:
    """The helper box a device is on (None: the head)."""
    return next((b for b in profile.boxes if b.endpoint == gpu.box), None) if gpu.box else None


def box_to_rpc_arg(box: RemoteBox) -> str:
    """The ``--rpc`` value that describes ``box`` (its link goes in ``--link``)."""
    return f"{box.endpoint}={'+'.join(box.specs)}"
