"""llama.cpp's log goes to a file, never to the terminal; the engine imports no UI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui.core.engine.llama_log import LEVEL_CONT, LEVEL_DEBUG, LEVEL_ERROR, LEVEL_INFO, LlamaLog


def test_fragments_become_lines_and_cont_keeps_the_level(tmp_path):
    log = LlamaLog()
    log._file = (tmp_path / "x.log").open("w")  # no llama.cpp needed to test the line handling
    seen = []
    log.add_listener(seen.append)
    with log.capture() as captured:
        log.write(LEVEL_INFO, "loading")
        log.write(LEVEL_CONT, ".")
        log.write(LEVEL_CONT, ".\n")
        log.write(LEVEL_DEBUG, "detail\n")
        log.write(LEVEL_ERROR, "bad thing happened\nsecond line\n")
        log.write(LEVEL_INFO, "no newline at the end")
    assert [(line.level, line.text) for line in captured] == [
        (LEVEL_INFO, "loading.."), (LEVEL_DEBUG, "detail"), (LEVEL_ERROR, "bad thing happened"),
        (LEVEL_ERROR, "second line"), (LEVEL_INFO, "no newline at the end"),
    ]
    assert [line.text for line in seen] == [line.text for line in captured]
    assert log.recent(2)[-1].level_name == "info"
    log.close()
    assert "detail" not in (tmp_path / "x.log").read_text()  # debug lines only when asked


_SILENT_SCRIPT = r"""
import sys, threading
from tui.core.engine.errors import EngineError
from tui.core.engine.runtime import Engine
from tui.core.engine.chat import ChatSession
from tui.core.engine.sampling import SamplingSettings
from tui.core.fit.settings import LlamaSettings

model, broken = sys.argv[1], sys.argv[2]
# No install_llama_log(): the engine must route the log to the default file by itself.
try:
    Engine.load(broken)
except EngineError:
    pass
with Engine.load(model, LlamaSettings(n_ctx=256, n_threads=1)) as engine:
    reply = ChatSession(engine, sampling=SamplingSettings(seed=1, max_tokens=32)).reply("Once upon a time")
    assert reply.stats.n_gen_tokens == 32
"""


def test_nothing_reaches_the_terminal_during_load_failure_and_generation(stories_model, tmp_path, isolated_app_dirs):
    """Run in a fresh process so file descriptors 1 and 2 are the process's own, as in the CLI."""
    from tests.engine_models import truncated_copy
    from tui.core.paths import log_dir

    broken = truncated_copy(stories_model, tmp_path / "broken.gguf")
    done = subprocess.run([sys.executable, "-c", _SILENT_SCRIPT, str(stories_model), str(broken)],
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    assert done.stderr == b""
    text = (log_dir() / "llama.log").read_text()
    assert "data is not within the file bounds" in text  # the failure was logged, to the file
    assert "llama_model_loader: loaded meta data" in text


def test_engine_modules_import_neither_textual_nor_llama_cpp_until_used():
    code = (
        "import sys, importlib\n"
        "import tui.core.engine\n"
        "assert 'llama_cpp' not in sys.modules, 'package import pulled in llama_cpp'\n"
        "for name in ['errors','params','ggml_backend','llama_log','loader','model','runtime','template','sampling',\n"
        "             'generate','chat','metrics','memory','bench','model_file']:\n"
        "    importlib.import_module('tui.core.engine.' + name)\n"
        "from tui.core.engine.runtime import Engine\n"
        "from tui.core.engine.chat import ChatSession\n"
        "from tui.core.engine.bench import run_bench\n"
        "assert 'textual' not in sys.modules, 'the engine must not import textual'\n"
        "assert 'llama_cpp' not in sys.modules, 'llama_cpp loads on first use only'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_memory_use_reports_rss_and_no_gpu_here():
    from tui.core.engine.memory import memory_use

    use = memory_use()
    assert use.rss_bytes > 10 * 1024 * 1024
    assert use.peak_rss_bytes is None or use.peak_rss_bytes >= use.rss_bytes * 0.5
    assert isinstance(use.gpus, tuple)  # empty without an NVIDIA driver; never an error


def test_backend_devices_list_the_cpu():
    pytest.importorskip("llama_cpp")
    from tui.core.engine.ggml_backend import backend_devices, buffer_type_named, cpu_buffer_type

    devices = backend_devices()
    assert any(d.kind == "CPU" and d.buffer_type == "CPU" for d in devices)
    assert buffer_type_named("CPU") == cpu_buffer_type() != 0
