"""Step 4, Chat: load the model in-process, then stream replies as Markdown with a live tokens/s meter.

The screen wires three parts and decides nothing itself: ``EngineHolder`` (tui/chat_engine.py)
owns the load/close life cycle, ``ChatStream`` (tui/widgets/chat_stream.py) the turns, the pacing
and the meter, and ``ConversationRecorder`` (tui/core/chats) saves each turn as it streams.
Loads and replies run in thread workers that post typed messages back; the event loop never waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar, Static

from tui.chat_engine import EngineHolder, LoadedEngine
from tui.core.safe_text import one_line, printable
from tui.messages import ModelOpened, Outcome, ReplyFinished, deliver
from tui.screens.base import AppScreen
from tui.screens.focus import focus_now
from tui.screens.open_model import open_model_spec
from tui.session import ChosenModel
from tui.units import format_context, format_duration
from tui.widgets.chat_stream import ChatStream, reply_stats_line
from tui.widgets.prompt_area import PromptArea

__all__ = ["ChatScreen", "reply_stats_line"]

#: The actions whose availability ``check_action`` decides (the rest are always on).
DYNAMIC_ACTIONS = ("stop", "cancel_load", "copy", "regenerate", "edit_last", "new_chat", "reload")


class ChatScreen(AppScreen):
    """The conversation above, the meter and the prompt below."""

    WHERE = "Chat"
    #: Keys the message box handles for this screen (F1 lists them with the bindings).
    EXTRA_KEYS = (("enter", "send the message"),)
    BINDINGS = [
        Binding("escape,ctrl+c", "stop", "Stop", id="chat-stop", priority=True,
                tooltip="Stop the reply (ctrl+c too: tmux holds a lone escape for escape-time)"),
        Binding("ctrl+n", "new_chat", "New chat", id="chat-new"),
        Binding("ctrl+s", "chats", "Chats", id="chat-list", tooltip="Saved conversations: open, rename, delete, export"),
        Binding("ctrl+g", "regenerate", "Regenerate", id="chat-regenerate", tooltip="Answer the last message again"),
        Binding("ctrl+e", "edit_last", "Edit last", id="chat-edit",
                tooltip="Put your last message back in the box; enter sends it again (its reply is replaced)"),
        Binding("ctrl+y", "copy", "Copy…", id="chat-copy", tooltip="Copy a message or a code block (OSC 52)"),
        Binding("ctrl+t", "toggle_thinking", "Thinking", id="chat-thinking",
                tooltip="Show or fold a reasoning model's thinking"),
        # priority: the form opens in the app's key loop, so keys typed right after ctrl+o (one burst) fill it
        Binding("ctrl+o", "chat_settings", "Settings", id="chat-settings", priority=True,
                tooltip="System prompt and sampling (temperature, top-p, ...)"),
        Binding("ctrl+r", "reload", "Reload", id="chat-reload", tooltip="Load the model again with the Fit settings"),
        Binding("ctrl+x", "cancel_load", "Cancel load", id="chat-cancel-load"),
    ]

    class Loaded(Outcome[LoadedEngine]):
        """The load worker finished: the engine and what it was loaded with, or why not."""

    class Replied(Outcome[Any]):
        """The reply worker finished: the ``Reply``, or the error that ended it (the context needs room ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.holder = EngineHolder(self._load_engine)
        self.session: Any = None   # ChatSession
        self.recorder: Any = None  # ConversationRecorder
        self.system_prompt: str | None = None
        self.sampling: Any = None
        self._stop: threading.Event | None = None
        self._sent_text = ""  # the message of the reply in flight (the context-full question resends it)
        self._open_after_load: int | None = None
        self._bindings_state: tuple[bool | None, ...] | None = None

    # -- what tests and the benchmark read --------------------------------------------------

    @property
    def stream(self) -> ChatStream:
        return self.query_one(ChatStream)

    @property
    def engine(self) -> Any:
        return self.holder.engine

    @property
    def loaded_model(self) -> ChosenModel | None:
        return self.holder.current.model if self.holder.current else None

    @property
    def loaded_settings(self) -> Any:
        return self.holder.current.settings if self.holder.current else None

    @property
    def generating(self) -> bool:
        return self._stop is not None

    @property
    def last_reply(self) -> str:
        return self.stream.last_reply

    @property
    def last_stats(self) -> Any:
        return self.stream.last_stats

    # -- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static("", id="chat-status")
        with Horizontal(id="chat-load-row"):
            yield ProgressBar(id="chat-load-bar", total=1.0, show_eta=False)
            yield Label(" loading…", id="chat-load-label")
        yield ChatStream(sample_memory=self.app.services.memory_use, context_use=self._context_use, id="chat-stream")
        yield PromptArea(placeholder="Message (enter sends, ctrl+j new line, escape stops)", id="chat-input",
                         disabled=True)

    def on_mount(self) -> None:
        self.query_one("#chat-load-row").display = False
        self._load_timer = self.set_interval(0.1, self._show_load_progress, name="chat-load-progress", pause=True)
        self.watch(self.app, "model", self._model_changed)
        self._open_after_load = self.app.start_conversation
        self.app.start_conversation = None
        if self.app.model is None and self.app.start_model:
            spec, self.app.start_model = self.app.start_model, None
            self._read_model(spec)

    def _load_engine(self, path: Any, settings: Any, **options: Any) -> Any:
        """Threads not chosen in the settings: one core is left to this UI on a small box when the
        model decodes fast (``interactive_thread_count``). Runs in the load worker."""
        from tui.core.fit.settings import LlamaSettings

        if isinstance(settings, LlamaSettings) and settings.n_threads is None:
            from dataclasses import replace

            from tui.core.engine.params import interactive_thread_count

            settings = replace(settings, n_threads=interactive_thread_count(
                est_tokens_per_s=self.app.services.estimated_tokens_per_s(path, settings)))
        return self.app.services.load_engine(path, settings, **options)

    def _context_use(self) -> tuple[int, int] | None:
        return self.session.context_used() if self.session is not None else None

    def _status(self, text: Text | str) -> None:
        self.query_one("#chat-status", Static).update(text)

    @property
    def _input(self) -> PromptArea:
        return self.query_one("#chat-input", PromptArea)

    # -- loading ---------------------------------------------------------------------------

    def _read_model(self, spec: str) -> None:
        self._status(Text(f"Reading {one_line(spec)}…"))
        open_model_spec(self, spec)

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        if event.error is None:
            self.app.choose_model(event.result, go_to=None)
        else:
            self._status(Text.assemble(("Could not open the model: ", "bold red"), printable(str(event.error))))
            self.notify(str(event.error), severity="error", title="Open model")

    def on_screen_resume(self) -> None:
        """Back from Fit with other settings (context, cache types, ...): load again with those."""
        model = self.app.model
        if model is None or model != self.loaded_model or self.engine is None:
            return
        if self.app.settings != self.loaded_settings and not self.generating and not self.holder.loading:
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
        if self.generating:
            self.action_stop()
        cancel = self.app.work_event(self.holder.start())  # quitting cancels the load too
        self.query_one("#chat-load-row").display = True
        self._input.disabled = True
        self._status(Text.assemble("Loading ", (model.title, "bold"), "…"))
        self._load_timer.resume()
        self._load(model, self.app.settings, cancel)
        self._update_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-load")
    def _load(self, model: ChosenModel, settings: Any, cancel: threading.Event) -> None:
        deliver(self, self.Loaded, lambda: self.holder.load(model, settings, cancel))

    def _show_load_progress(self) -> None:
        self.query_one("#chat-load-bar", ProgressBar).update(progress=self.holder.fraction)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self._load_timer.pause()
        self.query_one("#chat-load-row").display = False
        if message.error is not None:
            self.holder.failed()
            error = message.error
            from tui.core.engine.errors import LoadCancelledError

            if isinstance(error, LoadCancelledError):  # asked for (ctrl+x): not an error
                self._status(Text("Loading cancelled. ctrl+r loads the model again; F4 changes its settings first."))
                self.notify("Load cancelled", timeout=3)
            else:
                self._status(Text.assemble(("Could not load the model: ", "bold red"), printable(str(error)),
                                           "\nF4 changes the settings, ctrl+r tries again, F6 shows llama.cpp's log."))
                self.notify(str(error), severity="error", title="Load")
            self._update_bindings()
            return
        loaded = message.result
        self.holder.adopt(loaded)
        services = self.app.services
        history = self.session.messages if self.session is not None else []
        self.session = services.chat_session(loaded.engine, self.system_prompt, self.sampling)
        self.session.restore(history)  # a reload keeps the conversation
        if self.recorder is None:
            self._new_recorder()
        else:
            self.recorder.model, self.recorder.model_path = loaded.model.spec, str(loaded.model.local_path)
        info = loaded.engine.info()
        template = "chat template" if info.has_chat_template else "no chat template: it continues your text"
        self._status(Text.assemble(
            (loaded.model.title, "bold"), f" · {info.architecture} · ctx {format_context(info.n_ctx)}",
            f" · {info.n_threads} threads · loaded in {format_duration(info.load_seconds)} · {template}",
        ))
        self._input.disabled = False
        focus_now(self._input)
        self.stream.set_memory_active(True)
        self.stream.show_context()
        if self._open_after_load is not None:
            conversation_id, self._open_after_load = self._open_after_load, None
            self.open_conversation(conversation_id)
        self._update_bindings()

    def _new_recorder(self, conversation: Any = None) -> None:
        from tui.core.chats.recorder import ConversationRecorder, settings_record

        current = self.holder.current
        assert current is not None
        self.recorder = ConversationRecorder(
            self.app.services.chat_store(), model=current.model.spec, model_path=str(current.model.local_path),
            settings=settings_record(current.settings, self.session.sampling), system_prompt=self.system_prompt,
            conversation=conversation)

    def action_cancel_load(self) -> None:
        self.holder.cancel_load()

    def action_reload(self) -> None:
        if self.app.model is not None and self.app.model.is_local:
            self.load(self.app.model)

    # -- sending and streaming -------------------------------------------------------------

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """"Send the message" for the command palette (enter in the message box does the same)."""
        box = self._input
        yield ("Send the message", "What enter in the message box does",
               lambda: box.post_message(PromptArea.Submitted(box, box.value)))

    @on(PromptArea.Submitted, "#chat-input")
    def _submitted(self, event: PromptArea.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.session is None:
            self.notify("No model is loaded yet: wait for the load, or pick one on the Fit screen (F4).",
                        severity="warning", title="Chat")
            return
        if self.generating:
            return
        event.area.value = ""
        self.send(text)

    def _plain(self) -> bool:
        return self.engine is not None and not self.engine.info().has_chat_template

    def send(self, text: str, *, make_room: bool = False) -> None:
        """Show the user's turn, open an empty reply and start generating in a worker."""
        title = self.loaded_model.title if self.loaded_model is not None else "model"
        sink = self.stream.begin_reply(text, title, self._plain(), self.session.live)
        self._stop = self.app.work_event()  # quitting stops the reply (and its template render) too
        self._sent_text = text
        self._update_bindings()
        # The new turns and the footer are laid out and drawn first, then generation starts: on a
        # small box that frame would otherwise take CPU from the engine while the first tokens stream.
        # (twice: the footer recomposes after the first refresh, and is laid out in the second).
        stop = self._stop
        self.call_after_refresh(self.call_after_refresh, self._reply, text, stop, sink, make_room)

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-reply")
    def _reply(self, text: str, stop: threading.Event, sink: Any, make_room: bool) -> None:
        deliver(self, self.Replied, lambda: self.recorder.reply(
            self.session, text, stop=stop, on_text=sink.answer.append, on_thinking=sink.thinking.append,
            make_room=make_room))

    @on(Replied)
    async def _replied(self, message: Replied) -> None:
        from tui.core.engine.errors import ContextNeedsRoomError

        self._stop = None
        if isinstance(message.error, ContextNeedsRoomError):
            self.stream.abandon_reply()
            self._ask_for_room(self._sent_text, message.error)
            self._update_bindings()
            return
        error = message.error
        reply = message.result if error is None else None
        text = await self.stream.finish_reply(reply, error)
        if error is not None:
            self.notify(str(error), severity="error", title="Chat")
        elif reply is not None and reply.notice and not reply.n_dropped_messages:
            self.notify(reply.notice, severity="warning", title="Chat")
        self.post_message(ReplyFinished(text, reply.stats if reply is not None else None, error))
        self._update_bindings()

    def _ask_for_room(self, text: str, error: Any) -> None:
        from tui.screens.chat_dialogs import DROP_OLDEST, NEW_CHAT, ContextFullScreen

        def chosen(choice: str | None) -> None:
            if choice == NEW_CHAT:
                self.action_new_chat()
                self.send(text)
            elif choice == DROP_OLDEST:
                self.stream.show_marker(f"the {error.n_droppable} oldest messages above are left out of the "
                                        "model's context from here on")
                self.send(text, make_room=True)
            else:
                self._input.value = text
                focus_now(self._input)

        self.app.push_screen(ContextFullScreen(error.n_droppable, error.n_ctx), chosen)

    def action_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    # -- conversations ---------------------------------------------------------------------

    def action_new_chat(self) -> None:
        if self.generating or self.session is None:
            return
        self.session.clear()
        self.stream.clear()
        self._new_recorder()
        self.stream.show_context()
        self._update_bindings()

    def action_chats(self) -> None:
        from tui.screens.chats import ChatsScreen

        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.open_conversation(conversation_id)

        self.app.push_screen(ChatsScreen(self.app.services.chat_store()), chosen)

    def open_conversation(self, conversation_id: int) -> None:
        """Show a saved conversation and continue it with the loaded model."""
        from tui.core.chats.recorder import session_messages
        from tui.core.errors import LocalAIError

        if self.generating:
            return
        try:
            conversation = self.app.services.chat_store().load(conversation_id)
        except LocalAIError as exc:
            self.notify(str(exc), severity="error", title="Chats")
            return
        if self.session is None:  # no model yet: open it once one is loaded
            self._open_after_load = conversation_id
            if self.app.model is None and conversation.model_path:
                self._read_model(conversation.model_path)
            return
        self.session.clear()
        self.session.restore(session_messages(conversation))
        if conversation.system_prompt is not None:
            self.system_prompt = self.session.system_prompt = conversation.system_prompt
        self._new_recorder(conversation)
        stream = self.stream
        stream.clear()
        title = self.loaded_model.title if self.loaded_model is not None else conversation.summary.model
        stream.show_history(conversation.messages, title, self._plain())
        stream.show_marker(f"conversation {conversation.id} “{conversation.summary.title}” resumed")
        loaded = self.loaded_model
        assert loaded is not None  # a session exists only once a model is loaded
        if conversation.summary.model != loaded.spec:
            self.notify(f"Saved with {conversation.summary.model}; continuing with {loaded.title}",
                        title="Chats", timeout=5)
        stream.show_context()
        focus_now(self._input)
        self._update_bindings()

    def _take_back_last_exchange(self) -> str | None:
        """Drop the last exchange from the session, the store and the screen; the user's text, or None."""
        if self.generating or self.session is None:
            return None
        text = self.recorder.take_back_last_turn(self.session)
        if text is not None:
            self.stream.take_back_last_exchange()
        return text

    def action_regenerate(self) -> None:
        text = self._take_back_last_exchange()
        if text is not None:
            self.send(text)

    def action_edit_last(self) -> None:
        text = self._take_back_last_exchange()
        if text is None:
            return
        self._input.value = text
        focus_now(self._input)
        self.notify("Your last message is back in the box: edit it, enter sends it again.", timeout=4)
        self._update_bindings()

    def action_copy(self) -> None:
        from tui.screens.chat_dialogs import CopyScreen, copyables

        if self.session is None or not self.session.messages:
            return
        title = self.loaded_model.title if self.loaded_model is not None else "model"
        items = copyables([("You" if m.role == "user" else title, m.content) for m in self.session.messages])

        def chosen(text: str | None) -> None:
            if text:
                self.app.copy_to_clipboard(text)
                self.notify("Copied (OSC 52)", timeout=3)

        self.app.push_screen(CopyScreen(items), chosen)

    def action_toggle_thinking(self) -> None:
        folded = self.stream.toggle_thinking()
        self.notify("Thinking folded" if folded else "Thinking shown", timeout=2)

    async def action_chat_settings(self) -> None:
        """Open the form and wait until it is mounted and focused: keys typed right after ctrl+o fill it."""
        from tui.screens.chat_settings import ChatSettingsScreen

        def chosen(result: Any) -> None:
            if result is None:
                return
            self.system_prompt, self.sampling = result
            if self.session is not None:
                self.session.system_prompt = self.system_prompt
                self.session.sampling = self.sampling
            self.notify("Chat settings applied to the next reply", timeout=3)

        await self.app.push_screen(
            ChatSettingsScreen(self.system_prompt, self.sampling or self.app.services.default_sampling()), chosen)

    def _update_bindings(self) -> None:
        """Refresh the footer only when an action's availability changed: each refresh makes Textual's
        Footer recompose every key (a layout and restyle of its own), which a reply or an opened
        conversation would otherwise pay for with nothing changed."""
        state = tuple(self.check_action(action, ()) for action in DYNAMIC_ACTIONS)
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        has_turns = self.session is not None and bool(self.session.messages) and not self.generating
        if action == "stop":
            return self.generating
        if action == "cancel_load":
            return self.holder.loading
        if action in ("copy", "regenerate", "edit_last"):
            return has_turns
        if action == "new_chat":
            return self.session is not None and not self.generating
        if action == "reload":
            loading = self.holder.loading
            return self.app.model is not None and self.app.model.is_local and not loading
        return True

    def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()
