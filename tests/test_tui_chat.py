"""Flow tests for the chat screen with the real stories260K model: load, stream, stop, and a failed load."""

from __future__ import annotations

import re

from textual.widgets import Markdown

from tests.tui_fixtures import FIXED_BOX, FixedServices, screen_text, wait_for
from tui.app import LocalAIApp
from tui.core.engine.params import FAST_DECODE_TOKENS_PER_S, interactive_thread_count
from tui.messages import ReplyFinished
from tui.widgets.chat_turn import ChatTurn
from tui.widgets.prompt_area import PromptArea
from tui.widgets.rate_meter import RateMeter


def _footer_shows_stop(app: LocalAIApp) -> bool:
    return re.search(r"\^c Stop", screen_text(app)) is not None


async def _submit(box: PromptArea) -> None:
    """Enter, without ``pilot.press``'s wait for an idle screen: that wait can outlast a whole fast reply."""
    box.action_submit()


async def test_load_stream_a_reply_and_stop_it_with_escape(stories_model):
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=FixedServices(), profile=FIXED_BOX)
    app._tui_messages = []
    async with app.run_test(size=(80, 24), message_hook=app._tui_messages.append) as pilot:
        chat = app.screen
        assert app.current_mode == "chat"
        await wait_for(pilot, lambda: chat.session is not None, timeout=30, what="the model to load")
        assert "stories260K.gguf" in screen_text(app)
        # threads not set, and stories260K decodes in well under a ms: a small box leaves a core to the UI
        est = app.services.estimated_tokens_per_s(str(stories_model), app.settings)
        assert est is not None and est > FAST_DECODE_TOKENS_PER_S
        assert chat.engine.info().n_threads == interactive_thread_count(est_tokens_per_s=est)
        box = chat.query_one("#chat-input", PromptArea)
        assert app.focused is box and not box.disabled
        assert chat.check_action("stop", ()) is False  # Stop is hidden until a reply streams
        await pilot.press(*"Once upon a time")
        await _submit(box)
        await wait_for(pilot, lambda: len(chat.stream.reply_text) > 40, timeout=30, what="streamed text")
        assert chat.check_action("stop", ()) is True
        # The footer is refreshed only when an action's availability changes: Stop shows while the reply streams.
        await wait_for(pilot, lambda: _footer_shows_stop(app), timeout=10, what="Stop in the footer")
        await wait_for(pilot, lambda: chat.query_one(RateMeter).samples, timeout=10, what="the tokens/s meter")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not chat.generating, timeout=10, what="the stop")
        await wait_for(pilot, lambda: not _footer_shows_stop(app), timeout=10, what="Stop gone from the footer")
        reply = chat.session.messages[-1]
        assert reply.role == "assistant" and reply.content == chat.last_reply and len(reply.content) > 40
        stats = str(chat.query_one("#chat-stats").render())
        assert "gen" in stats and "t/s" in stats and "stopped" in stats and "cancelled" not in stats
        finished = [m for m in pilot.app._tui_messages if isinstance(m, ReplyFinished)]
        assert finished and finished[-1].stats.finish_reason == "cancelled" and finished[-1].text == reply.content
        shown = chat.query("Markdown.reply").last()
        # No chat template: one turn, the prompt in bold and the continuation flowing after it.
        assert isinstance(shown, Markdown) and shown.source == "**Once upon a time**" + reply.content
        (turn,) = chat.query(ChatTurn)
        assert turn.role == "completion" and "continues your text" in turn.title
        # Copy the last reply (OSC 52): the picker lists it first; then start over.
        await pilot.press("ctrl+y")
        await pilot.press("enter")
        assert app.clipboard == reply.content
        await pilot.press("ctrl+n")
        assert chat.session.messages == [] and not chat.query("Markdown.reply")


async def test_a_file_that_fails_to_load_says_why_and_the_app_stays_usable(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    app = LocalAIApp(model=str(broken), open_chat=True, services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.screen
        await wait_for(pilot, lambda: "Could not" in str(chat.query_one("#chat-status").render()),
                       timeout=30, what="the load error")
        assert chat.session is None and chat.query_one("#chat-input", PromptArea).disabled
        await pilot.press("f1")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen is chat


async def test_a_chat_template_model_shows_distinct_turns_and_reloads_with_new_fit_settings(stories_model, tmp_path):
    from tests.engine_models import with_chat_template
    from tui.core.engine.sampling import SamplingSettings
    chatty = with_chat_template(stories_model, tmp_path / "stories-chat.gguf")
    app = LocalAIApp(model=str(chatty), open_chat=True, services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.screen
        await wait_for(pilot, lambda: chat.session is not None, timeout=30, what="the model to load")
        chat.sampling = chat.session.sampling = SamplingSettings(seed=3, max_tokens=24)
        await pilot.press(*"Tell me a story", "enter")
        await wait_for(pilot, lambda: chat.last_reply, timeout=30, what="the reply")
        turns = list(chat.query(ChatTurn))
        assert [t.role for t in turns] == ["user", "assistant"]
        assert turns[0].title == "You" and turns[1].title == "stories-chat.gguf"
        assert chat.query_one("Markdown.reply").source == chat.last_reply  # no prompt in front of a chat reply
        text = screen_text(app)
        assert "▌ You" in text and "▌ stories-chat.gguf" in text and "Tell me a story" in text
        # ctrl+c stops too (inside tmux a lone escape waits for escape-time).
        chat.sampling = chat.session.sampling = SamplingSettings(seed=4, max_tokens=-1)
        await pilot.press(*"More")
        await _submit(chat.query_one("#chat-input", PromptArea))
        await wait_for(pilot, lambda: len(chat.stream.reply_text) > 20, timeout=30, what="streamed text")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not chat.generating, timeout=10, what="the stop")
        assert chat.last_stats.finish_reason == "cancelled"
        n_ctx = chat.engine.info().n_ctx
        # Fit: a smaller context; back in Chat the model loads again with it.
        await pilot.press("f4")
        fit = app.screen
        await wait_for(pilot, lambda: fit.estimate is not None, what="the estimate")
        fit.query_one("#slider-ctx").focus()
        await pilot.press("home")
        assert app.settings.n_ctx == 512 != n_ctx
        await pilot.press("f5")
        await wait_for(pilot, lambda: chat.engine is not None and chat.loaded_settings == app.settings,
                       timeout=30, what="the reload")
        assert chat.engine.info().n_ctx == 512


async def test_a_cancelled_load_is_not_an_error(stories_model):
    """Finding 15: ctrl+x during a load reads as a cancelled load, with how to load again, not as a failure."""
    from tui.core.engine.errors import LoadCancelledError

    class CancellingServices(FixedServices):
        def load_engine(self, path, settings, *, on_progress=None, cancel=None):
            raise LoadCancelledError(f"{path.name}: cancelled")

    app = LocalAIApp(model=str(stories_model), open_chat=True, services=CancellingServices(), profile=FIXED_BOX)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.screen
        await wait_for(pilot, lambda: "cancelled" in str(chat.query_one("#chat-status").render()),
                       timeout=30, what="the cancelled load")
        status = str(chat.query_one("#chat-status").render())
        assert "Could not" not in status and "ctrl+r" in status
        assert not any(n.severity == "error" for n in app._notifications)
