"""A conversation with a loaded model: roles, system prompt, the model's template, trimming, streaming.

``ChatSession.reply`` is blocking (run it in a worker thread); ``ChatSession.stream``
runs it on its own thread and hands the text over through a queue, with ``stop()`` to
end the reply within one token. When the conversation outgrows the context, nothing is
dropped silently: ``reply`` raises ``ContextNeedsRoomError`` and the caller chooses a new
chat or ``make_room=True``, which leaves the oldest turns out of the prompt (the system
prompt always stays; ``first_kept`` says where the prompt starts, for a visible marker).
A single message that cannot fit is refused with ``ContextFullError``, and a reply that
fills the context ends with finish reason ``context_full``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tui.core.engine.errors import ContextFullError, ContextNeedsRoomError
from tui.core.engine.generate import Generation, generate
from tui.core.engine.metrics import FINISH_CONTEXT_FULL, LiveRate, ReplyStats
from tui.core.engine.reply_channels import ReplyChannels, prompt_opens_thinking
from tui.core.engine.runtime import Engine
from tui.core.engine.sampling import SamplingSettings
from tui.core.engine.template import ChatMessage, PromptFormat, prompt_format_for

#: Tokens kept free for the reply when deciding whether old turns must be dropped.
DEFAULT_REPLY_ROOM = 256


@dataclass(frozen=True)
class Reply:
    """One assistant turn and how it went."""

    text: str
    stats: ReplyStats
    n_dropped_messages: int = 0  # older messages left out of the prompt to make room
    thinking: str = ""           # a reasoning model's thinking, apart from the answer

    @property
    def finish_reason(self) -> str:
        return self.stats.finish_reason

    @property
    def notice(self) -> str | None:
        """A sentence for the user when the reply did not end on its own."""
        if self.finish_reason == FINISH_CONTEXT_FULL:
            return (f"the reply filled the context window ({self.stats.n_ctx} tokens); the next message "
                    "needs a new chat, the oldest turns dropped, or a larger context (-c)")
        if self.n_dropped_messages:
            return f"{self.n_dropped_messages} older messages no longer fit the context and were left out"
        return None


@dataclass
class ChatSession:
    """Messages exchanged with ``engine``; ``messages`` is the full history (system prompt excluded)."""

    engine: Engine
    system_prompt: str | None = None
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    prompt_format: PromptFormat | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    live: LiveRate = field(default_factory=LiveRate)

    def __post_init__(self) -> None:
        if self.prompt_format is None:
            self.prompt_format = prompt_format_for(self.engine.model)
        self.sampling.validate()
        self._first_kept = 0  # index into messages of the oldest message still sent to the model

    # -- building the prompt -----------------------------------------------------------

    def _conversation(self, pending: ChatMessage, first: int) -> list[ChatMessage]:
        head = [ChatMessage("system", self.system_prompt)] if self.system_prompt else []
        return head + self.messages[first:] + [pending]

    def prompt_tokens(self, conversation: list[ChatMessage]) -> list[int]:
        """Render and tokenize, adding BOS only when the vocabulary wants one and the template did not."""
        return self._render_and_tokenize(conversation)[1]

    def _render_and_tokenize(self, conversation: list[ChatMessage]) -> tuple[str, list[int]]:
        fmt = self.prompt_format
        if fmt is None:  # set in __post_init__; None only if a caller cleared it
            fmt = self.prompt_format = prompt_format_for(self.engine.model)
        text = fmt.render(conversation)
        model = self.engine.model
        bos_text = model.token_text(model.bos_token)
        add_special = not (fmt.parse_special and bos_text and text.startswith(bos_text))
        return text, model.tokenize(text, add_special=add_special, parse_special=fmt.parse_special)

    @property
    def first_kept(self) -> int:
        """Index into ``messages`` of the oldest message still in the prompt (older ones were dropped)."""
        return self._first_kept

    def context_used(self) -> tuple[int, int]:
        """(tokens in the KV cache, context size): the header's live "used/total"."""
        return len(self.engine.kv_tokens), self.engine.n_ctx

    def _fit_prompt(self, pending: ChatMessage, make_room: bool) -> tuple[str, list[int], int]:
        """Prompt text and tokens for the history plus ``pending``; with ``make_room`` the oldest
        turns are dropped until they fit, without it a prompt that needs that raises."""
        n_ctx = self.engine.n_ctx
        wanted = self.sampling.max_tokens if self.sampling.max_tokens > 0 else DEFAULT_REPLY_ROOM
        room = min(wanted, n_ctx // 2)
        first = self._first_kept
        while True:
            text, tokens = self._render_and_tokenize(self._conversation(pending, first))
            if len(tokens) + room <= n_ctx or first >= len(self.messages):
                break
            first = _next_turn_start(self.messages, first)
        if len(tokens) >= n_ctx:
            raise ContextFullError(
                f"the message needs {len(tokens)} tokens with the system prompt; the context holds {n_ctx}",
                hint="shorten it or load the model with a larger context (-c)",
            )
        dropped = first - self._first_kept
        if dropped and not make_room:
            raise ContextNeedsRoomError(
                f"the conversation no longer fits the {n_ctx}-token context",
                n_droppable=dropped, n_ctx=n_ctx,
                hint=f"start a new chat, or drop the {dropped} oldest messages from what the model sees",
            )
        self._first_kept = first
        return text, tokens, dropped

    # -- replying ----------------------------------------------------------------------

    def reply(
        self,
        user_text: str,
        *,
        stop: threading.Event | None = None,
        on_text: Callable[[str], object] | None = None,
        on_thinking: Callable[[str], object] | None = None,
        make_room: bool = False,
    ) -> Reply:
        """Answer ``user_text`` (blocking). The user message and the reply, even a stopped
        one, join the history; a message refused for size does not. The answer streams to
        ``on_text``, a reasoning model's thinking to ``on_thinking``."""
        t_request = time.perf_counter()
        pending = ChatMessage("user", user_text)
        prompt_text, tokens, dropped = self._fit_prompt(pending, make_room)
        channels = ReplyChannels(on_text, on_thinking, starts_thinking=prompt_opens_thinking(prompt_text))
        generation = self._generate(tokens, stop, channels, t_request)
        self.messages.append(pending)
        self.messages.append(ChatMessage("assistant", generation.text))
        return Reply(text=generation.text, stats=generation.stats, n_dropped_messages=dropped,
                     thinking=generation.thinking)

    def _generate(self, tokens: list[int], stop: threading.Event | None, channels: ReplyChannels,
                  t_request: float) -> Generation:
        """The token loop (llama.cpp); a scripted engine for tests replaces only this."""
        return generate(self.engine, tokens, self.sampling, stop=stop, live=self.live, t_request=t_request,
                        channels=channels)

    def take_back_last_turn(self) -> str | None:
        """Remove the last user message and the reply after it (regenerate, edit); returns its text."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "user":
                text = self.messages[index].content
                del self.messages[index:]
                self._first_kept = min(self._first_kept, index)
                return text
        return None

    def restore(self, messages: list[ChatMessage]) -> None:
        """Continue a saved conversation: its messages become the history."""
        self.messages = list(messages)
        self._first_kept = 0

    def stream(self, user_text: str) -> ReplyStream:
        """Start replying on a worker thread; iterate the returned stream for the text."""
        return ReplyStream(self, user_text)

    def clear(self) -> None:
        """Forget the conversation (the KV cache is reused or cut on the next reply)."""
        self.messages.clear()
        self._first_kept = 0


def _next_turn_start(messages: list[ChatMessage], first: int) -> int:
    """The index after the oldest user turn and its answer, so turns stay paired."""
    index = first + 1
    while index < len(messages) and messages[index].role != "user":
        index += 1
    return index


_DONE = object()


class ReplyStream:
    """A reply generated on its own thread; iterate for text pieces, ``stop()`` to end it.

    The generating thread only appends to a queue (no UI calls per token); the consumer
    drains it at its own pace. ``result`` holds the ``Reply`` once iteration ends, and
    an error raised while generating is re-raised to the consumer.
    """

    def __init__(self, session: ChatSession, user_text: str) -> None:
        self.session = session
        self.stop_event = threading.Event()
        self.result: Reply | None = None
        self.error: BaseException | None = None
        self._queue: queue.SimpleQueue[str | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, args=(user_text,), name="localai-reply", daemon=True)
        self._thread.start()

    def _run(self, user_text: str) -> None:
        try:
            self.result = self.session.reply(user_text, stop=self.stop_event, on_text=self._queue.put)
        except BaseException as exc:  # handed to the consumer
            self.error = exc
        finally:
            self._queue.put(_DONE)

    @property
    def live(self) -> LiveRate:
        return self.session.live

    def stop(self) -> None:
        self.stop_event.set()

    def __iter__(self) -> Iterator[str]:
        while True:
            item = self._queue.get()
            if not isinstance(item, str):  # _DONE: the reply ended
                break
            yield item
        self._thread.join()
        if self.error is not None:
            raise self.error

    def wait(self) -> Reply:
        """Drain the stream and return the finished reply."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result
