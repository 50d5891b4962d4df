"""The Slider in a tiny host app: keys, typed numbers, mouse, and the Changed messages it posts."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.widgets.slider import Slider, nearest_index

CONTEXTS = [512, 1024, 2048, 4096, 8192, 16384, 32768]


class SliderHost(App):
    def __init__(self, values, value) -> None:
        super().__init__()
        self.values = values
        self.start = value
        self.changes: list[int] = []

    def compose(self) -> ComposeResult:
        yield Slider(self.values, self.start, label="Context", format_value=str)

    def on_slider_changed(self, event: Slider.Changed) -> None:
        self.changes.append(event.value)


def test_nearest_index_snaps_to_closest_value():
    assert nearest_index(CONTEXTS, 0) == 0
    assert nearest_index(CONTEXTS, 3000) == 2  # 2048 is closer than 4096
    assert nearest_index(CONTEXTS, 3100) == 3
    assert nearest_index(CONTEXTS, 10**9) == len(CONTEXTS) - 1
    with pytest.raises(ValueError):
        nearest_index([], 1)


async def test_arrows_home_end_and_big_steps_post_changed():
    app = SliderHost(list(range(0, 101)), 50)
    async with app.run_test(size=(60, 3)) as pilot:
        slider = app.query_one(Slider)
        slider.focus()
        await pilot.press("right", "right", "left")
        assert slider.value == 51
        await pilot.press("shift+right")
        assert slider.value == 61  # a tenth of 101 values, rounded
        await pilot.press("pagedown")
        assert slider.value == 51
        await pilot.press("end")
        assert slider.value == 100
        await pilot.press("right")  # clamps at the end
        assert slider.value == 100
        await pilot.press("home")
        assert slider.value == 0
        await pilot.press("]")  # the tmux-proof alias for End
        assert slider.value == 100
        await pilot.pause()
        assert app.changes == [51, 52, 51, 61, 51, 100, 0, 100]


async def test_typing_a_number_jumps_to_the_nearest_allowed_value():
    app = SliderHost(CONTEXTS, 4096)
    async with app.run_test(size=(60, 3)) as pilot:
        slider = app.query_one(Slider)
        slider.focus()
        await pilot.press("1", "0", "0", "0", "0")
        assert slider.typed == "10000"
        assert "10000" in str(slider.render())
        await pilot.press("enter")
        assert slider.value == 8192
        await pilot.press("9", "escape")  # escape forgets the digits, value stays
        assert slider.typed == "" and slider.value == 8192
        await pilot.press("3", "backspace", "5", "1", "2", "enter")
        assert slider.value == 512
        await pilot.pause()
        assert app.changes == [8192, 512]


async def test_clicking_and_dragging_the_track_moves_the_value():
    app = SliderHost(list(range(0, 11)), 5)
    async with app.run_test(size=(40, 3)) as pilot:
        slider = app.query_one(Slider)
        start, width = slider._track_span()
        await pilot.click(Slider, offset=(start, 0))
        assert slider.value == 0
        await pilot.click(Slider, offset=(start + width - 1, 0))
        assert slider.value == 10
        assert slider.has_focus


async def test_set_values_keeps_the_nearest_position_without_a_message():
    app = SliderHost(CONTEXTS, 8192)
    async with app.run_test(size=(60, 3)) as pilot:
        slider = app.query_one(Slider)
        slider.set_values([512, 1024, 2048], None)
        await pilot.pause()
        assert slider.value == 2048
        assert app.changes == []


async def test_render_shows_label_thumb_and_value():
    app = SliderHost(CONTEXTS, 512)
    async with app.run_test(size=(50, 3)):
        text = str(app.query_one(Slider).render())
        assert text.startswith("Context ●")
        assert text.rstrip().endswith("512")
        assert len(text) == 50
