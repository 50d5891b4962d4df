"""What llama.cpp itself allocates on each device when a model is split over ``rpc-server``s.

Uses the RPC-enabled build of ``scripts/build_llama_rpc.py`` (the pinned llama-cpp-python's own
llama.cpp, built with ``-DGGML_RPC=ON``):

* ``rpc_servers(bin_dir, n)`` starts ``n`` ``ggml-rpc-server``s on 127.0.0.1 (CPU backend, free
  ports chosen by the OS), waits until each accepts connections, and stops them on exit;
* ``measure_rpc(path, settings, endpoints)`` loads ``path`` in a child process whose
  llama-cpp-python points at the RPC build (``LLAMA_CPP_LIB_PATH``), registers the servers as
  ``--rpc`` does (``add_rpc_devices`` in common/arg.cpp: ``ggml_backend_rpc_add_server`` then
  ``ggml_backend_register``), creates the model and context with the app's own parameters
  (``tui.core.engine.params``: ``-ngl``, ``-ts``, context, batch, cache types, flash attention),
  and returns llama.cpp's ``llama_get_memory_breakdown`` per buffer type, read exactly as
  ``tests/llama_truth.py`` reads it for the CPU, plus the free/total memory each RPC device
  reported (what the default split divides by).

Real-size header-only files are measured in llama.cpp's no_alloc mode (nothing read, nothing
allocated on the servers): the breakdown is then the sizes llama.cpp *would* allocate, the same
figures ``--fit`` plans with. Small real files can be loaded for real (``mode="load"``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tui.core.fit.settings import LlamaSettings

REPO = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 60.0
PROBE_TIMEOUT_S = 600.0


def rpc_build_dir(targets: tuple[str, ...] = ("ggml-rpc-server", "llama")) -> Path | None:
    """The cached RPC build's bin dir (``scripts/build_llama_rpc.py``) with ``targets`` built, or None."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import build_llama_rpc
    finally:
        sys.path.pop(0)
    found: Path | None = build_llama_rpc.find_build(targets)
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ggml-rpc-server on port {port} exited with {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"ggml-rpc-server on port {port} did not start listening")


@contextlib.contextmanager
def rpc_servers(bin_dir: Path, n: int, *, threads: int = 1, log_dir: Path | None = None) -> Iterator[list[str]]:
    """Start ``n`` loopback rpc-servers (CPU backend); yield their ``127.0.0.1:port`` endpoints; stop them.

    Note the readiness probe: rpc-server takes one connection as a client; a connect-and-close is
    harmless (it reads the first command, fails, and goes back to accept).
    """
    procs: list[subprocess.Popen[bytes]] = []
    endpoints: list[str] = []
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        for i in range(n):
            port = _free_port()
            out = open(log_dir / f"rpc-server-{i}.log", "wb") if log_dir else subprocess.DEVNULL  # noqa: SIM115
            proc = subprocess.Popen([str(bin_dir / "ggml-rpc-server"), "-H", "127.0.0.1", "-p", str(port),
                                     "-t", str(threads)], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            procs.append(proc)
            _wait_listening(port, proc, deadline)
            endpoints.append(f"127.0.0.1:{port}")
        yield endpoints
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@dataclass(frozen=True)
class RpcMemory:
    """llama.cpp's per-buffer-type breakdown for one load over RPC. Sizes are bytes.

    ``buffers`` maps a buffer type name (``CPU``, ``RPC0[127.0.0.1:50052]`` ...) to
    (model, context, compute). ``devices`` lists (name, endpoint, free, total) of each RPC device
    in llama.cpp's order.
    """

    buffers: dict[str, tuple[int, int, int]]
    devices: list[tuple[str, str, int, int]]
    n_ctx: int
    mode: str
    log: str

    def for_endpoint(self, endpoint: str, device: int = 0) -> tuple[int, int, int]:
        return self.buffers.get(f"RPC{device}[{endpoint}]", (0, 0, 0))

    def host(self) -> tuple[int, int, int]:
        """Everything on the head's CPU (CPU, CPU_Mapped, CPU_REPACK, AMX ...: all host buffer types)."""
        rows = [v for k, v in self.buffers.items() if not k.startswith("RPC")]
        return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))


def measure_rpc(path: str | os.PathLike[str], settings: LlamaSettings, endpoints: list[str], *,
                bin_dir: Path | None = None, mode: str = "no_alloc") -> RpcMemory:
    """Run the probe in a child process against the RPC build; raise RuntimeError with its message on failure."""
    bin_dir = bin_dir or rpc_build_dir()
    if bin_dir is None:
        raise RuntimeError("the RPC build is missing: run scripts/build_llama_rpc.py")
    request = {"path": str(path), "endpoints": endpoints, "mode": mode, "settings": _settings_to_json(settings)}
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=str(bin_dir), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "tests.llama_rpc_truth", json.dumps(request)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=PROBE_TIMEOUT_S)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"RPC probe failed ({proc.returncode}): {' | '.join(tail)}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return RpcMemory({k: tuple(v) for k, v in data["buffers"].items()},  # type: ignore[misc]
                     [tuple(d) for d in data["devices"]], data["n_ctx"], mode, data["log"])  # type: ignore[misc]


def _settings_to_json(s: LlamaSettings) -> dict[str, object]:
    return {"n_ctx": s.n_ctx, "n_gpu_layers": s.n_gpu_layers, "cache_type_k": s.cache_type_k,
            "cache_type_v": s.cache_type_v, "flash_attn": s.flash_attn, "n_batch": s.n_batch,
            "n_ubatch": s.n_ubatch, "tensor_split": list(s.tensor_split), "use_mmap": s.use_mmap,
            "cpu_moe": s.cpu_moe, "n_cpu_moe": s.n_cpu_moe}


# --- comparing the estimate with llama.cpp ---------------------------------------------------------


@dataclass(frozen=True)
class RpcCase:
    """One plan to check: a header-only preset split over ``lend_gib`` loopback boxes (CPU helpers).

    ``lend_gib`` are the GiB each box lends (``--rpc 127.0.0.1:PORT=cpu:GIB``): the app turns them
    into ``-ts``, and llama.cpp is run with the settings the app prints. ``tensor_split`` set by the
    user wins. ``default_split`` runs llama.cpp *without* ``-ts`` (its split by the free memory each
    rpc-server reports) and gives the estimate those reported figures as the boxes' free memory.
    """

    name: str
    preset: str
    lend_gib: tuple[float, ...]
    settings: LlamaSettings = LlamaSettings(n_ctx=8192, use_mmap=False)
    default_split: bool = False
    compute_exact: bool = True  # compute buffers replayed exactly (pipeline parallelism; not yet MLA)


@dataclass(frozen=True)
class DeviceRow:
    case: str
    device: str  # RPC0 ... or CPU (the head)
    buffer: str
    weights: tuple[int, int]  # (estimated, llama.cpp)
    kv: tuple[int, int]
    compute: tuple[int, int]

    @staticmethod
    def error_pct(pair: tuple[int, int]) -> float:
        est, real = pair
        if real == 0:
            return 0.0 if est == 0 else float("inf")
        return (est - real) / real * 100.0


def run_case(case: RpcCase, model_path: Path, bin_dir: Path, *, threads: int = 1) -> list[DeviceRow]:
    """Start the boxes, measure llama.cpp over them, estimate the same plan; one row per device."""
    from dataclasses import replace

    from tui.core.fit.estimate import estimate_fit
    from tui.core.gguf.anatomy import load_anatomy
    from tui.core.hardware.boxes import attach_boxes, make_box
    from tui.core.hardware.devices import GiB, HardwareProfile

    anatomy = load_anatomy(model_path)
    head = HardwareProfile(name="loopback head", ram_bytes=64 * GiB, ram_bandwidth_gbps=50.0)
    with rpc_servers(bin_dir, len(case.lend_gib), threads=threads) as endpoints:
        boxes = [make_box(ep, [f"cpu:{gib:g}"], "loopback") for ep, gib in zip(endpoints, case.lend_gib, strict=True)]
        settings = case.settings
        if case.default_split:
            memory = measure_rpc(model_path, settings, endpoints, bin_dir=bin_dir)
            free = {d[1]: d[2] for d in memory.devices}
            boxes = [replace(b, gpus=tuple(replace(g, vram_bytes=free[b.endpoint], free_bytes=free[b.endpoint])
                                           for g in b.gpus)) for b in boxes]
            profile = attach_boxes(head, boxes)
            exact = settings.with_changes(tensor_split=tuple(float(free[b.endpoint]) for b in boxes))
            estimate = estimate_fit(anatomy, profile, exact)
        else:
            profile = attach_boxes(head, boxes)
            estimate = estimate_fit(anatomy, profile, settings)  # states -ts for the boxes
            memory = measure_rpc(model_path, estimate.settings, endpoints, bin_dir=bin_dir)
    rows = []
    for d in estimate.devices:
        real = memory.buffers.get(d.buffer, (0, 0, 0)) if d.box else memory.host()
        rows.append(DeviceRow(case.name, d.name, d.buffer or d.name, (d.weights_bytes, real[0]),
                              (d.kv_bytes, real[1]), (d.compute_bytes, real[2])))
    return rows


#: The plans ``scripts/bench_rpc.py`` and ``tests/test_rpc_vs_llama.py`` check.
RPC_CASES = (
    RpcCase("dense 2 boxes 8+24 GiB", "llama-3.1-8b-q4_k_m", (8, 24)),
    RpcCase("dense 3 boxes -ts 1,2,1", "llama-3.1-8b-q4_k_m", (16, 16, 16),
            LlamaSettings(n_ctx=8192, use_mmap=False, tensor_split=(1, 2, 1))),
    RpcCase("dense 2 boxes llama.cpp default split", "llama-3.1-8b-q4_k_m", (16, 16), default_split=True),
    RpcCase("MoE 2 boxes 16+12 GiB", "qwen3-30b-a3b-q4_k_m", (16, 12)),
    RpcCase("MoE 3 boxes -ts 3,1,2 q8_0 KV", "qwen3-30b-a3b-q4_k_m", (16, 16, 16),
            LlamaSettings(n_ctx=16384, use_mmap=False, tensor_split=(3, 1, 2), cache_type_k="q8_0",
                          cache_type_v="q8_0", flash_attn="on")),
    RpcCase("MoE+SWA 3 boxes 24+32+16 GiB", "gpt-oss-120b-mxfp4", (24, 32, 16)),
    RpcCase("SWA tied 2 boxes -ngl 40", "gemma-3-27b-q4_k_m", (12, 8),
            LlamaSettings(n_ctx=8192, use_mmap=False, n_gpu_layers=40)),
    RpcCase("MLA MoE 2 boxes 8+8 GiB", "deepseek-v2-lite-q4_k_m", (8, 8), compute_exact=False),
)


# --- running the printed commands ------------------------------------------------------------------


@dataclass(frozen=True)
class ServedPlan:
    """What happened when the app's printed commands were run on loopback."""

    server_commands: list[list[str]]
    head_command: list[str]
    completion: str
    model_buffers: dict[str, int]  # llama-server's log: load_tensors: <buffer> model buffer size (bytes, 0.01 MiB)
    kv_buffers: dict[str, int]
    estimate: object  # the FitEstimate the commands came from


_RE_LOG_MODEL = re.compile(r"load_tensors:\s+(\S+) model buffer size =\s+([\d.]+) MiB")
_RE_LOG_KV = re.compile(r"llama_kv_cache:\s+(\S+) KV buffer size =\s+([\d.]+) MiB")


def serve_plan(model_path: Path, lend_gib: tuple[float, ...], bin_dir: Path, work: Path, *,
               timeout_s: float = 180.0) -> ServedPlan:
    """Size ``model_path`` over loopback boxes lending ``lend_gib``, run exactly the commands the app prints
    (``ggml-rpc-server ...`` per box, then ``llama-server --rpc ...``), ask for a completion, stop everything.

    Only the program paths change (the cached build's), and the processes get ``-t 1`` (a shared
    machine), llama-server ``--host 127.0.0.1 --port P -lv 4`` (the log level that prints the
    buffers); rpc-server's ``-c`` cache goes to ``work`` (``LLAMA_CACHE``).
    """
    import urllib.request

    from tui.core.fit.estimate import estimate_fit
    from tui.core.fit.llama_args import llama_server_args
    from tui.core.fit.rpc import rpc_server_commands
    from tui.core.gguf.anatomy import load_anatomy
    from tui.core.hardware.boxes import attach_boxes, make_box
    from tui.core.hardware.devices import GiB, HardwareProfile

    head = HardwareProfile(name="loopback head", ram_bytes=16 * GiB, ram_bandwidth_gbps=50.0)
    boxes = [make_box(f"127.0.0.1:{_free_port()}", [f"cpu:{g:g}"], "loopback") for g in lend_gib]
    profile = attach_boxes(head, boxes)
    anatomy = load_anatomy(model_path)
    estimate = estimate_fit(anatomy, profile, LlamaSettings(n_ctx=min(2048, anatomy.n_ctx_train or 2048)))
    servers = [argv for _, argv in rpc_server_commands(profile)]
    port = _free_port()
    head_cmd = llama_server_args(str(model_path), estimate.settings, rpc=estimate.rpc_endpoints)
    env = dict(os.environ, LLAMA_CACHE=str(work / "llama-cache"))
    procs: list[subprocess.Popen[bytes]] = []
    log_path = work / "llama-server.log"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        for argv, box in zip(servers, boxes, strict=True):
            proc = subprocess.Popen([str(bin_dir / argv[0]), *argv[1:], "-t", "1"], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            _wait_listening(box.port, proc, deadline)
        with open(log_path, "wb") as log:
            server = subprocess.Popen([str(bin_dir / head_cmd[0]), *head_cmd[1:], "--host", "127.0.0.1", "--port",
                                       str(port), "-t", "1", "-lv", "4"], env=env, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT)
        procs.append(server)
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"llama-server exited with {server.returncode}: "
                                   f"{log_path.read_text(errors='replace')[-800:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama-server did not become healthy")
            time.sleep(0.25)
        body = json.dumps({"prompt": "Once upon a time", "n_predict": 8, "temperature": 0}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            completion = json.loads(reply.read())["content"]
    finally:
        # llama-server first, and wait: on exit it asks every rpc-server for its memory once more
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    text = log_path.read_text(errors="replace")
    model = {m[1]: round(float(m[2]) * 1024 * 1024) for m in _RE_LOG_MODEL.finditer(text)}
    kv = {m[1]: round(float(m[2]) * 1024 * 1024) for m in _RE_LOG_KV.finditer(text)}
    return ServedPlan(servers, head_cmd, completion, model, kv, estimate)


# --- the child process ----------------------------------------------------------------------------


def _register_servers(endpoints: list[str]) -> list[tuple[str, str, int, int]]:
    """``add_rpc_devices`` (common/arg.cpp) through ctypes; returns the RPC devices with their memory."""
    from llama_cpp import llama_cpp as lowlevel

    lib_dir = Path(lowlevel._lib._name).parent
    ggml = ctypes.CDLL(str(lib_dir / "libggml.so"))
    base = ctypes.CDLL(str(lib_dir / "libggml-base.so"))
    ggml.ggml_backend_load_all()
    ggml.ggml_backend_reg_by_name.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_by_name.argtypes = [ctypes.c_char_p]
    reg = ggml.ggml_backend_reg_by_name(b"RPC")
    if not reg:
        raise SystemExit("this llama.cpp build has no RPC backend")
    base.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    base.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    add = base.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_rpc_add_server")
    add_server = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p)(add)
    ggml.ggml_backend_register.argtypes = [ctypes.c_void_p]
    for endpoint in endpoints:
        server_reg = add_server(endpoint.encode())
        if not server_reg:
            raise SystemExit(f"cannot reach rpc-server {endpoint}")
        ggml.ggml_backend_register(server_reg)
    ggml.ggml_backend_dev_count.restype = ctypes.c_size_t
    ggml.ggml_backend_dev_get.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    for fn in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(base, fn).restype = ctypes.c_char_p
        getattr(base, fn).argtypes = [ctypes.c_void_p]
    base.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                             ctypes.POINTER(ctypes.c_size_t)]
    devices = []
    for i in range(ggml.ggml_backend_dev_count()):
        dev = ggml.ggml_backend_dev_get(i)
        name = base.ggml_backend_dev_name(dev).decode()
        if not name.startswith("RPC"):
            continue
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        base.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append((name, base.ggml_backend_dev_description(dev).decode(), free.value, total.value))
    return devices


def _probe(request: dict[str, object]) -> dict[str, object]:
    import llama_cpp

    from tests.llama_truth import _LogCapture, _memory_breakdown
    from tui.core.engine.params import LOAD_MODE_NONE, build_context_params, build_model_params
    from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx

    raw = dict(request["settings"])  # type: ignore[call-overload]
    raw["tensor_split"] = tuple(raw["tensor_split"])
    settings = LlamaSettings().with_changes(**raw)
    llama_cpp.llama_backend_init()
    devices = _register_servers(list(request["endpoints"]))  # type: ignore[call-overload]
    with _LogCapture() as capture:
        native = build_model_params(settings)
        params = native.params
        if not cpu_extra_buffers_safe(host_has_amx()):
            params.use_extra_bufts = False  # as the engine loads (tui/core/fit/cpu_amx.py): --no-repack
        if request["mode"] == "no_alloc":
            params.no_alloc = True
            params.load_mode = LOAD_MODE_NONE
        model = llama_cpp.llama_model_load_from_file(str(request["path"]).encode(), params)
        if not model:
            raise SystemExit(f"llama.cpp could not load the model: {capture.tail()}")
        ctx = llama_cpp.llama_init_from_model(model, build_context_params(settings, settings.n_ctx))
        if not ctx:
            raise SystemExit(f"llama.cpp could not create the context: {capture.tail()}")
        breakdown = _memory_breakdown(ctx)
        n_ctx = llama_cpp.llama_n_ctx(ctx)
        llama_cpp.llama_free(ctx)
        llama_cpp.llama_model_free(model)
    if breakdown is None:
        raise SystemExit("llama_get_memory_breakdown is not readable on this platform")
    return {"buffers": breakdown, "devices": devices, "n_ctx": n_ctx, "log": capture.text}


if __name__ == "__main__":
    print(json.dumps(_probe(json.loads(sys.argv[1]))))
