"""AMX Xeons: why the app runs llama.cpp there with the CPU's extra buffer types off.

On a CPU with AMX-INT8 and AVX512-VNNI (Intel Sapphire Rapids and later), a llama.cpp built for
that CPU (``GGML_NATIVE``, the default of a pip build) lists ggml's ``AMX`` buffer type first
among the CPU's extra buffer types (``ggml_backend_cpu_get_extra_buffer_types``, ggml-cpu.cpp),
so ``llama_model::load_tensors`` moves every matrix its kernels accept there. In the llama.cpp of
llama-cpp-python 0.3.36 that breaks two ways, both measured on an AMX Xeon:

* the first decode of a model with Q8_0, Q4_0 or Q4_K matrices dies with SIGSEGV inside the AMX
  matmul (F16 and F32 models run);
* MLA models (deepseek2) abort at context creation: their 3-D ``attn_k_b``/``attn_v_b`` pass AMX's
  ``supports_op`` at load time but the permuted matmul of the real graph does not, no backend can
  read an AMX buffer, and ``ggml_backend_sched_split_graph`` asserts
  (``GGML_ASSERT(*cur_backend_id != -1)``, ggml-backend.cpp).

With ``use_extra_bufts`` off (llama.cpp's ``--no-repack``) both run, weights stay in the plain CPU
buffer at their file size, and that is what the fit sizes. On other CPUs the extra buffers
(``CPU_REPACK``) stay on: they keep each tensor's size, so the fit is the same either way.
"""

from __future__ import annotations

from pathlib import Path

#: /proc/cpuinfo flags ggml needs for AMX (``__AMX_INT8__ && __AVX512VNNI__``, ggml-cpu.cpp).
AMX_CPU_FLAGS = frozenset({"amx_int8", "amx_tile", "avx512_vnni"})


def host_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True on a CPU whose flags include AMX-INT8 and AVX512-VNNI (Linux; False where unknown)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return AMX_CPU_FLAGS <= set(line.split(":", 1)[-1].split())
    return False


def cpu_extra_buffers_safe(cpu_amx: bool) -> bool:
    """Whether llama.cpp 0.3.36 may use the CPU's extra buffer types here (not on an AMX CPU: see above)."""
    return not cpu_amx
