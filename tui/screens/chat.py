"""Step 4, Chat: load the model in-process, then stream replies as Markdown with a live tokens/s meter.

The generating thread only appends text to a deque; a UI timer ticking every ``FLUSH_S`` drains it
into the reply's Markdown (one ``append`` per flush, however many tokens arrived; ``StreamPacer``
spaces flushes out as the reply grows so the UI thread stays under a tenth of a core), and
refreshes the meter at ``METER_HZ``. Escape sets the stop event the token loop checks after
every token. Loads, replies and memory sampling run in workers; the event loop never waits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Markdown, ProgressBar, Static

from tui.core.errors import LocalAIError
from tui.messages import ModelOpened, Outcome, ReplyFinished, deliver
from tui.screens.base import AppScreen
from tui.screens.open_model import open_model_spec
from tui.screens.stream_pacer import MIN_INTERVAL_S, StreamPacer
from tui.session import ChosenModel
from tui.units import format_context, format_duration, format_rate, format_size
from tui.widgets.chat_turn import reply_turn, user_turn
from tui.widgets.rate_meter import RateMeter

if TYPE_CHECKING:
    from textual.timer import Timer

    from tui.core.engine.chat import ChatSession, Reply
    from tui.core.engine.metrics import ReplyStats
    from tui.core.engine.runtime import Engine
    from tui.core.engine.sampling import SamplingSettings
    from tui.core.fit.settings import LlamaSettings

#: How often the stream timer ticks (seconds); the pacer decides on which ticks text is flushed.
FLUSH_S = MIN_INTERVAL_S
#: How often the tokens/s figure and sparkline refresh (per second).
METER_HZ = 4


def reply_stats_line(stats) -> Text:
    """``prompt 1234 t/s · first token 0.02 s · 456 t/s · 128 tokens · stop``: one reply's figures."""
    text = Text()
    text.append("prompt ", "dim")
    text.append(format_rate(stats.prompt_tokens_per_s) if stats.n_prompt_tokens else "cached")
    text.append(f" ({stats.n_prompt_tokens} tok)", "dim")
    text.append(" · first token ", "dim")
    text.append(format_duration(stats.ttft_s))
    text.append(" · gen ", "dim")
    text.append(format_rate(stats.gen_tokens_per_s), "bold")
    text.append(f" · {stats.n_gen_tokens} tokens · ctx {stats.n_ctx_used}/{stats.n_ctx}", "dim")
    if stats.finish_reason != "stop":
        text.append(f" · {stats.finish_reason}", "bold yellow")
    return text


class ChatScreen(AppScreen):
    """The conversation above, the meter and the prompt below."""

    WHERE = "Chat"
    BINDINGS = [
        Binding("escape,ctrl+c", "stop", "Stop", id="chat-stop", priority=True,
                tooltip="Stop the reply (ctrl+c too: tmux holds a lone escape for escape-time)"),
        Binding("ctrl+n", "new_chat", "New chat", id="chat-new"),
        Binding("ctrl+y", "copy_reply", "Copy reply", id="chat-copy", tooltip="Copy the last reply (OSC 52)"),
        Binding("ctrl+o", "chat_settings", "Settings", id="chat-settings",
                tooltip="System prompt and sampling (temperature, top-p, ...)"),
        Binding("ctrl+r", "reload", "Reload", id="chat-reload", tooltip="Load the model again with the Fit settings"),
        Binding("ctrl+x", "cancel_load", "Cancel load", id="chat-cancel-load"),
    ]

    class Loaded(Outcome[tuple]):
        """The load worker finished: (model, settings, engine), or why not (failed, cancelled)."""

    class Replied(Outcome[Any]):
        """The reply worker finished: the ``Reply`` (text and stats), or the error that ended it."""

    class MemorySampled(Outcome[Any]):
        """The process's memory use (``MemoryUse``: RAM, and VRAM per GPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: Engine | None = None
        self.session: ChatSession | None = None
        self.loaded_model: ChosenModel | None = None
        self.loaded_settings: LlamaSettings | None = None
        self.system_prompt: str | None = None
        self.sampling: SamplingSettings | None = None
        self.last_reply: str = ""
        self.last_stats: ReplyStats | None = None  # the last reply's stats (the benchmark reads it)
        self.displayed_tokens_per_s: list[float] = []  # what the meter showed, for the benchmark
        self._pending: deque[str] = deque()
        self._stop: threading.Event | None = None
        self._load_cancel: threading.Event | None = None
        self._load_fraction = 0.0
        self._generating = False
        self._reply_view: Markdown | None = None
        self._reply_prefix = ""  # plain completion: the prompt the reply continues (Markdown)
        self._flush_timer: Timer  # set in on_mount
        self._unflushed: list[str] = []
        self._pacer = StreamPacer()
        self._reply_text: list[str] = []
        self._last_meter = 0.0
        self._meter_mark = (0, 0.0)  # (tokens, time of the last token) at the meter's last look

    # -- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static("", id="chat-status")
        with Horizontal(id="chat-load-row"):
            yield ProgressBar(id="chat-load-bar", total=1.0, show_eta=False)
            yield Label(" loading…", id="chat-load-label")
        yield VerticalScroll(id="chat-log")
        yield Static("", id="chat-stats")
        with Horizontal(id="chat-meter-row"):
            yield RateMeter(id="chat-meter")
            yield Label("", id="chat-memory")
        yield Input(placeholder="Message (enter sends, escape stops)", id="chat-input", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#chat-load-row").display = False
        # Runs only while something streams or loads: an idle chat screen wakes nobody.
        self._flush_timer = self.set_interval(FLUSH_S, self._flush, name="chat-flush", pause=True)
        self.watch(self.app, "model", self._model_changed)
        self.set_interval(1.0, self._sample_memory, name="chat-memory")
        if self.app.model is None and self.app.start_model:
            spec, self.app.start_model = self.app.start_model, None
            self._status(Text(f"Reading {spec}…"))
            open_model_spec(self, spec)

    # -- loading ---------------------------------------------------------------------------

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        if event.error is None:
            self.app.choose_model(event.result, go_to=None)
        else:
            self._status(Text.assemble(("Could not open the model: ", "bold red"), str(event.error)))
            self.notify(str(event.error), severity="error", title="Open model")

    def _status(self, text: Text | str) -> None:
        self.query_one("#chat-status", Static).update(text)

    def on_screen_resume(self) -> None:
        """Back from Fit with other settings (context, cache types, ...): load again with those."""
        model = self.app.model
        if model is None or model != self.loaded_model or self.engine is None:
            return
        if self.app.settings != self.loaded_settings and not self._generating and self._load_cancel is None:
            self.load(model)

    def _model_changed(self, model: ChosenModel | None) -> None:
        if model is None:
            self._status("No model yet: F3 browses the Hub, F4 opens a file in Fit.")
            return
        if model == self.loaded_model and self.engine is not None:
            return
        if not model.is_local:
            self._status(Text.assemble((model.title, "bold"), " is not downloaded yet: press d on the Fit screen (F4)."))
            return
        self.load(model)

    def load(self, model: ChosenModel) -> None:
        if self._generating:
            self.action_stop()
        self._load_cancel = threading.Event()
        self._load_fraction = 0.0
        self.query_one("#chat-load-row").display = True
        self.query_one("#chat-input", Input).disabled = True
        self._status(Text.assemble("Loading ", (model.title, "bold"), "…"))
        self._flush_timer.resume()
        self._load(model, self.app.settings, self._load_cancel)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-load")
    def _load(self, model: ChosenModel, settings, cancel: threading.Event) -> None:
        services = self.app.services
        path = model.local_path
        if path is None:  # load() is called for downloaded models only
            raise LocalAIError(f"{model.title} is not downloaded yet")
        old, self.engine, self.session = self.engine, None, None
        if old is not None:
            old.close()

        def progress(fraction: float) -> None:
            self._load_fraction = fraction  # read by the UI timer; no call into the UI from here

        def load() -> tuple[ChosenModel, LlamaSettings, Engine]:
            return model, settings, services.load_engine(path, settings, on_progress=progress, cancel=cancel)

        deliver(self, self.Loaded, load)

    @on(Loaded)
    def _load_finished(self, event: Loaded) -> None:
        self._load_cancel = None
        self.query_one("#chat-load-row").display = False
        if not self._generating:
            self._flush_timer.pause()
        if event.error is None:
            self._loaded(*event.result)
        else:
            self._status(Text.assemble(("Could not load the model: ", "bold red"), str(event.error),
                                       "\nF4 changes the settings, ctrl+r tries again, F6 shows llama.cpp's log."))
            self.notify(str(event.error), severity="error", title="Load")
        self.refresh_bindings()

    def _loaded(self, model: ChosenModel, settings: LlamaSettings, engine: Engine) -> None:
        services = self.app.services
        self.engine = engine
        self.loaded_model = model
        self.loaded_settings = settings
        self.session = services.chat_session(engine, self.system_prompt, self.sampling)
        info = engine.info()
        template = "chat template" if info.has_chat_template else "no chat template: it continues your text"
        self._status(Text.assemble(
            (model.title, "bold"), f" · {info.architecture} · ctx {format_context(info.n_ctx)}",
            f" · {info.n_threads} threads · loaded in {format_duration(info.load_seconds)} · {template}",
        ))
        input_box = self.query_one("#chat-input", Input)
        input_box.disabled = False
        input_box.focus()

    def action_cancel_load(self) -> None:
        if self._load_cancel is not None:
            self._load_cancel.set()

    def action_reload(self) -> None:
        if self.app.model is not None and self.app.model.is_local:
            self.load(self.app.model)

    # -- sending and streaming -------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.session is None or self._generating:
            return
        event.input.value = ""
        self.send(text)

    def send(self, text: str) -> None:
        """Show the user's turn, open an empty reply and start generating in a worker.

        A model without a chat template continues the text: one turn shows the prompt with
        the continuation flowing after it, rather than a user turn and a reply.
        """
        log = self.query_one("#chat-log", VerticalScroll)
        plain = self.engine is not None and not self.engine.info().has_chat_template
        title = self.loaded_model.title if self.loaded_model is not None else "model"
        if not plain:
            log.mount(user_turn(text))
        turn, reply_view, self._reply_prefix = reply_turn(title, text if plain else None)
        log.mount(turn)
        log.anchor()
        self._reply_view = reply_view
        self._reply_text = []
        self._unflushed = []
        self._pending.clear()
        self._stop = threading.Event()
        self._generating = True
        self.displayed_tokens_per_s = []
        self.query_one(RateMeter).reset()
        self.query_one("#chat-stats", Static).update(Text("generating… (escape stops)", "dim"))
        self._pacer.start(time.monotonic())
        self._meter_mark = (0, 0.0)
        self._flush_timer.resume()
        self._reply(text, self._stop)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-reply")
    def _reply(self, text: str, stop: threading.Event) -> None:
        session = self.session

        def reply() -> Reply:
            if session is None:  # _send checks; a reload may have dropped it since
                raise LocalAIError("no model is loaded")
            return session.reply(text, stop=stop, on_text=self._pending.append)

        deliver(self, self.Replied, reply)

    @on(Replied)
    async def _replied(self, event: Replied) -> None:
        await self._finish_reply(event.result if event.error is None else None, event.error)

    def _drain(self) -> str:
        pieces = []
        pending = self._pending
        while True:
            try:
                pieces.append(pending.popleft())
            except IndexError:
                break
        return "".join(pieces)

    async def _flush(self) -> None:
        """Timer: move what the generating thread produced into the Markdown (when the pacer says so),
        refresh the meter a few times a second, and show load progress."""
        if self._load_cancel is not None:
            self.query_one("#chat-load-bar", ProgressBar).update(progress=self._load_fraction)
        chunk = self._drain()
        if chunk:
            self._reply_text.append(chunk)
            self._unflushed.append(chunk)
        now = time.monotonic()
        if self._unflushed and self._reply_view is not None and self._pacer.due(now):
            text, self._unflushed = "".join(self._unflushed), []
            await self._reply_view.append(text)
            self._pacer.flushed(now)
        if self._generating and now - self._last_meter >= 1 / METER_HZ and self.session is not None:
            self._last_meter = now
            self._show_rate(self.session.live)

    def _show_rate(self, live) -> None:
        """The meter: the reply's rate so far as the figure, the rate since the last look on the sparkline."""
        rate = live.tokens_per_s
        n_tokens, t_last = live.n_tokens, live.t_last
        n_before, t_before = self._meter_mark
        recent = (n_tokens - n_before) / (t_last - t_before) if t_last > t_before and n_before else None
        self._meter_mark = (n_tokens, t_last)
        if rate > 0:
            self.displayed_tokens_per_s.append(rate)
            self.query_one(RateMeter).record(rate, recent)

    async def _finish_reply(self, reply, error: BaseException | None) -> None:
        chunk = self._drain()
        if chunk:
            self._reply_text.append(chunk)
        self._unflushed = []
        text = reply.text if reply is not None else "".join(self._reply_text)
        if self._reply_view is not None:  # one final full render
            await self._reply_view.update(self._reply_prefix + text if text else self._reply_prefix + "_(no reply)_")
        self._generating = False
        self._stop = None
        self._flush_timer.pause()
        self.last_reply = text
        stats_box = self.query_one("#chat-stats", Static)
        if error is not None:
            stats_box.update(Text(str(error), "bold red"))
            self.notify(str(error), severity="error", title="Chat")
        elif reply is not None:
            self.last_stats = reply.stats
            line = reply_stats_line(reply.stats)
            stats_box.update(line)
            final = reply.stats.stream_tokens_per_s  # the live figure's definition, over the whole reply
            if final > 0:
                self.query_one(RateMeter).record(final)
                self.displayed_tokens_per_s.append(final)
            if reply.notice:
                self.notify(reply.notice, severity="warning", title="Chat")
        self.post_message(ReplyFinished(text, reply.stats if reply is not None else None, error))
        self.refresh_bindings()

    def action_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    # -- other actions ---------------------------------------------------------------------

    def action_new_chat(self) -> None:
        if self._generating or self.session is None:
            return
        self.session.clear()
        self.query_one("#chat-log", VerticalScroll).remove_children()
        self.query_one("#chat-stats", Static).update("")
        self.query_one(RateMeter).reset()
        self.last_reply = ""
        self.refresh_bindings()

    def action_copy_reply(self) -> None:
        if self.last_reply:
            self.app.copy_to_clipboard(self.last_reply)
            self.notify("Last reply copied (OSC 52)", timeout=3)

    def action_chat_settings(self) -> None:
        from tui.screens.chat_settings import ChatSettingsScreen

        def chosen(result) -> None:
            if result is None:
                return
            self.system_prompt, self.sampling = result
            if self.session is not None:
                self.session.system_prompt = self.system_prompt
                self.session.sampling = self.sampling
            self.notify("Chat settings applied to the next reply", timeout=3)

        self.app.push_screen(ChatSettingsScreen(self.system_prompt, self.sampling or self.app.services.default_sampling()),
                             chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self._generating
        if action == "cancel_load":
            return self._load_cancel is not None
        if action == "copy_reply":
            return bool(self.last_reply)
        if action == "new_chat":
            return self.session is not None and not self._generating
        if action == "reload":
            return self.app.model is not None and self.app.model.is_local and self._load_cancel is None
        return True

    # -- memory ----------------------------------------------------------------------------

    def _sample_memory(self) -> None:
        if self.engine is not None:
            self.run_worker(self._read_memory, thread=True, exclusive=True, group="chat-memory", exit_on_error=False)

    def _read_memory(self) -> None:
        deliver(self, self.MemorySampled, self.app.services.memory_use)

    @on(MemorySampled)
    def _memory_sampled(self, event: MemorySampled) -> None:
        if event.error is not None:
            return  # the next sample (a second later) tries again; the figure just stays
        use = event.result
        parts = [f"RAM {format_size(use.rss_bytes)}"]
        parts += [f"GPU{g.index} {format_size(g.process_bytes or g.used_bytes)}" for g in use.gpus]
        self.query_one("#chat-memory", Label).update(" · ".join(parts))

    def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()
