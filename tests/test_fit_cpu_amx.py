"""AMX Xeons: llama.cpp 0.3.36 runs there only with the CPU's extra buffer types off (tui/core/fit/cpu_amx.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx

STORIES = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "stories260K.gguf"


def test_host_has_amx_reads_the_cpu_flags(tmp_path: Path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni amx_tile amx_int8 amx_bf16\n")
    assert host_has_amx(cpuinfo)
    assert not cpu_extra_buffers_safe(host_has_amx(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert not host_has_amx(cpuinfo)
    assert cpu_extra_buffers_safe(host_has_amx(cpuinfo))
    assert not host_has_amx(tmp_path / "missing")


@pytest.mark.parametrize(("arch", "weight_type"), [("llama", "Q8_0"), ("llama", "Q4_K"), ("deepseek2", "F16")])
def test_the_engine_runs_what_the_amx_kernels_would_crash_on(tmp_path: Path, arch: str, weight_type: str):
    # On an AMX CPU a default llama.cpp load segfaults in the first decode of Q8_0/Q4_K matrices and
    # aborts deepseek2's context; the engine turns the extra buffers off there (elsewhere: a plain run).
    pytest.importorskip("llama_cpp")
    from tests.gguf_factory import SMALL_SPECS, make_model
    from tui.core.engine.runtime import Engine
    from tui.core.fit.settings import LlamaSettings

    spec = SMALL_SPECS[arch]
    if weight_type != "F16":
        spec = spec.with_changes(n_embd=256, n_ff=512, weight_type=weight_type)
    built = make_model(tmp_path / f"{arch}.gguf", spec)
    with Engine.load(built.path, LlamaSettings(n_ctx=256, n_threads=1)) as engine:
        assert engine.evaluate(engine.model.tokenize("hello world")).completed


def test_the_printed_command_loads_as_the_app_does_on_this_machine(capsys):
    """``--gpu auto`` is this machine: on an AMX CPU its llama-server command carries --no-repack
    (the crash the engine avoids); a catalog profile is someone else's box and never does."""
    import json

    from tui.cli import main
    from tui.core.fit.llama_args import llama_server_args
    from tui.core.fit.settings import LlamaSettings

    assert llama_server_args("m.gguf", LlamaSettings(), no_repack=True)[-1] == "--no-repack"
    assert "--no-repack" not in llama_server_args("m.gguf", LlamaSettings())
    model = str(STORIES) if STORIES.exists() else None
    if model is None:
        pytest.skip("../shared/models/stories260K.gguf is absent")
    assert main(["fit", model, "--gpu", "auto", "--json"]) == 0
    here = json.loads(capsys.readouterr().out)["llama_server_command"]
    assert ("--no-repack" in here) == host_has_amx()
    assert main(["fit", model, "--gpu", "RTX 3090", "--json"]) == 0
    assert "--no-repack" not in json.loads(capsys.readouterr().out)["llama_server_command"]
