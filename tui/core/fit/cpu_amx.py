"""Weights in ggml's AMX buffer: what llama.cpp allocates for a CPU-resident matrix on an AMX Xeon.

On a CPU with AMX-INT8 and AVX512-VNNI (Intel Sapphire Rapids and later), a llama.cpp built for
that CPU (``GGML_NATIVE``, the default of a pip build) lists the ``AMX`` buffer type first among
the CPU's extra buffer types (``ggml_backend_cpu_get_extra_buffer_types``, ggml-cpu.cpp), so
``llama_model::load_tensors`` puts every weight that the AMX kernels accept there instead of the
mapped file. Some quant types are repacked into a wider VNNI layout, which is larger:

* which weights: ``ggml::cpu::amx::extra_buffer_type::supports_op`` (ggml-cpu/amx/amx.cpp): a
  ``MUL_MAT`` whose weight is contiguous, whose output rows (the weight's ``ne[1]``) are a multiple
  of ``TILE_N * 2`` = 32, whose type is Q4_0/Q4_1/Q8_0 (``ne[0]`` a multiple of ``TILE_K`` = 32),
  Q4_K/Q5_K/Q6_K/IQ4_XS (``ne[0]`` a multiple of 256) or F16 (``ne[0]`` a multiple of 16);
* how big: ``ggml_backend_amx_get_alloc_size`` (ggml-cpu/amx/mmq.cpp) is ``ne[1] * get_row_size(ne[0])``
  for the types of ``qtype_has_amx_kernels`` (amx/common.h) and ``ggml_nbytes`` otherwise (F16 is not
  packed). ``get_row_size`` adds 4 bytes per block for Q8_0 (the int32 compensation), 4 per
  super-block for Q4_K/Q5_K and 2 for IQ4_XS. Only ``ne[0]`` and ``ne[1]`` enter the formula.

Expert tensors are ``MUL_MAT_ID`` and token embeddings ``GET_ROWS``: never AMX.
"""

from __future__ import annotations

from tui.core.gguf.ggml_types import ggml_type

#: TILE_N * 2 (amx/common.h): the output rows of an AMX matmul come in multiples of this.
AMX_ROW_MULTIPLE = 32

#: type name -> (ne[0] multiple required by supports_op, extra bytes per block in get_row_size).
#: None: accepted but not packed (ggml_nbytes).
_AMX_TYPES: dict[str, tuple[int, int | None]] = {
    "Q4_0": (32, 0),
    "Q4_1": (32, 0),
    "Q8_0": (32, 4),      # do_compensate<block_q8_0>: one int32 per block
    "Q4_K": (256, 4),
    "Q5_K": (256, 4),
    "Q6_K": (256, 0),
    "IQ4_XS": (256, 2),
    "F16": (16, None),
}

def amx_alloc_bytes(type_id: int, shape: tuple[int, ...], is_matmul: bool) -> int | None:
    """Bytes the AMX buffer allocates for this weight, or None when it stays in the plain CPU buffer."""
    if not is_matmul or len(shape) < 2:
        return None
    kind = ggml_type(type_id)
    rule = _AMX_TYPES.get(kind.name)
    if rule is None:
        return None
    multiple, extra = rule
    k, n = shape[0], shape[1]
    if n % AMX_ROW_MULTIPLE or k % multiple:
        return None
    if extra is None:
        total = 1
        for dim in shape:
            total *= dim
        return total // kind.block_size * kind.type_size
    blocks = k // kind.block_size
    return n * blocks * (kind.type_size + extra)


#: Architectures llama.cpp 0.3.36 cannot run once their weights sit in the AMX buffer: MLA's 3-D
#: ``attn_k_b``/``attn_v_b`` pass AMX's supports_op at load time, but the permuted matmul of the
#: real graph does not, no other backend can read an AMX buffer, and
#: ``ggml_backend_sched_split_graph`` aborts the process (``GGML_ASSERT(*cur_backend_id != -1)``,
#: ggml-backend.cpp). Measured on an AMX Xeon: deepseek2 loads with ``use_extra_bufts`` off and
#: aborts with it on. The engine turns the CPU's extra buffers off for them there, and the fit
#: sizes them that way.
AMX_UNSAFE_ARCHITECTURES = frozenset({"deepseek2"})


def cpu_extra_buffers_safe(architecture: str, cpu_amx: bool) -> bool:
    """False where llama.cpp would abort with the CPU's extra buffer types (AMX, repack) on."""
    return not (cpu_amx and architecture in AMX_UNSAFE_ARCHITECTURES)
