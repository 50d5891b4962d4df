"""The conversation as it streams: the turns, the reply's figures, the tokens/s meter and context use.

The generating thread only appends text to deques (``ReplySink``); a timer ticking every
``FLUSH_S`` drains them into the reply's Markdown (one ``append`` per flush, however many tokens
arrived; ``StreamPacer`` spaces flushes out as the reply grows so the UI thread stays under a
twentieth of a core), and refreshes the meter at ``METER_HZ``. The timer runs only while a reply
streams: an idle chat wakes nobody. A reasoning model's thinking streams into a folded block
above the answer with its own token count and time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Label, Static

from tui.core.engine.metrics import FINISH_STOP, describe_finish
from tui.core.safe_text import printable
from tui.units import format_duration, format_rate
from tui.widgets.chat_turn import ReplyTurn, reply_turn, saved_reply_turn, thinking_title, user_turn
from tui.widgets.memory_label import MemoryLabel
from tui.widgets.rate_meter import RateMeter
from tui.widgets.stream_pacer import MIN_INTERVAL_S, StreamPacer

#: How often the stream timer ticks (seconds); the pacer decides on which ticks text is flushed.
FLUSH_S = MIN_INTERVAL_S
#: How often the tokens/s figure and sparkline refresh (per second).
METER_HZ = 4
#: Saved messages shown at once when a conversation opens; earlier ones wait behind a button.
HISTORY_WINDOW = 8


def reply_stats_line(stats: Any) -> Text:
    """``prompt 1234 t/s · first token 0.02 s · 456 t/s · 128 tokens``: one reply's figures."""
    text = Text()
    text.append("prompt ", "dim")
    text.append(format_rate(stats.prompt_tokens_per_s) if stats.n_prompt_tokens else "cached")
    text.append(f" ({stats.n_prompt_tokens} tok)", "dim")
    text.append(" · first token ", "dim")
    text.append(format_duration(stats.ttft_s))
    text.append(" · gen ", "dim")
    text.append(format_rate(stats.gen_tokens_per_s), "bold")
    text.append(f" · {stats.n_gen_tokens} tokens", "dim")
    if getattr(stats, "n_thinking_tokens", 0):
        text.append(f" ({stats.n_thinking_tokens} thinking)", "dim")
    if stats.finish_reason != FINISH_STOP:
        text.append(f" · {describe_finish(stats.finish_reason)}", "bold yellow")
    return text


def context_text(used: int, total: int) -> Text:
    """``ctx 1234/4096``, yellow past 90%."""
    style = "bold yellow" if total and used >= 0.9 * total else ""
    return Text.assemble(("ctx ", "dim"), (f"{used}/{total}", style))


class ReplySink:
    """What the generating thread writes to: plain deque appends, nothing else."""

    def __init__(self) -> None:
        self.answer: deque[str] = deque()
        self.thinking: deque[str] = deque()

    @staticmethod
    def drain(pending: deque[str]) -> str:
        pieces = []
        while True:
            try:
                pieces.append(pending.popleft())
            except IndexError:
                return "".join(pieces)


class _Streaming:
    """The reply in flight: its widgets, what has arrived and what is not on screen yet."""

    def __init__(self, widgets: ReplyTurn, live: Any, sink: ReplySink) -> None:
        self.widgets = widgets
        self.live = live
        self.sink = sink
        self.answer: list[str] = []
        self.thinking: list[str] = []
        self.unflushed: list[str] = []
        self.thinking_dirty = False


class ChatStream(Vertical):
    """The log of turns, then one line of figures, then the meter row (tokens/s, context, memory)."""

    DEFAULT_CSS = """
    ChatStream { height: 1fr; }
    """

    def __init__(self, *, sample_memory: Callable[[], Any], context_use: Callable[[], tuple[int, int] | None],
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._sample_memory = sample_memory
        self._context_use = context_use
        self._pacer = StreamPacer()
        self._exchanges: list[list[Widget]] = []
        self._streaming: _Streaming | None = None
        self._earlier: tuple[list[Any], str, bool] | None = None  # saved messages not mounted yet
        self._last_meter = 0.0
        self._meter_mark = (0, 0.0)
        self.thinking_collapsed = True
        self.last_reply = ""
        self.last_stats: Any = None
        self.displayed_tokens_per_s: list[float] = []  # what the meter showed, for the benchmark

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="chat-log")
        yield Static("", id="chat-stats")
        with Horizontal(id="chat-meter-row"):
            yield RateMeter(id="chat-meter")
            yield Label("", id="chat-context")
            yield MemoryLabel(self._sample_memory, id="chat-memory")

    def on_mount(self) -> None:
        self._flush_timer = self.set_interval(FLUSH_S, self._flush, name="chat-flush", pause=True)

    @property
    def turns(self) -> VerticalScroll:
        """The scrolling log of turns."""
        return self.query_one("#chat-log", VerticalScroll)

    @property
    def generating(self) -> bool:
        return self._streaming is not None

    @property
    def reply_text(self) -> str:
        """The reply in flight's answer so far (all that arrived, shown or not)."""
        return "".join(self._streaming.answer) if self._streaming is not None else ""

    @property
    def n_exchanges(self) -> int:
        return len(self._exchanges)

    def set_memory_active(self, active: bool) -> None:
        self.query_one(MemoryLabel).active = active

    def show_context(self) -> None:
        use = self._context_use()
        self.query_one("#chat-context", Label).update(context_text(*use) if use else "")

    # -- the turns -------------------------------------------------------------------

    def show_history(self, messages: Sequence[Any], model_title: str, plain: bool) -> None:
        """A saved conversation (``messages``: StoredMessage, or anything with role/content): the last
        ``HISTORY_WINDOW`` messages at once, the earlier ones behind a button, so a long one opens fast."""
        start = max(0, len(messages) - HISTORY_WINDOW)
        while 0 < start < len(messages) and messages[start].role != "user":
            start -= 1  # whole exchanges
        self._earlier = (list(messages[:start]), model_title, plain)
        log = self.turns
        if start:
            log.mount(Button(f"Show {start} earlier messages", classes="chat-earlier", compact=True))
        self._mount_history(messages[start:], model_title, plain)
        log.scroll_end(animate=False)
        log.anchor()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if not event.button.has_class("chat-earlier") or self._earlier is None:
            return
        event.stop()
        earlier, model_title, plain = self._earlier
        self._earlier = None
        event.button.remove()
        self._mount_history(earlier, model_title, plain, before=0)

    def _mount_history(self, messages: Sequence[Any], model_title: str, plain: bool, before: int | None = None) -> None:
        widgets: list[Widget] = []
        exchanges: list[list[Widget]] = []
        pending_user: str | None = None
        for message in messages:
            if message.role == "user":
                pending_user = message.content
                if not plain:
                    turn = user_turn(message.content)
                    exchanges.append([turn])
                    widgets.append(turn)
                continue
            content = message.content + (" _(interrupted)_" if getattr(message, "interrupted", False) else "")
            stats = getattr(message, "stats", None) or {}
            turn = saved_reply_turn(
                model_title, content, pending_user if plain else None, thinking=getattr(message, "thinking", ""),
                thinking_title_text=thinking_title(stats.get("n_thinking_tokens", 0),
                                                   stats.get("thinking_seconds", 0.0), done=True),
                thinking_collapsed=self.thinking_collapsed)
            if plain or not exchanges:
                exchanges.append([])
            exchanges[-1].append(turn)
            widgets.append(turn)
            pending_user = None
            if before is None:
                self.last_reply = message.content
        if before is None:
            self._exchanges += exchanges
            self.turns.mount_all(widgets)
        else:
            self._exchanges[:0] = exchanges
            self.turns.mount_all(widgets, before=before)

    def show_marker(self, text: str) -> None:
        """A visible line in the log (the oldest turns left out of the context, a resumed chat)."""
        marker = Static(Text(f"── {text} ──", "dim italic"), classes="chat-marker")
        self.turns.mount(marker)
        if self._exchanges:
            self._exchanges[-1].append(marker)

    def take_back_last_exchange(self) -> None:
        """Regenerate / edit: the last user turn and its reply leave the screen."""
        if self._exchanges:
            for widget in self._exchanges.pop():
                widget.remove()
        self.last_reply = ""

    def clear(self) -> None:
        self.turns.remove_children()
        self._exchanges = []
        self._earlier = None
        self.query_one("#chat-stats", Static).update("")
        self.query_one(RateMeter).reset()
        self.last_reply = ""
        self.last_stats = None

    def toggle_thinking(self) -> bool:
        """Fold or unfold every thinking block; returns whether they are now folded."""
        self.thinking_collapsed = not self.thinking_collapsed
        from tui.widgets.chat_turn import ThinkingBlock

        for block in self.query(ThinkingBlock):
            block.collapsed = self.thinking_collapsed
        return self.thinking_collapsed

    # -- streaming -------------------------------------------------------------------

    def begin_reply(self, text: str, model_title: str, plain: bool, live: Any) -> ReplySink:
        """Show the user's turn and an empty reply; returns the sink the generating thread writes to."""
        log = self.turns
        exchange: list[Widget] = []
        if not plain:
            turn = user_turn(text)
            log.mount(turn)
            exchange.append(turn)
        widgets = reply_turn(model_title, text if plain else None, thinking_collapsed=self.thinking_collapsed)
        log.mount(widgets.turn)
        exchange.append(widgets.turn)
        self._exchanges.append(exchange)
        log.anchor()
        sink = ReplySink()
        self._streaming = _Streaming(widgets, live, sink)
        self.displayed_tokens_per_s = []
        self.query_one(RateMeter).reset()
        self.query_one("#chat-stats", Static).update(Text("generating… (escape stops)", "dim"))
        self._pacer.start(time.monotonic())
        self._meter_mark = (0, 0.0)
        self._flush_timer.resume()
        return sink

    def abandon_reply(self) -> None:
        """The reply never started (the context needs a choice): its turns leave the screen."""
        self._streaming = None
        self._flush_timer.pause()
        self.take_back_last_exchange()
        self.query_one("#chat-stats", Static).update("")

    async def _flush(self) -> None:
        streaming = self._streaming
        if streaming is None:
            return
        sink = streaming.sink
        chunk = sink.drain(sink.answer)
        if chunk:
            streaming.answer.append(chunk)
            streaming.unflushed.append(chunk)
        thought = sink.drain(sink.thinking)
        if thought:
            streaming.thinking.append(thought)
            streaming.thinking_dirty = True
        now = time.monotonic()
        if (streaming.unflushed or streaming.thinking_dirty) and self._pacer.due(now):
            if streaming.thinking_dirty:
                streaming.thinking_dirty = False
                block = streaming.widgets.thinking
                block.show_text("".join(streaming.thinking))
                block.title = thinking_title(streaming.live.n_tokens, 0.0, done=False)
            if streaming.unflushed:
                text, streaming.unflushed = "".join(streaming.unflushed), []
                await streaming.widgets.view.append(printable(text))  # model output: text, never terminal commands
            self._pacer.flushed(now)
        if now - self._last_meter >= 1 / METER_HZ:
            self._last_meter = now
            self._show_rate(streaming.live)
            self.show_context()

    def _show_rate(self, live: Any) -> None:
        """The meter: the reply's rate so far as the figure, the rate since the last look on the sparkline."""
        rate = live.tokens_per_s
        n_tokens, t_last = live.n_tokens, live.t_last
        n_before, t_before = self._meter_mark
        recent = (n_tokens - n_before) / (t_last - t_before) if t_last > t_before and n_before else None
        self._meter_mark = (n_tokens, t_last)
        if rate > 0:
            self.displayed_tokens_per_s.append(rate)
            self.query_one(RateMeter).record(rate, recent)

    async def finish_reply(self, reply: Any, error: BaseException | None) -> str:
        """The reply ended (``reply``) or failed (``error``): one final full render and its figures."""
        streaming = self._streaming
        self._streaming = None
        self._flush_timer.pause()
        if streaming is None:
            return ""
        sink = streaming.sink
        streaming.answer.append(sink.drain(sink.answer))
        streaming.thinking.append(sink.drain(sink.thinking))
        text = reply.text if reply is not None else "".join(streaming.answer)
        thinking = reply.thinking if reply is not None else "".join(streaming.thinking)
        widgets = streaming.widgets
        shown = printable(text)
        await widgets.view.update(widgets.prefix + shown if shown or thinking else widgets.prefix + "_(no reply)_")
        widgets.thinking.show_text(thinking)
        self.last_reply = text
        stats_box = self.query_one("#chat-stats", Static)
        if error is not None:
            stats_box.update(Text(str(error), "bold red"))
        elif reply is not None:
            stats = reply.stats
            self.last_stats = stats
            if thinking:
                widgets.thinking.title = thinking_title(stats.n_thinking_tokens, stats.thinking_seconds, done=True)
            stats_box.update(reply_stats_line(stats))
            final = stats.stream_tokens_per_s  # the live figure's definition, over the whole reply
            if final > 0:
                self.query_one(RateMeter).record(final)
                self.displayed_tokens_per_s.append(final)
        self.show_context()
        return text
