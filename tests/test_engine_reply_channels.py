"""Markers stay out of replies and a reasoning model's thinking is kept apart from its answer:
the channel rules on preset token sequences (Qwen3, gpt-oss), then real llama.cpp generation with a
vocabulary whose sampled tokens are markers (Gemma's user-defined ``<start_of_image>``, a CONTROL token)."""

from __future__ import annotations

import pytest

from tui.core.engine.reply_channels import (
    TOKEN_ATTR_CONTROL,
    TOKEN_ATTR_USER_DEFINED,
    ReplyChannels,
    is_marker,
    prompt_opens_thinking,
)

NORMAL = 1 << 1


def _feed(channels: ReplyChannels, script: list[tuple[str, bool]]) -> None:
    for step, (text, marker) in enumerate(script):
        channels.token(text, marker, float(step))


def test_markers_are_control_tokens_or_user_defined_tokens_shaped_like_markers():
    assert is_marker(TOKEN_ATTR_CONTROL, "<|im_end|>")
    assert is_marker(TOKEN_ATTR_USER_DEFINED, "<start_of_image>")
    assert is_marker(TOKEN_ATTR_USER_DEFINED, "</think>")
    assert not is_marker(TOKEN_ATTR_USER_DEFINED, "    ")  # code models' whitespace tokens are text
    assert not is_marker(TOKEN_ATTR_USER_DEFINED, "<a b>")
    assert not is_marker(NORMAL, "<b>")  # ordinary text that looks like HTML stays


def test_qwen3_think_block_goes_to_thinking_with_its_own_count_and_time():
    answer: list[str] = []
    thinking: list[str] = []
    channels = ReplyChannels(answer.append, thinking.append)
    _feed(channels, [("<think>", True), ("Let", False), (" me", False), (" see", False), ("</think>", True),
                     ("\n\n", False), ("Four", False), (".", False), ("<|im_end|>", True)])
    assert "".join(thinking) == channels.thinking == "Let me see"
    assert "".join(answer) == channels.answer == "\n\nFour."
    assert channels.n_thinking_tokens == 5  # the markers that open and close it count as thinking
    assert channels.thinking_seconds == 4.0  # first to last thinking token
    assert channels.n_thinking_tokens + channels.n_answer_tokens == 9  # every token is counted


def test_a_prompt_that_opens_think_starts_the_reply_inside_it():
    assert prompt_opens_thinking("<|im_start|>assistant\n<think>\n")
    assert not prompt_opens_thinking("<|im_start|>assistant\n")
    channels = ReplyChannels(starts_thinking=True)
    _feed(channels, [("Hmm", False), ("</think>", True), ("Yes", False)])
    assert channels.thinking == "Hmm" and channels.answer == "Yes"


def test_gpt_oss_analysis_channel_is_thinking_and_final_channel_is_the_answer():
    channels = ReplyChannels()
    _feed(channels, [("<|channel|>", True), ("analysis", False), ("<|message|>", True), ("User", False),
                     (" asks", False), ("<|end|>", True), ("<|start|>", True), ("assistant", False),
                     ("<|channel|>", True), ("final", False), ("<|message|>", True), ("Hi", False),
                     ("!", False)])
    assert channels.thinking == "User asks"
    assert channels.answer == "Hi!"
    assert channels.n_thinking_tokens == 4


# -- real llama.cpp: the stories model with some of its sampled tokens turned into markers ---------

llama_cpp = pytest.importorskip("llama_cpp")

#: Greedy "Once upon a time" on stories260K samples ', there was a little girl named Lily.'
LITTLE, NAMED = 376, 395


@pytest.fixture(scope="module")
def marked_engine(tmp_path_factory):
    from tests.conftest import STORIES_MODEL
    from tests.engine_models import with_tokens_renamed
    from tui.core.engine.llama_log import install_llama_log
    from tui.core.engine.runtime import Engine
    from tui.core.fit.settings import LlamaSettings

    if not STORIES_MODEL.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent (see shared/README.md)")
    folder = tmp_path_factory.mktemp("marked")
    install_llama_log(folder / "llama.log")
    path = with_tokens_renamed(STORIES_MODEL, folder / "marked.gguf",
                               {LITTLE: ("<start_of_image>", 4), NAMED: ("<|im_sep|>", 3)})
    with Engine.load(path, LlamaSettings(n_ctx=256, n_threads=1)) as loaded:
        yield loaded


def test_sampled_marker_tokens_never_reach_the_reply(marked_engine):
    from tui.core.engine.chat import ChatSession
    from tui.core.engine.sampling import SamplingSettings

    streamed: list[str] = []
    session = ChatSession(marked_engine, sampling=SamplingSettings(temperature=0.0, max_tokens=30))
    reply = session.reply("Once upon a time", on_text=streamed.append)
    generated = session.messages[-1].content
    assert reply.text == generated == "".join(streamed)
    assert "<start_of_image>" not in reply.text and "<|im_sep|>" not in reply.text
    assert reply.text.startswith(", there was a girl Lily.")  # the two marker tokens left no trace
    assert reply.stats.n_gen_tokens == 30  # yet they were generated and counted


@pytest.fixture(scope="module")
def thinking_engine(tmp_path_factory):
    """The stories model with the tokens it samples around "girl" renamed <think> and </think>
    (user-defined, as in Qwen3's vocabulary): real llama.cpp generation of a "reasoning" reply."""
    from tests.conftest import STORIES_MODEL
    from tests.engine_models import with_tokens_renamed
    from tui.core.engine.runtime import Engine
    from tui.core.fit.settings import LlamaSettings

    if not STORIES_MODEL.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent (see shared/README.md)")
    path = with_tokens_renamed(STORIES_MODEL, tmp_path_factory.mktemp("think") / "think.gguf",
                               {LITTLE: ("<think>", 4), NAMED: ("</think>", 4)})
    with Engine.load(path, LlamaSettings(n_ctx=256, n_threads=1)) as loaded:
        yield loaded


def test_real_generation_splits_thinking_from_the_answer(thinking_engine):
    from tui.core.engine.chat import ChatSession
    from tui.core.engine.sampling import SamplingSettings

    thought: list[str] = []
    answered: list[str] = []
    session = ChatSession(thinking_engine, sampling=SamplingSettings(temperature=0.0, max_tokens=30))
    reply = session.reply("Once upon a time", on_text=answered.append, on_thinking=thought.append)
    # Greedy: ', there was a little girl named Lily.' with "little" -> <think>, "named" -> </think>
    assert reply.thinking == "".join(thought) == " girl"
    assert reply.text == "".join(answered) and reply.text.startswith(", there was a Lily.")
    assert reply.stats.n_thinking_tokens == 5  # <think>, ▁g, ir, l, </think>
    assert reply.stats.thinking_seconds >= 0 and reply.stats.n_gen_tokens == 30
    assert session.messages[-1].content == reply.text  # the thinking stays out of the history
