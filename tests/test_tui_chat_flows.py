"""Chat flows a person goes through: reasoning folded apart, regenerate, edit, copy a code block,
the context-full choice, saved conversations (quit, reopen, resume, rename, export).

Scripted engine (tests/scripted_engine.py) where a behaviour needs a reasoning model or a tiny
context; the real stories260K model for the rest."""

from __future__ import annotations

import pytest

from tests.scripted_engine import ScriptedServices
from tests.tui_fixtures import FIXED_BOX, FixedServices, screen_text, wait_for
from tui.app import LocalAIApp
from tui.core.chats.store import ChatStore
from tui.widgets.chat_turn import ChatTurn, ThinkingBlock
from tui.widgets.prompt_area import PromptArea


async def _send(pilot, chat, text: str) -> None:
    box = chat.query_one("#chat-input", PromptArea)
    box.value = text
    box.action_submit()
    await wait_for(pilot, lambda: chat.generating or chat.last_reply, timeout=10, what="the reply to start")
    await wait_for(pilot, lambda: not chat.generating, timeout=30, what="the reply to end")
    await pilot.pause()


async def _loaded(pilot, chat) -> None:
    await wait_for(pilot, lambda: chat.session is not None, timeout=30, what="the model to load")


async def test_thinking_is_folded_apart_with_its_count_and_a_key_shows_it(stories_model):
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=ScriptedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        await _send(pilot, chat, "What is 2+2?")
        block = chat.query_one(ThinkingBlock)
        assert block.display and block.collapsed
        assert block.title.startswith("thought for ") and block.title.endswith("· 8 tokens")
        answer = chat.query_one("Markdown.reply").source
        assert answer == "\n\nThe answer is **4**." and "<" not in answer
        assert "Two plus two is four." not in screen_text(app)  # folded
        assert "(8 thinking)" in str(chat.query_one("#chat-stats").render())
        assert chat.last_stats.n_gen_tokens == 15  # every token counts for the rate, markers included
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not block.collapsed and "Two plus two is four." in screen_text(app)
        await pilot.press("ctrl+t")
        assert block.collapsed
        saved = chat.app.services.chat_store().load(chat.recorder.conversation_id).messages[-1]
        assert saved.thinking == "Two plus two is four." and saved.content == "\n\nThe answer is **4**."


async def test_a_full_context_asks_and_dropping_turns_leaves_a_marker(stories_model):
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=ScriptedServices(n_ctx=200),
                     profile=FIXED_BOX)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        for turn in range(6):
            box = chat.query_one("#chat-input", PromptArea)
            box.value = f"Message number {turn} about cats."
            box.action_submit()
            await wait_for(pilot, lambda turn=turn: not chat.generating and (type(app.screen).__name__ == "ContextFullScreen"
                                                                   or len(chat.session.messages) == 2 * (turn + 1)),
                           timeout=30, what="the reply or the question")
            if type(app.screen).__name__ == "ContextFullScreen":
                break
        else:
            pytest.fail("the context never filled")
        n_before = len(chat.session.messages)
        await pilot.pause()
        assert "no longer fits the 200-token context" in screen_text(app)
        header = str(chat.query_one("#chat-context").render())
        assert header.startswith("ctx ") and header.endswith("/200")
        await pilot.press("d")
        await wait_for(pilot, lambda: len(chat.session.messages) == n_before + 2 and not chat.generating,
                       timeout=30, what="the reply after dropping")
        assert chat.session.first_kept >= 2
        assert "oldest messages above are left out" in str(chat.query(".chat-marker").last().render())
        assert "context_full" not in screen_text(app)


async def test_regenerate_edit_and_copy_with_the_real_model(stories_model, tmp_path):
    from tests.engine_models import with_chat_template
    from tui.core.engine.sampling import SamplingSettings

    chatty = with_chat_template(stories_model, tmp_path / "stories-chat.gguf")
    app = LocalAIApp(model=str(chatty), open_chat=True, services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        chat.sampling = chat.session.sampling = SamplingSettings(seed=5, max_tokens=16)
        await _send(pilot, chat, "Tell me a story")
        first = chat.last_reply
        # Regenerate: a new seed, the same question, still one exchange on screen and in the store.
        chat.session.sampling = SamplingSettings(seed=6, max_tokens=16)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: not chat.generating and chat.last_reply, timeout=30, what="the new reply")
        assert [m.role for m in chat.session.messages] == ["user", "assistant"] and chat.last_reply != first
        assert [t.role for t in chat.query(ChatTurn)] == ["user", "assistant"]
        store = app.services.chat_store()
        assert [m.content for m in store.load(chat.recorder.conversation_id).messages][1] == chat.last_reply
        # Edit: the last message returns to the box; a new line with ctrl+j; enter resends it.
        await pilot.press("ctrl+e")
        box = chat.query_one("#chat-input", PromptArea)
        assert box.value == "Tell me a story" and chat.session.messages == []
        await pilot.press("end", "ctrl+j", *"about a cat")
        assert box.value == "Tell me a story\nabout a cat"
        box.action_submit()
        await wait_for(pilot, lambda: len(chat.session.messages) == 2 and not chat.generating, timeout=30,
                       what="the edited message's reply")
        assert chat.session.messages[0].content == "Tell me a story\nabout a cat"
        assert [m.content for m in store.load(chat.recorder.conversation_id).messages][0] == "Tell me a story\nabout a cat"
        # Copy: the picker lists the last reply first, then the user message.
        await pilot.press("ctrl+y")
        await pilot.press("down", "enter")
        assert app.clipboard == "Tell me a story\nabout a cat"


def test_code_blocks_are_offered_apart_from_their_message():
    from tui.screens.chat_dialogs import copyables

    items = copyables([("You", "show me"), ("model", "Here:\n```python\nprint('hi')\n```\nand\n```\nls\n```\n")])
    assert [i.label for i in items] == ["model: Here: ```python print('hi') ``` and ``` ls ```",
                                        "  code block 1: print('hi')", "  code block 2: ls", "You: show me"]
    assert items[1].text == "print('hi')\n" and items[2].text == "ls\n"


async def test_quit_reopen_resume_rename_and_export(stories_model, tmp_path):
    from tui.core.engine.sampling import SamplingSettings

    app = LocalAIApp(model=str(stories_model), open_chat=True, services=FixedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        chat.sampling = chat.session.sampling = SamplingSettings(seed=2, max_tokens=12)
        await _send(pilot, chat, "Once upon a time")
        said = chat.last_reply
        conversation_id = chat.recorder.conversation_id
        await pilot.press("ctrl+q")
    # Reopened, as `chat MODEL --resume ID` does: the conversation is on screen and continues.
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=FixedServices(), profile=FIXED_BOX,
                     resume=conversation_id)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        await wait_for(pilot, lambda: len(chat.session.messages) == 2, timeout=10, what="the resumed history")
        assert chat.session.messages[1].content == said
        await wait_for(pilot, lambda: "resumed" in screen_text(app), what="the resumed marker on screen")
        assert "Once upon a time" in screen_text(app)
        chat.session.sampling = SamplingSettings(seed=3, max_tokens=12)
        await _send(pilot, chat, "The end")
        assert chat.last_stats.n_cached_tokens + chat.last_stats.n_prompt_tokens > 10  # the history was in the prompt
        # The list: rename, export as Markdown to a chosen folder.
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChatsScreen", what="the list")
        chats = app.screen
        await wait_for(pilot, lambda: chats.query_one("DataTable").row_count == 1, what="the rows")
        await pilot.press("r")
        title_box = chats.query_one("#chats-title")
        title_box.value = "Bedtime"
        await pilot.press("enter")
        await pilot.pause()
        chats.query_one("#chats-export-dir").value = str(tmp_path / "out")
        chats.query_one("DataTable").focus()
        await pilot.press("m")
        exported = tmp_path / "out" / f"chat-{conversation_id}-bedtime.md"
        assert exported.exists() and "# Bedtime" in exported.read_text()
        assert str(exported) in str(chats.query_one("#chats-note").render())
        # enter opens the highlighted conversation again (here: the one on screen, reloaded from the store)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is chat, what="the list to close")
        await wait_for(pilot, lambda: len(chat.query(".chat-marker")) == 1 and len(chat.session.messages) == 4,
                       what="the conversation reopened")
        assert "“Bedtime” resumed" in str(chat.query_one(".chat-marker").render())
    with ChatStore() as store:
        (summary,) = store.list()
        assert summary.title == "Bedtime" and summary.n_messages == 4


async def test_a_long_saved_conversation_opens_with_its_last_turns_and_the_rest_on_request(stories_model):
    with ChatStore() as store:
        cid = store.create("Long", "scripted.gguf")
        for n in range(30):
            store.add_message(cid, "user", f"question {n}")
            store.add_message(cid, "assistant", f"answer **{n}**")
    app = LocalAIApp(model=str(stories_model), open_chat=True, services=ScriptedServices(), profile=FIXED_BOX,
                     resume=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        await wait_for(pilot, lambda: len(chat.session.messages) == 60, what="the resumed history")
        await pilot.pause()
        assert len(chat.query(ChatTurn)) == 8  # the last exchanges at once
        button = chat.query_one(".chat-earlier")
        assert "Show 52 earlier messages" in str(button.label)
        button.press()
        await wait_for(pilot, lambda: len(chat.query(ChatTurn)) == 60, what="the earlier messages")
        assert [t.role for t in chat.query(ChatTurn)][:2] == ["user", "assistant"]
        assert "question 0" in str(chat.query(ChatTurn).first().body.render())
        # Regenerate still replaces the last exchange only.
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: not chat.generating and len(chat.session.messages) == 60, what="the reply")
        assert chat.session.messages[-2].content == "question 29"


async def test_a_burst_of_keys_is_sent_in_order_with_its_newline(stories_model):
    """A paste or fast typing over SSH arrives in one read: the newline and the enter that end it
    must apply after the characters before them, not when the app first sees them."""
    from textual import events

    app = LocalAIApp(model=str(stories_model), open_chat=True, services=ScriptedServices(), profile=FIXED_BOX)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.screen
        await _loaded(pilot, chat)
        burst = [events.Key(ch, ch) for ch in "Once upon"] + [events.Key("ctrl+j", "\n")] \
            + [events.Key(ch, ch) for ch in "a time"] + [events.Key("enter", "\r")]
        for key in burst:
            app.post_message(key)
        await wait_for(pilot, lambda: chat.session.messages, what="the message to be sent")
        assert chat.session.messages[0].content == "Once upon\na time"
