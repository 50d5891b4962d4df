"""Loading models in-process with real llama.cpp: settings reach llama.cpp, failures become clear errors.

Every failure is followed by a successful load, because a failed load must leave the
process usable.
"""

from __future__ import annotations

import ctypes
import re
import threading

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from tests.engine_models import tiny_moe_model, truncated_copy, unknown_architecture_copy  # noqa: E402
from tui.core.engine.errors import (  # noqa: E402
    BufferTypeError,
    LoadCancelledError,
    ModelFileNotFoundError,
    ModelLoadError,
    NotAGGUFError,
    UnsupportedArchitectureError,
)
from tui.core.engine.llama_log import install_llama_log  # noqa: E402
from tui.core.engine.loader import load_model  # noqa: E402
from tui.core.engine.params import TensorBuftOverride, build_context_params, tensor_buft_override_array  # noqa: E402
from tui.core.engine.runtime import Engine  # noqa: E402
from tui.core.errors import LocalAIError  # noqa: E402
from tui.core.fit.settings import FFN_EXPS_REGEX, LlamaSettings, TensorOverride  # noqa: E402


@pytest.fixture
def log_file(tmp_path):
    return install_llama_log(tmp_path / "llama.log", debug=True)


def _assert_usable(stories_model):
    """The process still loads and runs a model after a failure."""
    with Engine.load(stories_model, LlamaSettings(n_ctx=128, n_threads=1)) as engine:
        assert engine.evaluate(engine.model.tokenize("Once upon a time")).completed


def test_stories_model_loads_with_the_planned_settings(stories_model, log_file):
    settings = LlamaSettings(n_ctx=256, n_batch=128, n_ubatch=64, n_threads=1, cache_type_k="q8_0",
                             cache_type_v="f16", flash_attn="off", use_mmap=False)
    with Engine.load(stories_model, settings) as engine:
        info = engine.info()
        assert (info.architecture, info.n_layer, info.n_ctx_train) == ("llama", 5, 2048)
        assert (info.n_ctx, info.n_batch, info.n_ubatch, info.n_threads) == (256, 128, 64, 1)
        assert info.flash_attn is False
        assert info.has_chat_template is False
        assert info.log_file == str(log_file)
    log = log_file.read_text()
    assert "n_ctx                 = 256" in log
    assert "n_outputs_max         = 1" in log  # one logits row, not one per batch position
    assert "flash_attn            = disabled" in log
    assert "K (q8_0)" in log and "V (f16)" in log
    assert "(load_mode = none)" in log  # --no-mmap
    with Engine.load(stories_model, LlamaSettings(n_ctx=256, n_threads=1)):
        pass
    assert "(load_mode = mmap)" in log_file.read_text()  # the default maps the file, as llama-server does


def test_context_defaults_to_the_model_length_only_when_asked(stories_model, log_file):
    with Engine.load(stories_model, LlamaSettings(n_threads=1), fit_ctx_to_model=True) as engine:
        assert engine.n_ctx == 2048  # "4096, or the model's if smaller"
    with Engine.load(stories_model, LlamaSettings(n_ctx=3000, n_threads=1)) as engine:
        assert engine.n_ctx == 3072  # a typed -c wins, padded by llama.cpp to a multiple of 256


def test_flash_attention_auto_is_resolved_by_llama_cpp(stories_model, log_file):
    with Engine.load(stories_model, LlamaSettings(n_ctx=128, n_threads=1, flash_attn="auto")) as engine:
        assert engine.info().flash_attn is True  # the CPU backend supports it
    assert "Flash Attention enabled" in log_file.read_text()


def test_missing_file(tmp_path, stories_model, log_file):
    with pytest.raises(ModelFileNotFoundError, match="not found"):
        Engine.load(tmp_path / "nope.gguf")
    with pytest.raises(ModelFileNotFoundError, match="not a file"):
        Engine.load(tmp_path)


def test_not_a_gguf_file(tmp_path, stories_model, log_file):
    text = tmp_path / "notes.gguf"
    text.write_text("this is not a model\n" * 10)
    with pytest.raises(NotAGGUFError, match="not a GGUF model file"):
        Engine.load(text)
    _assert_usable(stories_model)


@pytest.mark.parametrize("keep", [None, 300])
def test_truncated_file_is_reported_as_corrupt(tmp_path, stories_model, log_file, keep):
    broken = truncated_copy(stories_model, tmp_path / "cut.gguf", keep)
    with pytest.raises(NotAGGUFError, match="corrupt or truncated") as caught:
        Engine.load(broken)
    assert isinstance(caught.value, LocalAIError)
    assert "\n" not in str(caught.value)
    _assert_usable(stories_model)


def test_unknown_architecture(tmp_path, stories_model, log_file):
    odd = unknown_architecture_copy(stories_model, tmp_path / "odd.gguf", "qqqqq")
    with pytest.raises(UnsupportedArchitectureError, match="does not support the 'qqqqq' architecture"):
        Engine.load(odd)
    _assert_usable(stories_model)


def test_progress_reaches_one_and_returning_false_cancels(stories_model, log_file):
    seen: list[float] = []
    model = load_model(stories_model, LlamaSettings(), on_progress=seen.append)
    model.close()
    assert seen and seen[-1] == pytest.approx(1.0)
    assert all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)

    with pytest.raises(LoadCancelledError, match="cancelled"):
        Engine.load(stories_model, on_progress=lambda fraction: False)
    assert "cancelled model load" in log_file.read_text()
    _assert_usable(stories_model)


def test_cancel_event_set_during_load(stories_model, log_file):
    cancel = threading.Event()
    with pytest.raises(LoadCancelledError):
        Engine.load(stories_model, on_progress=lambda fraction: cancel.set(), cancel=cancel)
    _assert_usable(stories_model)


def test_a_raising_progress_callback_cancels_instead_of_printing(stories_model, log_file, capfd):
    def broken(fraction):
        raise RuntimeError("boom")

    with pytest.raises(LoadCancelledError):
        Engine.load(stories_model, on_progress=broken)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


_OOM_SCRIPT = """
import resource, sys
import psutil
from tui.core.engine.errors import EngineOutOfMemoryError
from tui.core.engine.llama_log import install_llama_log
from tui.core.engine.runtime import Engine
from tui.core.fit.settings import LlamaSettings

install_llama_log(sys.argv[2])
model = sys.argv[1]
# Cap the address space 1.5 GiB above what the process uses now; the KV cache below needs 2.5 GiB.
limit = psutil.Process().memory_info().vms + 1536 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    Engine.load(model, LlamaSettings(n_ctx=2**21, n_threads=1, cache_type_k="f32", cache_type_v="f32"))
except EngineOutOfMemoryError as exc:
    print("OOM:", exc)
with Engine.load(model, LlamaSettings(n_ctx=256, n_threads=1)) as engine:
    print("usable:", engine.evaluate(engine.model.tokenize("Once upon a time")).completed)
"""


def test_context_out_of_memory(stories_model, tmp_path):
    pytest.importorskip("resource")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _OOM_SCRIPT, str(stories_model), str(tmp_path / "oom.log")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # llama.cpp's complaints went to the log file
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OOM: create a 2097152-token context for stories260K.gguf: out of memory")
    assert "2560.00 MB" in lines[0]  # llama.cpp's own words about the allocation
    assert "(use a smaller context (-c)" in lines[0]
    assert lines[1] == "usable: True"
    assert "failed to allocate buffer for kv cache" in (tmp_path / "oom.log").read_text()


def test_quantized_v_cache_without_flash_attention_is_refused_clearly(stories_model, log_file):
    with pytest.raises(ModelLoadError, match="quantized V cache requires flash_attn"):
        Engine.load(stories_model, LlamaSettings(n_ctx=128, cache_type_v="q8_0", flash_attn="off"))
    _assert_usable(stories_model)


def test_override_array_is_null_terminated_and_points_at_the_cpu_buffer_type():
    rules = (TensorOverride(r"blk\.0\.ffn_up_exps", "CPU"), TensorOverride(FFN_EXPS_REGEX, "CPU"))
    array, keepalive = tensor_buft_override_array(rules)
    assert len(array) == 3
    assert [array[i].pattern for i in range(2)] == [r.pattern.encode() for r in rules]
    assert array[2].pattern is None and array[2].buft is None
    llama_cpp.llama_cpp._lib.ggml_backend_cpu_buffer_type.restype = ctypes.c_void_p
    assert array[0].buft == array[1].buft == llama_cpp.llama_cpp._lib.ggml_backend_cpu_buffer_type()
    assert ctypes.sizeof(TensorBuftOverride) == 2 * ctypes.sizeof(ctypes.c_void_p)
    assert array in keepalive


def test_unknown_buffer_type_is_a_clear_error(stories_model, log_file):
    with pytest.raises(BufferTypeError, match="unknown buffer type 'CUDA7'.*this llama.cpp build has: CPU"):
        Engine.load(stories_model, LlamaSettings(overrides=(TensorOverride("attn_q", "CUDA7"),)))
    _assert_usable(stories_model)


def test_context_params_follow_the_settings():
    params = build_context_params(LlamaSettings(n_batch=1024, n_ubatch=256, cache_type_k="q4_0", cache_type_v="q8_0",
                                                flash_attn="on", swa_full=True, n_threads=3), n_ctx=8192)
    assert (params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max, params.n_outputs_max) == (8192, 1024, 256, 1, 1)
    assert (params.type_k, params.type_v) == (2, 8)  # GGML_TYPE_Q4_0, GGML_TYPE_Q8_0
    assert params.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
    assert params.swa_full is True and params.no_perf is False
    assert (params.n_threads, params.n_threads_batch) == (3, 3)


@pytest.fixture(scope="module")
def moe_model(tmp_path_factory):
    pytest.importorskip("gguf")
    return tiny_moe_model(tmp_path_factory.mktemp("moe") / "tiny-qwen3moe.gguf")


#: An override to CPU lands in the CPU's plain buffer or, for a matrix its kernels take, in one of the
#: CPU's extra buffer types (llama-model-loader.cpp: "when overriding to a CPU buffer, consider the
#: extra buffer types"): CPU_REPACK, or AMX on an AMX CPU.
_RE_TO_CPU = re.compile(r"buffer type overridden to (CPU|CPU_REPACK|AMX)$")


def _overridden(log_text: str) -> list[str]:
    return [line.split("tensor ", 1)[1].split(" ", 1)[0]
            for line in log_text.splitlines() if _RE_TO_CPU.search(line)]


def test_n_cpu_moe_overrides_reach_llama_cpp(moe_model, tmp_path):
    log = install_llama_log(tmp_path / "moe.log", debug=True)
    with Engine.load(moe_model, LlamaSettings(n_ctx=128, n_threads=1, n_cpu_moe=1)) as engine:
        from_engine = engine.model.overridden_tensors
        assert engine.evaluate(engine.model.tokenize("hello")).completed
    # llama.cpp's own log says which tensors the rules moved: the experts of layer 0 only.
    overridden = _overridden(log.read_text())
    assert sorted(overridden) == sorted(f"blk.0.ffn_{kind}_exps.weight" for kind in ("gate", "up", "down"))
    assert sorted(from_engine) == sorted(overridden)


def test_cpu_moe_and_explicit_rules_keep_llama_cpp_order(moe_model, tmp_path):
    log = install_llama_log(tmp_path / "moe.log", debug=True)
    settings = LlamaSettings(n_ctx=128, n_threads=1, cpu_moe=True, overrides=(TensorOverride(r"blk\.1\.attn_q\.", "CPU"),))
    with Engine.load(moe_model, settings):
        pass
    overridden = set(_overridden(log.read_text()))
    experts = {f"blk.{i}.ffn_{kind}_exps.weight" for i in (0, 1) for kind in ("gate", "up", "down")}
    assert overridden == experts | {"blk.1.attn_q.weight"}


def test_debug_lines_stay_out_of_the_log_file_unless_asked(moe_model, tmp_path):
    log = install_llama_log(tmp_path / "quiet.log", debug=False)
    with Engine.load(moe_model, LlamaSettings(n_ctx=128, n_threads=1, n_cpu_moe=2)) as engine:
        assert len(engine.model.overridden_tensors) == 6  # captured for the engine all the same
    text = log.read_text()
    assert "buffer type overridden" not in text
    assert "llama_model_loader: loaded meta data" in text


def test_any_shard_of_a_split_model_loads_from_the_first(tmp_path, log_file):
    pytest.importorskip("gguf")
    from tests.gguf_factory import SMALL_SPECS, make_model
    from tui.core.engine.model_file import resolve_model_file

    built = make_model(tmp_path / "split.gguf", SMALL_SPECS["llama"], split_max_tensors=8)
    assert len(built.shards) >= 2
    path = resolve_model_file(str(built.shards[-1]))
    assert path == built.shards[0]
    with Engine.load(path, LlamaSettings(n_ctx=128, n_threads=1)) as engine:
        assert engine.model.n_params == sum(t.n_elements for t in built.tensors)
    built.shards[0].unlink()
    with pytest.raises(ModelFileNotFoundError, match="first shard is missing"):
        resolve_model_file(str(built.shards[-1]))
    with pytest.raises(ModelFileNotFoundError, match="is a directory"):
        resolve_model_file(str(tmp_path))


def test_sliding_window_layers_get_a_window_sized_cache_unless_swa_full(tmp_path):
    pytest.importorskip("gguf")
    import re

    from tests.gguf_factory import SMALL_SPECS, make_model

    path = make_model(tmp_path / "gemma3.gguf", SMALL_SPECS["gemma3"]).path  # window 128 tokens
    cells = {}
    for swa_full in (False, True):
        log = install_llama_log(tmp_path / f"swa-{swa_full}.log", debug=True)
        with Engine.load(path, LlamaSettings(n_ctx=2048, n_ubatch=256, n_threads=1, swa_full=swa_full)):
            pass
        found = dict(re.findall(r"creating\s+(non-SWA|SWA) KV cache, size = (\d+) cells", log.read_text()))
        cells[swa_full] = {kind: int(n) for kind, n in found.items()}
    assert cells[False]["non-SWA"] == cells[True]["non-SWA"] == 2048
    assert cells[True]["SWA"] == 2048  # --swa-full: every layer keeps the whole context
    assert cells[False]["SWA"] == 512  # the default: pad(window 128 + ubatch 256, 256) (llama-kv-cache-iswa.cpp)
