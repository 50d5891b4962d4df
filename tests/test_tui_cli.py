"""``localai-tui --model MODEL`` opens at Fit and ``localai-tui chat MODEL`` at Chat (the real CLI entry points).

The app runs headless here: ``LocalAIApp.run`` is pointed at Textual's headless mode with an
auto-pilot that checks the screen and exits, so the CLI's own dispatch is what is tested.
"""

from __future__ import annotations

import sys

import pytest
from textual.app import App

from tests.tui_fixtures import wait_for
from tui.app import LocalAIApp
from tui.cli import main


@pytest.fixture
def headless(monkeypatch):
    """Run the app headless; ``seen`` gets (mode, model spec, local?) once ``ready(app)`` holds."""
    seen: list[tuple] = []
    state: dict = {}

    def run(self, *args, **kwargs):
        state["run_kwargs"] = kwargs

        async def pilot(p):
            await wait_for(p, lambda: state["ready"](self), timeout=30, what="the first screen with the model")
            seen.append((self.current_mode, self.model.spec, self.model.is_local))
            self.exit(0)

        return App.run(self, headless=True, size=(80, 24), auto_pilot=pilot)

    monkeypatch.setattr(LocalAIApp, "run", run)
    return seen, state


def test_model_flag_opens_fit_with_a_local_file(headless, stories_model, monkeypatch):
    seen, state = headless
    state["ready"] = lambda app: app.model is not None and getattr(app.screen, "estimate", None) is not None
    assert main(["--model", str(stories_model)]) == 0
    assert seen == [("fit", str(stories_model), True)]
    assert state["run_kwargs"] == {"mouse": True}
    monkeypatch.setenv("LOCALAI_TUI_MOUSE", "0")  # the mouse left to the terminal (select, paste)
    assert main(["--model", str(stories_model)]) == 0
    assert state["run_kwargs"] == {"mouse": False}


def test_model_flag_opens_fit_with_a_hub_label(headless, hub_env):
    seen, state = headless
    state["ready"] = lambda app: app.model is not None and getattr(app.screen, "estimate", None) is not None
    assert main(["--model", "Qwen/Qwen2.5-7B-Instruct-GGUF:q4_k_m"]) == 0
    assert seen == [("fit", "Qwen/Qwen2.5-7B-Instruct-GGUF:Q4_K_M", False)]  # the row's own spelling


def test_chat_command_without_prompt_opens_the_chat_screen(headless, stories_model, monkeypatch):
    seen, state = headless
    state["ready"] = lambda app: getattr(app.screen, "session", None) is not None
    for stream in (sys.stdin, sys.stdout):
        monkeypatch.setattr(type(stream), "isatty", lambda self: True, raising=False)
    assert main(["chat", str(stories_model)]) == 0
    assert seen == [("chat", str(stories_model), True)]


def test_chat_command_flags_reach_the_chat_screen(headless, stories_model, monkeypatch):
    seen, state = headless
    loaded: dict = {}

    def ready(app) -> bool:
        session = getattr(app.screen, "session", None)
        if session is None:
            return False
        loaded["settings"] = app.settings
        loaded["n_ctx"] = session.engine.n_ctx
        return True

    state["ready"] = ready
    for stream in (sys.stdin, sys.stdout):
        monkeypatch.setattr(type(stream), "isatty", lambda self: True, raising=False)
    assert main(["chat", str(stories_model), "-c", "512", "-fa", "off"]) == 0
    assert seen == [("chat", str(stories_model), True)]
    assert loaded["settings"].n_ctx == 512 and loaded["settings"].flash_attn == "off"
    assert loaded["n_ctx"] == 512
