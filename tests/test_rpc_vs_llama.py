"""Plans over helper boxes against llama.cpp itself: loopback rpc-servers, real-size header-only models.

Needs the RPC build of the pinned llama.cpp (``python scripts/build_llama_rpc.py``, cached; about
20 minutes on two cores, once). Without it these tests skip and say so. ``scripts/bench_rpc.py``
prints the same comparison as a table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gguf_factory import make_header_only
from tests.llama_rpc_truth import (
    RPC_CASES,
    DeviceRow,
    RpcCase,
    measure_rpc,
    rpc_build_dir,
    rpc_servers,
    run_case,
    serve_plan,
)
from tests.llama_truth import LOG_TOLERANCE_BYTES

BIN = rpc_build_dir()
SERVER_BIN = rpc_build_dir(("ggml-rpc-server", "llama", "llama-server"))
pytestmark = pytest.mark.skipif(
    BIN is None, reason="no RPC-enabled llama.cpp build: run scripts/build_llama_rpc.py (cached, builds once)")

#: The held-out bar: per-device weights and KV cache within 0.5% of what llama.cpp allocates.
TOLERANCE_PCT = 0.5


@pytest.fixture(scope="module")
def presets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rpc-presets")
    paths = {}
    for case in RPC_CASES:
        if case.preset not in paths:
            paths[case.preset] = root / f"{case.preset}.gguf"
            make_header_only(paths[case.preset], case.preset)
    return paths


@pytest.mark.parametrize("case", RPC_CASES, ids=[c.name for c in RPC_CASES])
def test_per_device_memory_matches_llama_cpp(case: RpcCase, presets: dict[str, Path]) -> None:
    assert BIN is not None
    rows = run_case(case, presets[case.preset], BIN)
    remote = [r for r in rows if r.device.startswith("RPC")]
    assert len(remote) == len(case.lend_gib)
    all_offloaded = case.settings.n_gpu_layers is None
    for row in rows:
        what = f"{case.name} {row.device}"
        assert abs(DeviceRow.error_pct(row.weights)) <= TOLERANCE_PCT, f"{what} weights {row.weights}"
        assert abs(DeviceRow.error_pct(row.kv)) <= TOLERANCE_PCT, f"{what} KV {row.kv}"
        if all_offloaded and case.compute_exact:  # pipeline parallelism: hidden-state copies included
            assert abs(DeviceRow.error_pct(row.compute)) <= TOLERANCE_PCT, f"{what} compute {row.compute}"
    # every box holds layers, and the split follows the boxes' shares
    assert all(r.weights[1] > 0 for r in remote)


def test_remote_devices_come_first_and_are_named_per_server(presets: dict[str, Path]) -> None:
    """llama.cpp lists RPC devices in --rpc order; buffers are named RPC<index on server>[host:port]."""
    from tui.core.fit.settings import LlamaSettings

    assert BIN is not None
    with rpc_servers(BIN, 2) as endpoints:
        memory = measure_rpc(presets["llama-3.1-8b-q4_k_m"], LlamaSettings(n_ctx=4096, use_mmap=False,
                                                                          tensor_split=(1, 3)), endpoints, bin_dir=BIN)
    assert [d[0] for d in memory.devices] == ["RPC0", "RPC1"]
    assert [d[1] for d in memory.devices] == endpoints
    first, second = memory.for_endpoint(endpoints[0]), memory.for_endpoint(endpoints[1])
    assert 0 < first[0] < second[0]  # -ts 1,3: the second box holds about three times the layers


@pytest.mark.skipif(SERVER_BIN is None, reason="no llama-server in the RPC build: run scripts/build_llama_rpc.py")
def test_printed_commands_start_a_working_split_on_loopback(stories_model: Path, tmp_path: Path) -> None:
    """The app's ggml-rpc-server and llama-server --rpc commands, run as printed, serve a completion;
    llama-server's log shows each box holding the weights the estimate gave it."""
    assert SERVER_BIN is not None
    plan = serve_plan(stories_model, (1, 2), SERVER_BIN, tmp_path)
    assert plan.completion.strip()
    assert plan.head_command[3] == "--rpc" and "-ts" in plan.head_command
    estimate = plan.estimate
    remote = [d for d in estimate.devices if d.box]  # type: ignore[attr-defined]
    assert len(remote) == 2
    for device in remote:
        logged = plan.model_buffers[device.buffer]
        assert abs(logged - device.weights_bytes) <= max(device.weights_bytes * TOLERANCE_PCT / 100,
                                                         LOG_TOLERANCE_BYTES), device.name
        assert abs(plan.kv_buffers[device.buffer] - device.kv_bytes) <= max(device.kv_bytes * TOLERANCE_PCT / 100,
                                                                            LOG_TOLERANCE_BYTES), device.name
