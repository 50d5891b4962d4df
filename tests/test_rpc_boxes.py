"""Helper boxes over llama.cpp's RPC backend: parsing, llama.cpp's device order, the split, per-box
totals, the network's cost, the commands, the hardware.toml round trip and the ``fit`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gguf_factory import make_header_only
from tui.cli import main
from tui.core.errors import LocalAIError
from tui.core.fit.estimate import estimate_fit
from tui.core.fit.placement import place_weights, profile_devices
from tui.core.fit.rpc import box_summaries, rpc_args, rpc_server_args
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import load_anatomy
from tui.core.hardware.boxes import LINKS, attach_boxes, find_link, make_box, parse_rpc_arg
from tui.core.hardware.devices import GiB, GpuSpec, HardwareProfile
from tui.core.hardware.profile_store import load_hardware_settings, save_boxes

HEAD = HardwareProfile(name="head", gpus=(GpuSpec("RTX 4090", 24 * GiB, 1008.0),), ram_bytes=64 * GiB,
                       ram_bandwidth_gbps=80.0)


@pytest.fixture(scope="module")
def llama8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rpc") / "llama8.gguf"
    make_header_only(path, "llama-3.1-8b-q4_k_m")
    return path


def test_parse_rpc_arg_catalog_gpu_cpu_helper_and_several_devices() -> None:
    box = parse_rpc_arg("192.168.1.20:50052=RTX 3060 12GB", "10gbe")
    assert (box.host, box.port, box.endpoint) == ("192.168.1.20", 50052, "192.168.1.20:50052")
    assert box.gpus[0].backend == "CUDA" and box.gpus[0].vram_bytes == 12 * GiB and box.gpus[0].box == box.endpoint
    assert box.link is LINKS["10gbe"]
    cpu = parse_rpc_arg("nas.local=cpu:32")
    assert cpu.port == 50052 and cpu.gpus[0].backend == "CPU" and cpu.gpus[0].vram_bytes == 32 * GiB
    assert parse_rpc_arg("nas.local=cpu:32@thunderbolt", "1gbe").link is LINKS["thunderbolt"]
    two = parse_rpc_arg("10.0.0.5:6000=RTX 3090+RTX 3090")
    assert [g.name for g in two.gpus] == ["RTX 3090", "RTX 3090"] and two.specs == ("RTX 3090", "RTX 3090")


@pytest.mark.parametrize("text", ["192.168.1.20:50052", "host:99999=RTX 3090", "bad host!=cpu:8", "h=cpu",
                                  "h=cpu:0", "h=RTX 9999 Imaginary", "h=", "h=cpu:8@dialup"])
def test_bad_rpc_args_are_one_line_errors(text: str) -> None:
    with pytest.raises(LocalAIError) as info:
        parse_rpc_arg(text)
    assert "\n" not in str(info.value.message)


def test_links_have_sources_and_spellings() -> None:
    assert find_link("10G") is LINKS["10gbe"] and find_link("2.5GbE") is LINKS["2.5gbe"]
    assert find_link("TB4") is LINKS["thunderbolt"]
    assert LINKS["1gbe"].goodput_gbit < LINKS["2.5gbe"].goodput_gbit < LINKS["10gbe"].goodput_gbit
    assert all(link.source for link in LINKS.values())
    with pytest.raises(LocalAIError):
        find_link("carrier pigeon")


def test_rpc_devices_come_first_named_like_llama_cpp() -> None:
    boxes = [parse_rpc_arg("10.0.0.2=RTX 3090+RTX 3060 12GB"), parse_rpc_arg("10.0.0.3:7000=cpu:16")]
    profile = attach_boxes(HEAD, boxes)
    devices = profile_devices(profile)
    assert [d.name for d in devices] == ["RPC0", "RPC1", "RPC2", "CUDA0", "CPU"]
    assert [d.buffer_name for d in devices[:3]] == ["RPC0[10.0.0.2:50052]", "RPC1[10.0.0.2:50052]",
                                                    "RPC0[10.0.0.3:7000]"]
    assert profile.local_gpus == HEAD.gpus
    assert attach_boxes(profile, []).gpus == HEAD.gpus  # detaching gives the head back
    with pytest.raises(LocalAIError):
        attach_boxes(HEAD, [boxes[0], boxes[0]])


def test_plan_states_its_split_and_boxes_hold_layers_in_proportion(llama8: Path) -> None:
    anatomy = load_anatomy(llama8)
    profile = attach_boxes(HEAD, [parse_rpc_arg("10.0.0.2=cpu:8"), parse_rpc_arg("10.0.0.3=RTX 3060 12GB")])
    estimate = estimate_fit(anatomy, profile, LlamaSettings(n_ctx=4096))
    assert estimate.settings.tensor_split == (8.0, 12.0, 24.0)
    assert estimate.llama_cpp_args[:2] == ("--rpc", "10.0.0.2:50052,10.0.0.3:50052")
    placement = place_weights(anatomy, profile, estimate.settings)
    layers = [placement.layer_device.count(i) for i in range(3)]
    assert layers[0] < layers[1] < layers[2] and sum(layers) == anatomy.n_layer
    summaries = box_summaries(estimate, profile)
    assert [s.name for s in summaries] == ["head", "10.0.0.2", "10.0.0.3"]
    assert summaries[1].total_bytes == estimate.device("RPC0").total_bytes
    # a -ts the user gives wins
    own = estimate_fit(anatomy, profile, LlamaSettings(n_ctx=4096, tensor_split=(1, 1, 1)))
    assert own.settings.tensor_split == (1, 1, 1)


def test_network_cost_grows_on_slower_links_and_with_more_boxes(llama8: Path) -> None:
    anatomy = load_anatomy(llama8)
    settings = LlamaSettings(n_ctx=4096)
    local = estimate_fit(anatomy, HEAD, settings)
    assert local.network is None
    speeds, costs = [], []
    for link in ("1gbe", "10gbe", "thunderbolt"):
        profile = attach_boxes(HEAD, [parse_rpc_arg("10.0.0.2=RTX 3090", link)])
        e = estimate_fit(anatomy, profile, settings)
        assert e.network is not None and e.network.visits == 1
        # one token's hidden state both ways, plus the mask: a few KiB; a prompt batch: megabytes
        assert 2 * 4 * anatomy.n_embd <= e.network.bytes_sent + e.network.bytes_received < 64 * 1024
        assert e.prompt_network is not None and e.prompt_network.bytes_sent > 512 * 4 * anatomy.n_embd
        speeds.append(e.est_tokens_per_s)
        costs.append(e.network.seconds)
    assert costs[0] > costs[1] > costs[2] and speeds[0] < speeds[1] < speeds[2]
    two = attach_boxes(HEAD, [parse_rpc_arg("10.0.0.2=RTX 3090"), parse_rpc_arg("10.0.0.3=RTX 3090")])
    e2 = estimate_fit(anatomy, two, settings)
    assert e2.network is not None and e2.network.visits == 2 and e2.network.seconds > costs[0]


def test_commands_for_helpers_and_head() -> None:
    gpu_box = make_box("192.168.1.20:50052", ["RTX 3090", "RTX 3060 12GB"], "10gbe")
    assert rpc_server_args(gpu_box) == ["ggml-rpc-server", "-H", "0.0.0.0", "-p", "50052", "-d", "CUDA0,CUDA1", "-c"]
    loop = make_box("127.0.0.1:6001", ["cpu:4"], "loopback")
    assert rpc_server_args(loop, cache=False) == ["ggml-rpc-server", "-H", "127.0.0.1", "-p", "6001", "-d", "CPU"]
    assert rpc_args(attach_boxes(HEAD, [gpu_box, loop])) == ["--rpc", "192.168.1.20:50052,127.0.0.1:6001"]
    assert rpc_args(HEAD) == []


def test_boxes_round_trip_through_hardware_toml() -> None:
    boxes = (make_box("192.168.1.20", ["RTX 3060 12GB"], "2.5gbe", "gaming-pc"),
             make_box("192.168.1.21:6000", ["cpu:32"], "10gbe"))
    save_boxes(boxes)
    again = load_hardware_settings().boxes
    assert [(b.name, b.endpoint, b.specs, b.link.key) for b in again] == \
        [("gaming-pc", "192.168.1.20:50052", ("RTX 3060 12GB",), "2.5gbe"),
         ("192.168.1.21", "192.168.1.21:6000", ("cpu:32",), "10gbe")]
    assert again == boxes
    from tui.core.hardware.profiles import load_selected_profile

    selected = load_selected_profile()
    assert [g.box for g in selected.gpus[:2]] == ["192.168.1.20:50052", "192.168.1.21:6000"]
    save_boxes(())
    assert load_hardware_settings().boxes == ()


def test_a_malformed_box_table_names_itself(tmp_path: Path) -> None:
    from tui.core.hardware.profile_store import hardware_settings_path

    path = hardware_settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[[box]]\naddress = "10.0.0.2"\ndevices = ["cpu:lots"]\n')
    with pytest.raises(LocalAIError) as info:
        load_hardware_settings()
    assert "box #1" in info.value.message


def test_fit_cli_text_and_json(capsys: pytest.CaptureFixture[str], llama8: Path) -> None:
    argv = ["fit", str(llama8), "--gpu", "RTX 3060 12GB", "--rpc", "192.168.1.20:50052=RTX 3060 12GB",
            "--rpc", "192.168.1.21=cpu:32", "--link", "10gbe", "-c", "8192"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "RPC0" in out and "RPC1" in out and "192.168.1.21:50052" in out and "10 GbE" in out
    assert "ggml-rpc-server -H 0.0.0.0 -p 50052 -d CUDA0 -c" in out
    assert "ggml-rpc-server -H 0.0.0.0 -p 50052 -d CPU -c" in out
    assert "--rpc 192.168.1.20:50052,192.168.1.21:50052" in out and "-ts 12,32,12" in out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data["devices"]] == ["RPC0", "RPC1", "CUDA0", "CPU"]
    assert data["devices"][0]["buffer"] == "RPC0[192.168.1.20:50052]"
    assert [b["name"] for b in data["boxes"]] == ["head", "192.168.1.20", "192.168.1.21"]
    assert data["network_per_token"]["visits"] == 2
    assert data["rpc_server_commands"][1]["command"][-3:] == ["-d", "CPU", "-c"]
    assert data["llama_server_command"][3:5] == ["--rpc", "192.168.1.20:50052,192.168.1.21:50052"]


def test_fit_cli_bad_box_is_one_line(capsys: pytest.CaptureFixture[str], llama8: Path) -> None:
    assert main(["fit", str(llama8), "--gpu", "cpu", "--rpc", "10.0.0.2:50052"]) != 0
    err = capsys.readouterr().err
    assert "--rpc" in err and "Traceback" not in err
    assert main(["fit", str(llama8), "--gpu", "cpu", "--link", "10gbe"]) != 0
    assert "--rpc" in capsys.readouterr().err


def test_compare_puts_every_head_in_front_of_the_same_boxes(capsys: pytest.CaptureFixture[str], llama8: Path) -> None:
    argv = ["compare", str(llama8), "--gpu", "RTX 3060 12GB", "--gpu", "cpu", "--rpc", "10.0.0.2=RTX 3060 12GB",
            "--link", "10gbe", "-c", "4096", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    titles = [b["title"] for b in data["boxes"]]
    assert titles == ["RTX 3060 12GB + 1 box", "cpu + 1 box"]
    for column in data["boxes"]:
        names = [d["name"] for d in column["estimate"]["devices"]]
        assert names[0] == "RPC0" and column["estimate"]["rpc"] == ["10.0.0.2:50052"]


def test_auto_fit_offloads_what_the_boxes_hold(llama8: Path) -> None:
    from tui.core.fit.autofit import auto_gpu_layers

    anatomy = load_anatomy(llama8)
    small = HardwareProfile(name="cpu head", ram_bytes=64 * GiB, ram_bandwidth_gbps=50.0)
    profile = attach_boxes(small, [parse_rpc_arg("10.0.0.2=cpu:2"), parse_rpc_arg("10.0.0.3=cpu:3")])
    fitted = auto_gpu_layers(anatomy, profile, LlamaSettings(n_ctx=4096))
    estimate = estimate_fit(anatomy, profile, fitted.settings)
    assert 0 < estimate.n_gpu_layers < anatomy.n_layer + 1  # 5 GiB lent: part of the 4.6 GiB model, with margins
    for name in ("RPC0", "RPC1"):
        assert estimate.device(name).verdict != "does not fit"
