"""The one-line header on every screen: app name, where you are, and the hardware you size for.

The chosen profile is in every header so "fits" never reads without "on what".
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.core.hardware.devices import HardwareProfile
from tui.core.safe_text import one_line
from tui.units import format_gib

#: What the header says before any profile is chosen (the profile screen says "pick one below" instead).
NO_PROFILE_TEXT = "no hardware profile yet (F2)"


def describe_profile(profile: HardwareProfile | None, empty_text: str = NO_PROFILE_TEXT,
                     compact: bool = False) -> str:
    """``RTX 4090 24.0 GiB + 64.0 GiB RAM``, ``2× RTX 3090 ...``, ``office box · CPU only, 16.0 GiB RAM``.

    ``compact`` (narrow terminals): ``RTX 4090 24G + 64G RAM``.
    """
    if profile is None:
        return empty_text

    def size(n_bytes: int) -> str:
        return f"{n_bytes / 2**30:.0f}G" if compact else f"{format_gib(n_bytes)} GiB"

    if profile.boxes:  # the head, then how many helper boxes lend it their memory
        from tui.core.hardware.boxes import attach_boxes

        head = describe_profile(attach_boxes(profile, ()), empty_text, compact)
        lent = sum(g.vram_bytes for g in profile.gpus if g.is_remote)
        count = len(profile.boxes)
        return f"{head} + {count} box{'es' if count > 1 else ''} ({size(lent)})"
    ram = f"{size(profile.ram_bytes)} RAM"
    if profile.is_cpu_only:
        if compact or "cpu" in profile.name.lower():
            return f"{profile.name}, {ram}" if not compact else f"CPU only, {ram}"
        return f"{profile.name} · CPU only, {ram}"
    names: dict[str, int] = {}
    for gpu in profile.gpus:
        key = f"{gpu.name} {size(gpu.vram_bytes)}"
        names[key] = names.get(key, 0) + 1
    gpus = " + ".join(f"{n}× {key}" if n > 1 else key for key, n in names.items())
    if profile.unified_memory:
        return f"{gpus} (unified), {ram}"
    return f"{gpus} + {ram}"


class ProfileHeader(Widget):
    """``localai-tui │ Fit │ model ... │ RTX 4090 24.0 GiB + 64.0 GiB RAM``."""

    DEFAULT_CSS = """
    ProfileHeader {
        dock: top;
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text;
    }
    ProfileHeader > .profile-header--app { color: $accent; text-style: bold; }
    ProfileHeader > .profile-header--where { text-style: bold; }
    ProfileHeader > .profile-header--model { color: $text-muted; }
    ProfileHeader > .profile-header--profile { color: $secondary; }
    """

    COMPONENT_CLASSES = {
        "profile-header--app",
        "profile-header--where",
        "profile-header--model",
        "profile-header--profile",
    }

    where: reactive[str] = reactive("")
    model_title: reactive[str] = reactive("")
    profile: reactive[HardwareProfile | None] = reactive(None)

    def __init__(self, where: str = "", *, empty_text: str = NO_PROFILE_TEXT, name=None, id=None, classes=None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(ProfileHeader.where, where)
        self.empty_text = empty_text

    def on_mount(self) -> None:
        # Follow the app's choices, so every screen's header stays true without being told.
        app = self.app
        if hasattr(app, "profile"):
            self.watch(app, "profile", self._show_profile)
        if hasattr(app, "model"):
            self.watch(app, "model", self._show_model)

    def _show_profile(self, profile: HardwareProfile | None) -> None:
        self.profile = profile

    def _show_model(self, model) -> None:
        self.model_title = one_line(model.title) if model is not None else ""

    def render(self) -> Text:
        width = self.size.width
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(" localai-tui", self.get_component_rich_style("profile-header--app"))
        if self.where:
            left.append(" │ ")
            left.append(self.where, self.get_component_rich_style("profile-header--where"))
        profile_text = describe_profile(self.profile, self.empty_text)
        if left.cell_len + len(profile_text) + 2 > width or (self.model_title and width < 100):
            profile_text = describe_profile(self.profile, self.empty_text, compact=True)
        right = Text(profile_text + " ", self.get_component_rich_style("profile-header--profile"))
        if self.model_title:
            middle_room = width - left.cell_len - right.cell_len - 4  # " │ " and one space before the profile
            if middle_room > 8:
                model = self.model_title
                if len(model) > middle_room:
                    model = model[: middle_room - 1] + "…"
                left.append(" │ ")
                left.append(model, self.get_component_rich_style("profile-header--model"))
        gap = width - left.cell_len - right.cell_len
        if gap < 1:
            right.truncate(max(0, width - left.cell_len - 1), overflow="ellipsis")
            gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
