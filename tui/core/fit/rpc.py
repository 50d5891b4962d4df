"""Plans over helper boxes: the split llama.cpp will use, per-box totals, and the commands that run it.

* the split: see ``tui.core.fit.placement.split_for_boxes`` (a plan with boxes always states ``-ts``).
* ``box_summaries``: totals per machine (the head and each box) from the per-device estimate.
* ``rpc_server_commands`` / ``rpc_args``: ``ggml-rpc-server`` on each helper (tools/rpc/rpc-server.cpp:
  ``-H`` host, ``-p`` port, ``-d`` devices, ``-c`` local tensor cache, ``-t`` CPU threads) and the
  head's ``--rpc host:port,...`` (common/arg.cpp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.core.fit.estimate import FitEstimate
from tui.core.fit.placement import BACKEND_DEVICE_PREFIX
from tui.core.fit.verdict import Verdict
from tui.core.hardware.devices import HardwareProfile, RemoteBox

#: The binary tools/rpc builds (``set(TARGET ggml-rpc-server)`` in its CMakeLists.txt).
RPC_SERVER_PROGRAM = "ggml-rpc-server"


@dataclass(frozen=True)
class BoxSummary:
    """One machine of the plan: the head (``endpoint`` "") or a helper box. Sizes in bytes."""

    name: str
    endpoint: str
    link: str
    devices: tuple[str, ...]
    total_bytes: int
    capacity_bytes: int
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "endpoint": self.endpoint, "link": self.link, "devices": list(self.devices),
                "total_bytes": self.total_bytes, "capacity_bytes": self.capacity_bytes, "verdict": str(self.verdict)}


def box_summaries(estimate: FitEstimate, profile: HardwareProfile) -> tuple[BoxSummary, ...]:
    """The head first, then each box in ``--rpc`` order, with its devices' totals and worst verdict."""
    out = []
    head = [d for d in estimate.devices if not d.box]
    out.append(BoxSummary("head", "", "", tuple(d.name for d in head), sum(d.total_bytes for d in head),
                          sum(d.capacity_bytes for d in head), Verdict.worst([d.verdict for d in head])))
    for box in profile.boxes:
        mine = [d for d in estimate.devices if d.box == box.endpoint]
        if not mine:
            continue
        out.append(BoxSummary(box.name, box.endpoint, box.link.label, tuple(d.name for d in mine),
                              sum(d.total_bytes for d in mine), sum(d.capacity_bytes for d in mine),
                              Verdict.worst([d.verdict for d in mine])))
    return tuple(out)


def _remote_device_names(box: RemoteBox) -> list[str]:
    """The names the helper's own llama.cpp gives its devices (``CUDA0``, ``MTL0``, ``CPU``): ``-d`` takes them."""
    counters: dict[str, int] = {}
    names = []
    for gpu in box.gpus:
        if gpu.backend.upper() == "CPU":
            names.append("CPU")
            continue
        prefix = BACKEND_DEVICE_PREFIX.get(gpu.backend.upper(), gpu.backend)
        n = counters.get(prefix, 0)
        counters[prefix] = n + 1
        names.append(f"{prefix}{n}")
    return names


def rpc_server_args(box: RemoteBox, *, cache: bool = True, program: str = RPC_SERVER_PROGRAM) -> list[str]:
    """The command to start on ``box``: listen on its port, expose exactly the devices the plan counts.

    It binds 0.0.0.0 so the head can reach it, or 127.0.0.1 for a box on this machine (loopback).
    ``-c`` keeps a local copy of the weights so later loads skip the network (``--cache``).
    """
    loopback = box.host in ("127.0.0.1", "localhost", "::1")
    args = [program, "-H", "127.0.0.1" if loopback else "0.0.0.0", "-p", str(box.port)]
    args += ["-d", ",".join(_remote_device_names(box))]
    if cache:
        args.append("-c")
    return args


def rpc_server_commands(profile: HardwareProfile, *, cache: bool = True) -> list[tuple[RemoteBox, list[str]]]:
    return [(box, rpc_server_args(box, cache=cache)) for box in profile.boxes]


def rpc_args(profile: HardwareProfile) -> list[str]:
    """``--rpc host:port,...`` for the head, in the order the plan counts the boxes (empty without boxes)."""
    if not profile.boxes:
        return []
    return ["--rpc", ",".join(box.endpoint for box in profile.boxes)]
