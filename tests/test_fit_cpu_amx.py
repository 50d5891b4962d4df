"""AMX Xeons: llama.cpp 0.3.36 runs there only with the CPU's extra buffer types off (tui/core/fit/cpu_amx.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx


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
