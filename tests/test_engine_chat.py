"""Chatting with real llama.cpp: templates, streaming, stopping, context limits, measurements."""

from __future__ import annotations

import threading

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from tests.engine_models import TEST_CHAT_TEMPLATE, with_chat_template  # noqa: E402
from tui.core.engine.chat import ChatSession  # noqa: E402
from tui.core.engine.errors import (  # noqa: E402
    ChatTemplateError,
    ContextFullError,
    ContextNeedsRoomError,
    EngineError,
)
from tui.core.engine.generate import generate  # noqa: E402
from tui.core.engine.llama_log import install_llama_log  # noqa: E402
from tui.core.engine.metrics import (  # noqa: E402
    FINISH_CANCELLED,
    FINISH_CONTEXT_FULL,
    FINISH_LENGTH,
    FINISH_STOP,
    describe_finish,  # noqa: E402
)
from tui.core.engine.runtime import Engine  # noqa: E402
from tui.core.engine.sampling import SamplingSettings  # noqa: E402
from tui.core.engine.template import ChatMessage, JinjaChatFormat, PlainCompletionFormat  # noqa: E402
from tui.core.fit.settings import LlamaSettings  # noqa: E402

GREEDY = SamplingSettings(temperature=0.0)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from tests.conftest import STORIES_MODEL

    if not STORIES_MODEL.exists():
        pytest.skip("../shared/models/stories260K.gguf is absent (see shared/README.md)")
    install_llama_log(tmp_path_factory.mktemp("log") / "llama.log", debug=True)
    # One thread: timings on a busy 2-core box are steadier, and the figures are compared, not judged.
    with Engine.load(STORIES_MODEL, LlamaSettings(n_ctx=512, n_threads=1)) as loaded:
        yield loaded


# -- plain completion (the stories model has no template) ----------------------------------


def test_model_without_template_continues_the_text(engine):
    session = ChatSession(engine, sampling=GREEDY.with_changes(max_tokens=40))
    assert isinstance(session.prompt_format, PlainCompletionFormat)
    reply = session.reply("Once upon a time")
    assert reply.text.startswith(", there was a little")  # what stories260K writes, greedily
    assert reply.stats.finish_reason == FINISH_LENGTH
    assert reply.stats.n_gen_tokens == 40
    assert [m.role for m in session.messages] == ["user", "assistant"]


def test_same_seed_same_reply_and_streamed_text_is_the_reply(engine):
    sampling = SamplingSettings(seed=1234, max_tokens=60)
    pieces: list[str] = []
    first = ChatSession(engine, sampling=sampling).reply("The little dog", on_text=pieces.append)
    second = ChatSession(engine, sampling=sampling).reply("The little dog")
    assert first.text == second.text == "".join(pieces)
    third = ChatSession(engine, sampling=sampling.with_changes(seed=99)).reply("The little dog")
    assert third.text != first.text


def test_plain_format_joins_turns_as_running_text():
    fmt = PlainCompletionFormat()
    text = fmt.render([ChatMessage("system", "Stories for kids."), ChatMessage("user", "Once upon a time"),
                       ChatMessage("assistant", ", there was a cat."), ChatMessage("user", "The end")])
    assert text == "Stories for kids.\n\nOnce upon a time, there was a cat.\nThe end"


def test_next_turn_reuses_the_cached_prefix(engine):
    session = ChatSession(engine, sampling=GREEDY.with_changes(max_tokens=20))
    first = session.reply("Once upon a time")
    second = session.reply("Lily smiled")
    assert first.stats.n_cached_tokens == 0 or first.stats.n_cached_tokens < first.stats.n_prompt_tokens + 5
    # The second prompt starts with everything the model already read (prompt + reply tokens it fed back).
    assert second.stats.n_cached_tokens >= first.stats.n_prompt_tokens + first.stats.n_cached_tokens
    assert second.stats.n_prompt_tokens < second.stats.n_cached_tokens
    assert engine.kv_tokens[: second.stats.n_cached_tokens] == session.prompt_tokens(
        [ChatMessage(m.role, m.content) for m in session.messages[:-1]])[: second.stats.n_cached_tokens]


# -- the model's own template -----------------------------------------------------------------


@pytest.fixture(scope="module")
def template_engine(tmp_path_factory, engine):
    from tests.conftest import STORIES_MODEL

    path = with_chat_template(STORIES_MODEL, tmp_path_factory.mktemp("tpl") / "stories-chat.gguf")
    with Engine.load(path, LlamaSettings(n_ctx=512, n_threads=1)) as loaded:
        yield loaded


def test_chat_template_from_the_gguf_renders_roles_and_one_bos(template_engine):
    assert template_engine.model.chat_template == TEST_CHAT_TEMPLATE
    session = ChatSession(template_engine, system_prompt="Be kind.", sampling=GREEDY.with_changes(max_tokens=16))
    assert isinstance(session.prompt_format, JinjaChatFormat)
    conversation = [ChatMessage("system", "Be kind."), ChatMessage("user", "Tell me a story")]
    assert session.prompt_format.render(conversation) == "<s>system: Be kind.\nuser: Tell me a story\nassistant:"
    tokens = session.prompt_tokens(conversation)
    bos = template_engine.model.bos_token
    assert tokens[0] == bos and tokens.count(bos) == 1  # the template's <s>, not a second one
    reply = session.reply("Tell me a story")
    assert reply.stats.n_prompt_tokens == len(tokens)
    assert reply.stats.n_gen_tokens == 16


def test_template_refusing_a_system_role_gets_it_folded_into_the_first_turn():
    template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}<assistant>")
    fmt = JinjaChatFormat(template, bos_token="<s>", eos_token="</s>")
    text = fmt.render([ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")])
    assert text == "<user>Be brief.\n\nHi<assistant>"
    with pytest.raises(ChatTemplateError, match="chat template failed"):
        JinjaChatFormat("{{ raise_exception('nope') }}", bos_token="", eos_token="").render([ChatMessage("user", "x")])
    with pytest.raises(ChatTemplateError, match="does not parse"):
        JinjaChatFormat("{% for %}", bos_token="", eos_token="")


# -- stopping -----------------------------------------------------------------------------------


def test_stop_takes_effect_within_one_token(engine):
    stop = threading.Event()
    seen: list[str] = []

    def on_text(text: str) -> None:
        seen.append(text)
        if len(seen) == 10:
            stop.set()

    session = ChatSession(engine, sampling=SamplingSettings(seed=7, max_tokens=300))
    reply = session.reply("Once upon a time", stop=stop, on_text=on_text)
    assert reply.finish_reason == FINISH_CANCELLED
    assert len(seen) == 10  # nothing delivered after the stop
    assert reply.stats.n_gen_tokens <= 11
    assert session.messages[-1] == ChatMessage("assistant", reply.text)  # the partial reply stays
    assert session.reply("Then", on_text=None).text  # and the session goes on


def test_stream_from_a_worker_thread_stops_when_asked(engine):
    session = ChatSession(engine, sampling=SamplingSettings(seed=3, max_tokens=400))
    stream = session.stream("Once upon a time")
    received, tokens_at_stop = [], None
    for piece in stream:
        received.append(piece)
        if len(received) == 5 and tokens_at_stop is None:
            stream.stop()
            tokens_at_stop = stream.live.n_tokens
    reply = stream.result
    assert reply.finish_reason == FINISH_CANCELLED
    assert reply.text == "".join(received)
    assert reply.stats.n_gen_tokens <= tokens_at_stop + 1  # at most the token in flight


def test_stop_before_the_prompt_is_evaluated_leaves_a_consistent_cache(engine):
    stop = threading.Event()
    stop.set()
    tokens = engine.model.tokenize("Once upon a time there was a big red ball. " * 20)
    result = generate(engine, tokens, GREEDY, stop=stop)
    assert result.finish_reason == FINISH_CANCELLED and result.tokens == ()
    memory = llama_cpp.llama_get_memory(engine.ctx)
    assert llama_cpp.llama_memory_seq_pos_max(memory, 0) + 1 == len(engine.kv_tokens)


def test_stop_during_a_long_prompt_aborts_inside_llama_decode(engine):
    tokens = engine.model.tokenize("Once upon a time there was a big red ball. " * 40)[:500]
    stop = threading.Event()
    engine.clear_kv()
    timer = threading.Timer(0.002, stop.set)
    timer.start()
    result = generate(engine, tokens, GREEDY.with_changes(max_tokens=50), stop=stop)
    timer.join()
    assert result.finish_reason == FINISH_CANCELLED
    assert result.stats.n_gen_tokens <= 1
    memory = llama_cpp.llama_get_memory(engine.ctx)
    assert llama_cpp.llama_memory_seq_pos_max(memory, 0) + 1 == len(engine.kv_tokens)
    assert generate(engine, tokens, GREEDY.with_changes(max_tokens=3)).stats.n_gen_tokens == 3


def test_engine_refuses_a_second_reply_while_one_runs(engine):
    with engine.busy:
        with pytest.raises(EngineError, match="already generating"):
            generate(engine, engine.model.tokenize("Hi"), GREEDY)


# -- a full context -------------------------------------------------------------------------------


@pytest.fixture
def small_engine(engine):
    with Engine.load(engine.model.path, LlamaSettings(n_ctx=256, n_batch=64, n_ubatch=64, n_threads=1)) as loaded:
        yield loaded


def test_reply_that_fills_the_context_ends_with_a_clear_notice(small_engine):
    session = ChatSession(small_engine, sampling=GREEDY.with_changes(repeat_penalty=1.3))
    prompt = "Once upon a time there was a girl. " * 20  # ~180 tokens, leaving ~80 for the reply
    reply = session.reply(prompt)
    assert reply.finish_reason == FINISH_CONTEXT_FULL
    assert reply.stats.n_ctx_used == small_engine.n_ctx == 256
    assert "filled the context window (256 tokens)" in reply.notice
    assert describe_finish(reply.finish_reason) == "context window full"
    # Sending again never drops the conversation silently: the caller is asked to choose.
    with pytest.raises(ContextNeedsRoomError) as asked:
        session.reply("And then?")
    assert asked.value.n_droppable == 2 and len(session.messages) == 2
    reply = session.reply("And then?", make_room=True)
    assert reply.n_dropped_messages == 2 and session.first_kept == 2 and len(session.messages) == 4


def test_long_conversation_drops_the_oldest_turns_only_when_asked(small_engine):
    session = ChatSession(small_engine, system_prompt="Kids stories.", sampling=GREEDY.with_changes(max_tokens=40))
    dropped = asked = 0
    for turn in range(8):
        text = f"Then the cat number {turn} went to the park and played with a ball all day long."
        try:
            reply = session.reply(text)
        except ContextNeedsRoomError:
            asked += 1
            reply = session.reply(text, make_room=True)
        dropped += reply.n_dropped_messages
        assert reply.stats.n_prompt_tokens + reply.stats.n_cached_tokens + 40 <= small_engine.n_ctx
    assert asked >= 1 and dropped >= 2 and dropped % 2 == 0  # whole user+assistant turns
    assert len(session.messages) == 16  # the history keeps everything for display
    assert session.first_kept == dropped


def test_a_message_larger_than_the_context_is_refused_and_the_session_survives(small_engine):
    session = ChatSession(small_engine, sampling=GREEDY.with_changes(max_tokens=5))
    with pytest.raises(ContextFullError, match="the context holds 256"):
        session.reply("word " * 400)
    assert session.messages == []
    assert session.reply("Once upon a time").stats.n_gen_tokens == 5


# -- measurements ---------------------------------------------------------------------------------


def test_measurements_agree_with_llama_cpp_counters(engine):
    engine.clear_kv()
    session = ChatSession(engine, sampling=SamplingSettings(seed=5, max_tokens=200, min_p=0.0, top_p=1.0))
    prompt = "Once upon a time, in a small house near the woods, there lived a girl named Lily who loved to play. " * 2
    reply = session.reply(prompt)
    stats, perf = reply.stats, reply.stats.perf
    assert stats.n_prompt_tokens == perf.n_p_eval
    assert stats.n_decoded_tokens == perf.n_eval == stats.n_gen_tokens - 1
    # Our clock brackets llama_decode(+synchronize); llama.cpp's brackets the same work from inside.
    assert stats.prompt_tokens_per_s == pytest.approx(perf.prompt_tokens_per_s, rel=0.10)
    assert stats.gen_tokens_per_s == pytest.approx(perf.gen_tokens_per_s, rel=0.05)
    assert stats.stream_tokens_per_s <= stats.gen_tokens_per_s * 1.001  # streaming adds sampling and delivery
    assert 0 < stats.ttft_s < stats.total_seconds
    assert session.live.n_tokens == stats.n_gen_tokens
    assert session.live.tokens_per_s == pytest.approx(stats.stream_tokens_per_s)
    data = stats.to_dict()
    assert data["gen_tokens_per_s"] == stats.gen_tokens_per_s and data["perf"]["n_eval"] == perf.n_eval


def test_sampling_settings_are_checked():
    for bad in (dict(temperature=-1), dict(top_p=1.5), dict(top_k=-2), dict(min_p=2.0), dict(repeat_penalty=0),
                dict(max_tokens=0), dict(seed=-5)):
        with pytest.raises(EngineError):
            SamplingSettings(**bad).validate()
    SamplingSettings(temperature=0, top_k=0, top_p=1.0, min_p=0.0, seed=0, max_tokens=-1).validate()


def test_end_of_generation_token_ends_the_reply(tmp_path):
    # stories260K never writes </s>; a random-weight factory model samples it now and then.
    pytest.importorskip("gguf")
    from tests.gguf_factory import SMALL_SPECS, make_model

    path = make_model(tmp_path / "tiny-llama.gguf", SMALL_SPECS["llama"]).path
    with Engine.load(path, LlamaSettings(n_ctx=512, n_threads=1)) as tiny:
        flat = SamplingSettings(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, max_tokens=400)
        for seed in range(20):
            reply = ChatSession(tiny, sampling=flat.with_changes(seed=seed)).reply("hello")
            if reply.finish_reason == FINISH_STOP:
                break
        assert reply.finish_reason == FINISH_STOP
        assert 1 <= reply.stats.n_gen_tokens < 400
        # The end token counts as generated but is neither shown nor fed back to the model.
        assert reply.stats.n_decoded_tokens == reply.stats.n_gen_tokens - 1
        assert not tiny.model.is_end_of_generation(tiny.kv_tokens[-1])
        assert "</s>" not in reply.text
