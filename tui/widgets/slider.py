"""A keyboard-first slider over a list of allowed values (context sizes, layer counts, ...).

Textual has no slider, and the ones people reach for are mouse-first. This one moves with the
arrow keys (one step), shift+arrows or page up/down (a big step, about a tenth of the range),
Home/End (and ``[``/``]`` where Home/End do not arrive, inside tmux), and accepts a typed number
(digits, then Enter; the nearest allowed value wins). Clicking or dragging the track is an extra.
Every move posts ``Slider.Changed`` with the new value.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


def nearest_index(values: Sequence[int], target: int) -> int:
    """Index of the allowed value closest to ``target`` (ties go to the smaller value)."""
    if not values:
        raise ValueError("a slider needs at least one value")
    position = bisect_left(values, target)
    if position <= 0:
        return 0
    if position >= len(values):
        return len(values) - 1
    before, after = values[position - 1], values[position]
    return position - 1 if target - before <= after - target else position


class Slider(Widget, can_focus=True):
    """Pick one of ``values`` (sorted integers) with the keyboard or the mouse."""

    DEFAULT_CSS = """
    Slider {
        height: 1;
        width: 1fr;
        min-width: 20;
        color: $text-muted;
    }
    Slider:focus {
        color: $text;
        background: $boost;
    }
    Slider > .slider--filled {
        color: $accent;
    }
    Slider > .slider--empty {
        color: $panel-lighten-2;
    }
    Slider > .slider--thumb {
        color: $text;
        text-style: bold;
    }
    Slider:focus > .slider--thumb {
        color: $accent-lighten-2;
    }
    Slider > .slider--typing {
        color: $warning;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {"slider--filled", "slider--empty", "slider--thumb", "slider--typing"}

    BINDINGS = [
        Binding("left", "step(-1)", "Less", show=False),
        Binding("right", "step(1)", "More", show=False),
        Binding("shift+left,pagedown", "big_step(-1)", "Much less", show=False),
        Binding("shift+right,pageup", "big_step(1)", "Much more", show=False),
        Binding("home,[", "first", "Minimum", show=False),
        Binding("end,]", "last", "Maximum", show=False),
    ]

    class Changed(Message):
        """The slider moved to ``value`` (one of its allowed values). ``typed`` is the number the person
        typed when that was not a stop (``value`` is then the nearest one), so the screen can say so."""

        def __init__(self, slider: Slider, value: int, typed: int | None = None) -> None:
            super().__init__()
            self.slider = slider
            self.value = value
            self.typed = typed

        @property
        def control(self) -> Slider:
            return self.slider

    index: reactive[int] = reactive(0, init=False)
    typed: reactive[str] = reactive("", init=False)

    def __init__(
        self,
        values: Sequence[int],
        value: int | None = None,
        *,
        label: str = "",
        label_width: int = 0,
        format_value: Callable[[int], str] = str,
        value_width: int = 0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._values: tuple[int, ...] = self._checked(values)
        self.label = label
        self.label_width = label_width or (len(label) + 1 if label else 0)
        self.format_value = format_value
        self.value_width = value_width
        self._typed_target: int | None = None  # a typed number that is not a stop, for the next Changed
        self.set_reactive(Slider.index, nearest_index(self._values, self._values[0] if value is None else value))

    @staticmethod
    def _checked(values: Sequence[int]) -> tuple[int, ...]:
        ordered = tuple(sorted(set(int(v) for v in values)))
        if not ordered:
            raise ValueError("a slider needs at least one value")
        return ordered

    # -- the value -------------------------------------------------------------------------

    @property
    def values(self) -> tuple[int, ...]:
        return self._values

    @property
    def value(self) -> int:
        return self._values[self.index]

    @value.setter
    def value(self, value: int) -> None:
        self.index = nearest_index(self._values, value)

    def set_values(self, values: Sequence[int], value: int | None = None) -> None:
        """Replace the allowed values (a new model), keeping the nearest position; no Changed message."""
        current = self.value if value is None else value
        self._values = self._checked(values)
        self.set_reactive(Slider.index, nearest_index(self._values, current))
        self.refresh()

    @property
    def big_step(self) -> int:
        """Steps per shift+arrow / page key: about a tenth of the range, at least one."""
        return max(1, round(len(self._values) / 10))

    def validate_index(self, index: int) -> int:
        return max(0, min(len(self._values) - 1, index))

    def watch_index(self, old: int, new: int) -> None:
        if old != new:
            typed, self._typed_target = self._typed_target, None
            self.post_message(self.Changed(self, self.value, typed if typed != self.value else None))

    # -- keys ------------------------------------------------------------------------------

    def action_step(self, direction: int) -> None:
        self.typed = ""
        self.index += direction

    def action_big_step(self, direction: int) -> None:
        self.typed = ""
        self.index += direction * self.big_step

    def action_first(self) -> None:
        self.typed = ""
        self.index = 0

    def action_last(self) -> None:
        self.typed = ""
        self.index = len(self._values) - 1

    def on_key(self, event: events.Key) -> None:
        """Typing a number: digits collect, Enter jumps to the nearest value, Escape forgets them."""
        if event.character and event.character.isdigit() and len(self.typed) < 9:
            self.typed += event.character
        elif event.key == "backspace" and self.typed:
            self.typed = self.typed[:-1]
        elif event.key == "enter" and self.typed:
            target = int(self.typed)
            self.typed = ""
            if target not in self._values:
                self._typed_target = target
                if self._values[nearest_index(self._values, target)] == self.value:
                    # Snapped back onto the current stop: no move, but the person should hear why.
                    self._typed_target = None
                    self.post_message(self.Changed(self, self.value, target))
            self.value = target
        elif event.key == "escape" and self.typed:
            self.typed = ""
        else:
            return
        event.stop()
        event.prevent_default()

    def on_blur(self) -> None:
        self.typed = ""

    # -- mouse (an extra) ------------------------------------------------------------------

    def _track_span(self) -> tuple[int, int]:
        """First cell and width of the track, in widget coordinates."""
        start = self.label_width
        value_width = self._value_width()
        width = max(1, self.size.width - start - value_width - 1)
        return start, width

    def _index_at(self, x: int) -> int:
        start, width = self._track_span()
        if len(self._values) == 1 or width <= 1:
            return 0
        fraction = (x - start) / (width - 1)
        return self.validate_index(round(fraction * (len(self._values) - 1)))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.capture_mouse()
        self.focus()
        self.typed = ""
        self.index = self._index_at(event.x)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.app.mouse_captured is self:
            self.index = self._index_at(event.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()

    # -- drawing ---------------------------------------------------------------------------

    def _value_width(self) -> int:
        widest = max(len(self.format_value(self._values[0])), len(self.format_value(self._values[-1])))
        return max(self.value_width, widest, len(self.typed) + 1)

    def render(self) -> Text:
        start, width = self._track_span()
        filled_style = self.get_component_rich_style("slider--filled")
        empty_style = self.get_component_rich_style("slider--empty")
        thumb_style = self.get_component_rich_style("slider--thumb")
        typing_style = self.get_component_rich_style("slider--typing")
        last = len(self._values) - 1
        thumb = 0 if last == 0 else round(self.index / last * (width - 1))
        text = Text(no_wrap=True, overflow="crop")
        if self.label_width:
            text.append(self.label[: self.label_width - 1].ljust(self.label_width))
        text.append("━" * thumb, filled_style)
        text.append("●", thumb_style)
        text.append("─" * (width - thumb - 1), empty_style)
        text.append(" ")
        if self.typed:
            text.append((self.typed + "▏").rjust(self._value_width()), typing_style)
        else:
            text.append(self.format_value(self.value).rjust(self._value_width()), thumb_style)
        return text
