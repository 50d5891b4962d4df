"""The shared vocabularies between layers: ``Verdict`` (one set of words, one style map) and the
typed ``Outcome`` messages workers hand back (``deliver``), and the app's download going the CLI's way."""

from __future__ import annotations

import json
import threading

import pytest
from textual import on, work
from textual.app import App

from tui.core.fit.verdict import Verdict
from tui.messages import Outcome, deliver
from tui.widgets.verdict_style import VERDICT_BAR_COLOURS, VERDICT_CLASSES, VERDICT_STYLES, verdict_style, verdict_text


def test_a_verdict_is_its_word_everywhere():
    assert [v.value for v in Verdict] == ["fits", "tight", "partial", "does not fit", "refused"]
    assert str(Verdict.NO_FIT) == f"{Verdict.NO_FIT}" == "does not fit" and f"{Verdict.FITS:>6}" == "  fits"
    assert json.dumps({"verdict": Verdict.TIGHT}) == '{"verdict": "tight"}'
    assert Verdict.NO_FIT == "does not fit" and {"does not fit": 1}[Verdict.NO_FIT] == 1
    assert Verdict.NO_FIT.short == "no-fit" and Verdict.PARTIAL.short == "partial"
    assert Verdict.parse("no-fit") is Verdict.parse("does not fit") is Verdict.NO_FIT and Verdict.parse("maybe") is None
    assert Verdict.worst([Verdict.FITS, Verdict.TIGHT]) is Verdict.TIGHT
    assert [v.runs for v in Verdict] == [True, True, True, False, False]


def test_every_verdict_has_one_style_for_every_screen():
    for table in (VERDICT_STYLES, VERDICT_BAR_COLOURS, VERDICT_CLASSES):
        assert set(table) == set(Verdict)
    assert verdict_style("no-fit") == verdict_style(Verdict.NO_FIT) == "red"
    assert verdict_style(Verdict.TIGHT, bold=True) == "bold yellow" and verdict_style("whatever") == ""
    text = verdict_text(Verdict.NO_FIT, short=True, suffix="*")
    assert text.plain == "no-fit*" and str(text.style) == "red"


class Answered(Outcome[int]):
    """The test worker's answer."""


class OutcomeApp(App[None]):
    """Two requests of one exclusive worker: the first is replaced while it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[int] = []
        self.errors: list[str] = []
        self.release = threading.Event()
        self.first_done = threading.Event()

    @work(thread=True, exclusive=True, exit_on_error=False, group="job")
    def ask(self, n: int, wait: bool) -> None:
        def compute() -> int:
            if wait:
                self.release.wait(10)
            if n < 0:
                raise ValueError("negative")
            return n * 10

        deliver(self, Answered, compute)
        if wait:
            self.first_done.set()

    @on(Answered)
    def _answered(self, event: Answered) -> None:
        if event.error is not None:
            self.errors.append(str(event.error))
        else:
            self.answers.append(event.result)


async def test_a_replaced_request_delivers_nothing_and_errors_arrive_as_outcomes():
    from tests.tui_fixtures import wait_for

    app = OutcomeApp()
    async with app.run_test() as pilot:
        app.ask(1, True)  # blocked until released
        await pilot.pause()
        app.ask(2, False)  # replaces it
        await wait_for(pilot, lambda: app.answers, what="the newer answer")
        assert app.answers == [20]  # the newer request's answer only (the older is still waiting)
        app.release.set()
        await wait_for(pilot, app.first_done.is_set, what="the replaced request to finish")
        await pilot.pause()
        await pilot.pause()
        assert app.answers == [20]  # the replaced request's answer, when it came, was dropped
        app.ask(-1, False)
        await wait_for(pilot, lambda: app.errors, what="the error outcome")
        assert app.errors == ["negative"]
        with pytest.raises(ValueError, match="negative"):
            _ = Answered(error=ValueError("negative")).result


def test_the_app_downloads_the_cli_way_and_uses_the_cached_copy_offline(hub_env, monkeypatch):
    from tui.core.hub.model_download import download_chosen
    from tui.core.hub.model_spec import open_model_spec

    model = open_model_spec("ggml-org/models:Q8_0")
    assert not model.is_local and model.commit
    got = download_chosen(model)
    assert got.is_local and got.local_path.name.endswith("-00001-of-00003.gguf")
    assert all(model.commit in r.path for r in hub_env.requests_for("/resolve/"))  # pinned to the sized commit
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_env.reset_counters()
    again = download_chosen(model)  # the Hub cannot be asked: the cached copy answers
    assert again.local_path == got.local_path and hub_env.requests == []
