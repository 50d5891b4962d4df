"""The Textual app: its five modes (profile, browse, fit, chat, advisor), app-wide keys, theme and stylesheet.

The app holds what the person chose (``profile``, ``model``, ``settings``) as reactives that the
screens watch; the screens present the domain layer (``tui.core``) and decide nothing themselves.
Heavy libraries (llama_cpp, huggingface_hub) are imported inside workers, so the first screen
paints fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import partial
from importlib import resources
from pathlib import Path

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from tui.core.fit.model_settings import ModelSettingsStore
from tui.core.fit.settings import LlamaSettings
from tui.core.hardware.devices import HardwareProfile
from tui.services import Services
from tui.session import ChosenModel


def stylesheet_path() -> Path:
    """``tui.tcss``: inside the installed package (the wheel puts it at tui/tui.tcss), else the repo root."""
    try:
        packaged = resources.files("tui").joinpath("tui.tcss")
        if packaged.is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    return Path(__file__).resolve().parent.parent / "tui.tcss"


#: Colours picked from the xterm 256-colour cube, so the app looks the same without truecolor (SSH drops COLORTERM).
LOCALAI_THEME = Theme(
    name="localai",
    primary="#5f87d7",
    secondary="#87afaf",
    accent="#ffaf00",
    warning="#ffaf5f",
    error="#ff5f5f",
    success="#87d787",
    foreground="#d0d0d0",
    background="#1c1c1c",
    surface="#262626",
    panel="#303030",
    boost="#3a3a3a",
    dark=True,
)

#: Longest wait for a widget to handle one key before the next key of a burst is read (seconds).
KEY_SETTLE_S = 0.5

#: Pause after the last settings change before the model's settings are written (seconds).
SETTINGS_SAVE_DELAY_S = 1.0

#: Mode name -> what the header and the palette call it.
MODE_TITLES = {"profile": "GPU profile", "browse": "Browse models", "fit": "Fit", "chat": "Chat", "advisor": "Advisor"}


def _profile_screen():
    from tui.screens.profile import ProfileScreen

    return ProfileScreen()


def _browse_screen():
    from tui.screens.browse import BrowseScreen

    return BrowseScreen()


def _fit_screen():
    from tui.screens.fit import FitScreen

    return FitScreen()


def _chat_screen():
    from tui.screens.chat import ChatScreen

    return ChatScreen()


def _advisor_screen():
    from tui.screens.advisor import AdvisorScreen

    return AdvisorScreen()


class LocalAIApp(App[int]):
    """localai-tui: GPU profile -> browse Hugging Face by label -> fit sliders -> chat."""

    TITLE = "localai-tui"
    CSS_PATH = stylesheet_path()
    ENABLE_COMMAND_PALETTE = True
    MODES = {"profile": _profile_screen, "browse": _browse_screen, "fit": _fit_screen, "chat": _chat_screen,
             "advisor": _advisor_screen}

    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("f2", "switch_mode('profile')", "Go to GPU profile", id="go-profile", show=False),
        Binding("f3", "switch_mode('browse')", "Go to Browse", id="go-browse", show=False),
        Binding("f4", "switch_mode('fit')", "Go to Fit", id="go-fit", show=False),
        Binding("f5", "switch_mode('chat')", "Go to Chat", id="go-chat", show=False),
        Binding("f7", "switch_mode('advisor')", "Go to Advisor", id="go-advisor", show=False),
        Binding("f6,ctrl+l", "show_log", "Log", id="log", show=False),
        Binding("ctrl+q", "quit", "Quit", id="quit", show=False, priority=True),
        # Focus moves in the app's key loop (priority), so keys typed after Tab reach the next field.
        Binding("tab", "focus_next", "Next field", id="focus-next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Previous field", id="focus-previous", show=False, priority=True),
        Binding("enter", "submit_input", "Submit", id="submit-input", show=False, priority=True),
    ]

    profile: reactive[HardwareProfile | None] = reactive(None, init=False)
    model: reactive[ChosenModel | None] = reactive(None, init=False)
    settings: reactive[LlamaSettings] = reactive(LlamaSettings, init=False)

    def __init__(
        self,
        model: str | None = None,
        open_chat: bool = False,
        *,
        services: Services | None = None,
        profile: HardwareProfile | None = None,
        settings: LlamaSettings | None = None,
        resume: int | None = None,
    ) -> None:
        self.services = services or Services()
        self.start_model = model
        self.start_conversation = resume  # a saved conversation the chat screen opens (``chat --resume ID``)
        self.open_chat = open_chat
        self._given_profile = profile
        # The first mode is chosen before the app composes, so only that screen is built at startup.
        remembered = profile is not None or self.services.has_remembered_profile()
        if model and open_chat:
            first_mode = "chat"
        elif model:
            first_mode = "fit"
        elif not remembered:
            first_mode = "profile"
        else:
            first_mode = "browse"
        # Textual reads DEFAULT_MODE (a class variable) in App.__init__; this app's first mode depends on its arguments.
        self.DEFAULT_MODE = first_mode  # type: ignore[misc]
        super().__init__()
        # Flags typed on the command line (``chat MODEL -c 8192 ...``) win, for that model, this session.
        self._typed_settings = settings if model else None
        if settings is not None:
            self.set_reactive(LocalAIApp.settings, settings)
        self._model_settings: ModelSettingsStore | None = None  # read when the first model is chosen
        self._save_timer: Timer | None = None
        self.register_theme(LOCALAI_THEME)
        self.theme = "localai"

    def on_mount(self) -> None:
        if self._given_profile is not None:
            self.profile = self._given_profile
        elif self.current_mode != "profile":
            # The remembered profile (or this box) resolves in a thread: NVML may take a moment.
            self.load_profile()

    # -- keys ------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Route each key only after the key before it has taken effect (keys over SSH come in bursts).

        Textual hands a key to the widget focused when the app reads it and reads the next one at
        once. So that a burst reads as the same keys typed slowly: a key that moves focus acts here,
        in the app's own loop (a priority binding such as Tab and Enter in a text box, or a screen's
        ``focus_for_key``: typing on a table moves to its filter), and what a key sent to a widget is
        waited for, up the widget's ancestors to its screen, before the next key is read (at most
        ``KEY_SETTLE_S``: a busy widget never stalls the app).
        """
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        focus_for_key = getattr(self.screen, "focus_for_key", None)
        if focus_for_key is not None:
            focus_for_key(event)
        target = self.focused or self.screen
        await super().on_event(event)
        # The widget has the key (or a priority binding posted messages to it): let them be handled.
        await self._settle(target)

    def action_submit_input(self) -> None:
        """Enter in a text box submits what it holds now; ``on_event`` lets the screen act on it first."""
        if isinstance(self.focused, Input):
            self.focused.post_message(Input.Submitted(self.focused, self.focused.value))

    async def _settle(self, target: Widget) -> None:
        """Wait until ``target`` and each ancestor up to its screen has handled what it was sent so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KEY_SETTLE_S
        for node in target.ancestors_with_self:
            if node is self:
                break
            done: asyncio.Future[None] = loop.create_future()
            if not node.call_later(lambda done=done: done.done() or done.set_result(None)):
                break
            try:
                await asyncio.wait_for(done, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                break
            if isinstance(node, Screen):
                break

    # -- choices (the screens call these; the reactives tell every header) -----------------

    def choose_profile(self, profile: HardwareProfile) -> None:
        self.profile = profile

    def choose_model(self, model: ChosenModel, *, go_to: str | None = "fit") -> None:
        """Make ``model`` the current one, with its own settings: those typed on the command line
        for the model named there, else the ones remembered for it, else the defaults."""
        same = self.model is not None and self.model.settings_key == model.settings_key
        if not same:
            self._remember_settings()
            self.settings = self._settings_for(model)
        self.model = model
        if go_to:
            self.switch_mode(go_to)

    def _store(self) -> ModelSettingsStore:
        if self._model_settings is None:
            self._model_settings = ModelSettingsStore()
        return self._model_settings

    def _settings_for(self, model: ChosenModel) -> LlamaSettings:
        from tui.core.fit.model_settings import default_settings

        if self._typed_settings is not None:
            typed, self._typed_settings = self._typed_settings, None
            return typed
        remembered = self._store().get(model.settings_key)
        return remembered if remembered is not None else default_settings(model.anatomy.n_ctx_train)

    def update_settings(self, settings: LlamaSettings) -> None:
        """The current model's settings changed (Fit's sliders and keys): show them everywhere and
        remember them for this model (written a moment later, once the sliders rest)."""
        self.settings = settings
        if self.model is not None and self._store().put(self.model.settings_key, settings):
            if self._save_timer is not None:
                self._save_timer.stop()
            self._save_timer = self.set_timer(SETTINGS_SAVE_DELAY_S, self._save_settings)

    def _remember_settings(self) -> None:
        if self.model is not None and self._store().put(self.model.settings_key, self.settings):
            self._save_settings()

    def _save_settings(self) -> None:
        if self._model_settings is not None:
            self._model_settings.save()

    def on_unmount(self) -> None:
        self._remember_settings()
        self._save_settings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="profile")
    def load_profile(self) -> None:
        profile = self.services.load_selected_profile()
        self.call_from_thread(self._profile_loaded, profile)

    def _profile_loaded(self, profile: HardwareProfile) -> None:
        if self.profile is None:
            self.profile = profile

    # -- actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_show_log(self) -> None:
        from tui.screens.log import LogScreen

        if isinstance(self.screen, LogScreen):
            return
        self.push_screen(LogScreen(self.services.log_directory()))

    async def action_switch_mode(self, mode: str) -> None:
        # Leave any screen pushed on top (help, log, a repo's files) before changing mode.
        while len(self.screen_stack) > 1 and self.current_mode == mode:
            self.pop_screen()
        await self.switch_mode(mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit_input":
            return isinstance(self.focused, Input)
        if action == "switch_mode" and parameters and parameters[0] == self.current_mode:
            return None  # shown dimmed: you are already there
        return True

    # -- command palette: every action by name ---------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action of the screen and the app by name (those unavailable now say so), the
        screen's own ``palette_commands`` (its sliders, say), the modes, then Textual's own (once each)."""
        from tui.screens.help import screen_actions

        seen: set[str] = set()
        titles: set[str] = set()
        for action in screen_actions(screen):
            seen.add(action.action)
            titles.add(action.description)
            help_text = action.tooltip or f"key: {action.keys}"
            if not action.usable:
                help_text = f"{help_text} (not available now)"
            yield SystemCommand(action.description, help_text,
                                partial(self._run_bound_action, action.node, action.action))
        for title, help_text, callback in getattr(screen, "palette_commands", lambda: ())():
            titles.add(title)
            yield SystemCommand(title, help_text, callback)
        for mode, title in MODE_TITLES.items():
            if f"switch_mode('{mode}')" not in seen:
                titles.add(f"Go to {title}")
                yield SystemCommand(f"Go to {title}", f"Switch to the {title} screen", partial(self.switch_mode, mode))
        for command in super().get_system_commands(screen):
            if command.title not in titles:
                yield command

    async def _run_bound_action(self, namespace, action: str) -> None:
        await self.run_action(action, namespace)


#: Set to 0 to leave the mouse to the terminal (select and paste as usual; every action has a key).
MOUSE_ENV = "LOCALAI_TUI_MOUSE"


def run_app(model: str | None = None, open_chat: bool = False, settings: LlamaSettings | None = None,
            resume: int | None = None) -> int:
    """Run the TUI until the person quits; returns the process exit code."""
    import os

    app = LocalAIApp(model=model, open_chat=open_chat, settings=settings, resume=resume)
    result = app.run(mouse=os.environ.get(MOUSE_ENV, "1") != "0")
    return int(result or app.return_code or 0)
