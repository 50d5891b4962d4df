"""The Fit screen's bench (``m``) and "measured" next to the estimate.

The bench is real: llama.cpp on ``../shared/models/stories260K.gguf`` with small token counts.
Runs are stored in the (per-test) data dir and found again for this model on this machine only.
"""

from __future__ import annotations

import threading

from tests.tui_fixtures import FixedServices, notifications, screen_text, settle, wait_for
from tui.app import LocalAIApp
from tui.core.gguf.anatomy import load_anatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.hardware.speed_store import BenchRecord, anatomy_key, latest_bench, now_text, record_bench
from tui.core.sizes import GiB


def _fingerprint() -> str:
    """This machine's hardware fingerprint: what a bench run is stored under (``detect_profile``)."""
    from tui.core.hardware.detect import detect_profile

    return str(detect_profile().extra["fingerprint"])


#: "This machine" for these tests: a fixed box (deterministic screens) carrying this machine's fingerprint.
HERE = HardwareProfile("CPU-only (this machine)", gpus=(), ram_bytes=16 * GiB, ram_free_bytes=12 * GiB,
                       ram_bandwidth_gbps=51.2, source="detected", cpu_threads=2, extra={"fingerprint": _fingerprint()})
CATALOG = HardwareProfile("RTX 3060 box", ram_bytes=16 * GiB, ram_bandwidth_gbps=51.2)


class HereServices(FixedServices):
    """The real services on ``HERE``, benching with small counts (well under a second on stories260K)."""

    def detect_profile(self) -> HardwareProfile:
        return HERE

    def load_selected_profile(self) -> HardwareProfile:
        return HERE


def _app(model, profile=HERE, **kw) -> LocalAIApp:
    services = HereServices(bench_prompt_tokens=32, bench_gen_tokens=16, bench_repetitions=1, **kw)
    return LocalAIApp(model=str(model), services=services, profile=profile)


def _verdict(app) -> str:
    return str(app.screen.query_one("#fit-verdict").render())


async def test_a_stored_bench_run_shows_next_to_the_estimate_on_this_machine_only(stories_model):
    app = _app(stories_model)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        assert "measured" not in _verdict(app)  # nothing stored: nothing shown
    key = anatomy_key(load_anatomy(stories_model), str(stories_model))
    record_bench(BenchRecord(HERE.extra["fingerprint"], key, "stories", {}, 6400.0, 20000.0, "2026-01-01T00:00:00Z"))
    for profile, shown in ((HERE, True), (CATALOG, False)):
        app = _app(stories_model, profile=profile)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda app=app: app.screen.estimate is not None, timeout=20, what="an estimate")
            assert ("measured 6,400 t/s (bench, 2026-01-01)" in _verdict(app)) is shown
            if shown:
                await settle(pilot)
                assert "measured 6,400 t/s" in screen_text(app)


async def test_m_benches_the_model_stores_the_run_and_shows_it(stories_model):
    app = _app(stories_model)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await settle(pilot)
        assert "m Bench" in screen_text(app) or "m  Bench" in screen_text(app)  # in the footer
        await pilot.press("m")
        await settle(pilot, timeout=60)
        bench = str(app.screen.query_one("#fit-bench").render())
        assert bench.startswith("bench on this machine: generation") and "(tg16) · prompt" in bench
        assert "(pp32)  (stored; fit and compare show it)" in bench
        record = latest_bench(HERE.extra["fingerprint"], anatomy_key(load_anatomy(stories_model), str(stories_model)))
        assert record is not None and record.tg_tokens_per_s > 0 and record.pp_tokens_per_s > 0
        assert record.measured_at[:10] == now_text()[:10]
        assert f"measured {record.tg_tokens_per_s:,.0f} t/s (bench, {record.measured_at[:10]})" in _verdict(app)
        # measured beats estimated: the app's profile relearned from the run, and the estimate follows
        assert app.profile.speed_correction_runs == 1
        assert app.profile.speed_correction != 1.0
        ratio = record.tg_tokens_per_s / record.est_tokens_per_s
        if 0.5 < ratio < 2.0:
            estimate = app.screen.estimate.est_tokens_per_s
            assert abs(estimate - record.tg_tokens_per_s) < 0.05 * record.tg_tokens_per_s


class BlockingBench(HereServices):
    """Holds the bench until it is cancelled, then runs the real path (which sees the cancel)."""

    started = threading.Event()

    def bench_model(self, path, settings, *, cancel=None, on_progress=None):
        self.started.set()
        assert cancel is not None and cancel.wait(30)
        return super().bench_model(path, settings, cancel=cancel, on_progress=on_progress)


async def test_escape_stops_the_bench_and_a_failure_is_one_line(stories_model):
    services = BlockingBench(bench_prompt_tokens=32, bench_gen_tokens=16, bench_repetitions=1)
    app = LocalAIApp(model=str(stories_model), services=services, profile=HERE)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await pilot.press("m")
        await wait_for(pilot, services.started.is_set, timeout=20, what="the bench to start")
        await pilot.press("escape")
        await settle(pilot, timeout=60)
        assert str(app.screen.query_one("#fit-bench").render()) == "bench: stopped"
        assert latest_bench(HERE.extra["fingerprint"], anatomy_key(load_anatomy(stories_model), str(stories_model))) is None

    seen: list = []
    app = _app(stories_model)
    app.services.bench_prompt_tokens = app.services.bench_gen_tokens = 0  # run_bench refuses: nothing to measure
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await pilot.press("m")
        await settle(pilot, timeout=60)
        line = str(app.screen.query_one("#fit-bench").render())
        assert line.startswith("bench: give a positive prompt") and "\n" not in line
        assert any("give a positive prompt" in n for n in notifications(seen))


async def test_the_advisors_which_box_shows_the_measured_speed_of_this_machine(stories_model):
    key = anatomy_key(load_anatomy(stories_model), str(stories_model))
    app = _app(stories_model)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await pilot.press("f7", "2")
        await wait_for(pilot, lambda: app.screen.box_results, timeout=30, what="the comparison")
        assert all(r.measured is None for r in app.screen.box_results)
        assert "measured" not in str(app.screen.query_one("#advisor-compare-note").render())
    record_bench(BenchRecord(HERE.extra["fingerprint"], key, "stories", {}, 6400.0, 20000.0, "2026-01-01T00:00:00Z"))
    app = _app(stories_model)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.estimate is not None, timeout=20, what="an estimate")
        await pilot.press("f7", "2")
        await wait_for(pilot, lambda: app.screen.box_results, timeout=30, what="the comparison")
        assert [r.measured is not None for r in app.screen.box_results][0]  # this machine, first
        assert sum(r.measured is not None for r in app.screen.box_results) == 1  # the catalog picks: none
        note = str(app.screen.query_one("#advisor-compare-note").render())
        assert "this machine: measured 6,400 t/s (bench, 2026-01-01)" in note
