"""ggml's AMX buffer: which CPU matrices it takes and how large their repacked layout is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.fit.cpu_amx import amx_alloc_bytes
from tui.core.gguf.ggml_types import ggml_type_named
from tui.core.hardware.detect import host_has_amx


def _id(name: str) -> int:
    return ggml_type_named(name).id


@pytest.mark.parametrize(("type_name", "per_block"), [("Q4_0", 18), ("Q4_1", 20), ("Q8_0", 34 + 4), ("Q6_K", 210),
                                                      ("Q4_K", 144 + 4), ("Q5_K", 176 + 4), ("IQ4_XS", 136 + 2)])
def test_packed_rows_add_ggml_amx_compensation_bytes(type_name, per_block):
    k, n = 512, 64
    blocks = k // ggml_type_named(type_name).block_size
    assert amx_alloc_bytes(_id(type_name), (k, n), True) == n * blocks * per_block


def test_f16_goes_to_amx_unpacked_and_f32_stays_on_the_plain_cpu_buffer():
    assert amx_alloc_bytes(_id("F16"), (64, 32), True) == 64 * 32 * 2
    assert amx_alloc_bytes(_id("F32"), (64, 32), True) is None


def test_shapes_and_ops_amx_refuses():
    assert amx_alloc_bytes(_id("Q8_0"), (64, 48), True) is None   # rows not a multiple of 32
    assert amx_alloc_bytes(_id("Q4_K"), (128, 64), True) is None  # K not a multiple of 256
    assert amx_alloc_bytes(_id("Q8_0"), (64, 64), False) is None  # not a MUL_MAT weight (experts, lookups)
    assert amx_alloc_bytes(_id("Q8_0"), (64,), True) is None


def test_only_ne0_and_ne1_enter_the_size_as_in_ggml():
    # ggml_backend_amx_get_alloc_size: ne[1] * get_row_size(ne[0]), whatever ne[2] is
    assert amx_alloc_bytes(_id("Q8_0"), (64, 32, 4), True) == amx_alloc_bytes(_id("Q8_0"), (64, 32), True)


def test_host_has_amx_reads_the_cpu_flags(tmp_path: Path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni amx_tile amx_int8 amx_bf16\n")
    assert host_has_amx(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert not host_has_amx(cpuinfo)
    assert not host_has_amx(tmp_path / "missing")


def test_the_engine_runs_an_architecture_llama_cpp_cannot_schedule_on_amx(tmp_path: Path):
    # On an AMX CPU llama.cpp's default load of deepseek2 aborts the process; the engine turns
    # the CPU's extra buffers off for it (elsewhere this is an ordinary load).
    pytest.importorskip("llama_cpp")
    from tests.gguf_factory import SMALL_SPECS, make_model
    from tui.core.engine.runtime import Engine
    from tui.core.fit.settings import LlamaSettings

    built = make_model(tmp_path / "mla.gguf", SMALL_SPECS["deepseek2"])
    with Engine.load(built.path, LlamaSettings(n_ctx=256, n_threads=1)) as engine:
        assert engine.evaluate(engine.model.tokenize("hello")).completed
