"""Hostile chat templates: loops, huge strings and stops end with one clear message, in bounded time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tests.conftest import ROOT
from tests.hostile_data import ESCAPES, PEAK_SNIPPET, control_bytes, peak_kib
from tui.core.engine.template import ChatMessage, JinjaChatFormat
from tui.core.engine.template_budget import TemplateBudgetError, TemplateStopped

LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}hi"
BIG_STAR = "{% for i in range(30) %}{{ 'x' * 100000000 }}{% endfor %}"
BIG_TILDE = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"
BIG_PLUS = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}"
ESCAPE_ATTR = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
ERROR_WITH_ESCAPES = "{{ raise_exception('bad " + ESCAPES + "') }}"
MESSAGES = [ChatMessage("user", "hello")]


def fmt(template: str) -> JinjaChatFormat:
    return JinjaChatFormat(template, bos_token="<s>", eos_token="</s>")


@pytest.mark.parametrize("template", [LOOP, BIG_STAR, BIG_TILDE, BIG_PLUS], ids=["loop", "star", "tilde", "plus"])
def test_runaway_templates_end_with_a_clear_message(template, monkeypatch):
    monkeypatch.setenv("LOCALAI_TUI_TEMPLATE_TIMEOUT_S", "2")
    with pytest.raises(TemplateBudgetError) as caught:
        fmt(template).render(MESSAGES)
    assert "chat template" in str(caught.value) and "stopped" in str(caught.value)


def test_a_stop_ends_a_render_in_progress():
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)  # Escape, pressed while the template loops
    timer.start()
    try:
        with pytest.raises(TemplateStopped):
            fmt(LOOP).render(MESSAGES, stop=stop)
    finally:
        timer.cancel()


def test_the_sandbox_still_refuses_attribute_escapes():
    from tui.core.engine.errors import ChatTemplateError

    with pytest.raises(ChatTemplateError):
        fmt(ESCAPE_ATTR).render(MESSAGES)


def test_template_errors_show_no_control_bytes():
    from tui.core.engine.errors import ChatTemplateError

    with pytest.raises(ChatTemplateError) as caught:
        fmt(ERROR_WITH_ESCAPES).render(MESSAGES)
    assert control_bytes(str(caught.value)) == []


def test_ordinary_templates_still_render():
    from tests.engine_models import TEST_CHAT_TEMPLATE

    assert "hello" in fmt(TEST_CHAT_TEMPLATE).render(MESSAGES)


@pytest.mark.parametrize("template", [LOOP, BIG_TILDE], ids=["loop", "tilde"])
def test_chat_cli_with_a_hostile_template_ends_in_bounded_memory(tmp_path, stories_model, template):
    from tests.engine_models import with_chat_template

    model = with_chat_template(stories_model, tmp_path / "hostile-template.gguf", template)
    done = subprocess.run([sys.executable, "-c", PEAK_SNIPPET, "chat", str(model), "--prompt", "hi", "-n", "4"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "LOCALAI_TUI_TEMPLATE_TIMEOUT_S": "3"})
    assert done.returncode == 1, done.stderr
    assert "chat template" in done.stderr and "Traceback" not in done.stderr
    assert control_bytes(done.stderr) == []
    assert peak_kib(done.stderr) < 400 * 1024, done.stderr
