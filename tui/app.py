"""The Textual app: its five modes (profile, browse, fit, chat, advisor), app-wide keys, theme and stylesheet.

The app holds what the person chose (``profile``, ``model``, ``settings``) as reactives that the
screens watch; the screens present the domain layer (``tui.core``) and decide nothing themselves.
Heavy libraries (llama_cpp, huggingface_hub) are imported inside workers, so the first screen
paints fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from importlib import resources
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme

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
    ) -> None:
        self.services = services or Services()
        self.start_model = model
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
        if settings is not None:  # flags typed on the command line (``chat MODEL -c 8192 ...``)
            self.set_reactive(LocalAIApp.settings, settings)
        self.register_theme(LOCALAI_THEME)
        self.theme = "localai"

    def on_mount(self) -> None:
        if self._given_profile is not None:
            self.profile = self._given_profile
        elif self.current_mode != "profile":
            # The remembered profile (or this box) resolves in a thread: NVML may take a moment.
            self.load_profile()

    # -- choices (the screens call these; the reactives tell every header) -----------------

    def choose_profile(self, profile: HardwareProfile) -> None:
        self.profile = profile

    def choose_model(self, model: ChosenModel, *, go_to: str | None = "fit") -> None:
        self.model = model
        if go_to:
            self.switch_mode(go_to)

    def update_settings(self, settings: LlamaSettings) -> None:
        self.settings = settings

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
        if action == "switch_mode" and parameters and parameters[0] == self.current_mode:
            return None  # shown dimmed: you are already there
        return True

    # -- command palette: every action by name ---------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not isinstance(active.node, (Screen, App)):
                continue  # a widget's own keys (cursor moves, text editing) are not app actions
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            help_text = binding.tooltip or f"key: {key}"
            namespace = active.node
            yield SystemCommand(binding.description, help_text, partial(self._run_bound_action, namespace, binding.action))
        for mode, title in MODE_TITLES.items():
            if f"switch_mode('{mode}')" not in seen:
                yield SystemCommand(f"Go to {title}", f"Switch to the {title} screen", partial(self.switch_mode, mode))
        yield from super().get_system_commands(screen)

    async def _run_bound_action(self, namespace, action: str) -> None:
        await self.run_action(action, namespace)


#: Set to 0 to leave the mouse to the terminal (select and paste as usual; every action has a key).
MOUSE_ENV = "LOCALAI_TUI_MOUSE"


def run_app(model: str | None = None, open_chat: bool = False, settings: LlamaSettings | None = None) -> int:
    """Run the TUI until the person quits; returns the process exit code."""
    import os

    app = LocalAIApp(model=model, open_chat=open_chat, settings=settings)
    result = app.run(mouse=os.environ.get(MOUSE_ENV, "1") != "0")
    return int(result or app.return_code or 0)
