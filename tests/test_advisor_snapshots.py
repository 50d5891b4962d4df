"""SVG snapshots of the Advisor's three tabs at 80x24 and 120x36, with fixed data.

The hardware is the fixed CPU-only box of ``tests/tui_fixtures.py`` (the catalog boxes share its
RAM), the repos and the model header come from the loopback fake Hub: nothing depends on the
machine. Regenerate after an intended change with
``pytest tests/test_advisor_snapshots.py --snapshot-update`` and look at the report first.
"""

from __future__ import annotations

import pytest

from tests.advisor_fixtures import MOE
from tests.tui_fixtures import FIXED_BOX, FixedServices, log_dir_for_snapshots, settle, wait_for
from tui.app import LocalAIApp

SIZES = [(80, 24), (120, 36)]


def _app(hub_url: str) -> LocalAIApp:
    return LocalAIApp(services=FixedServices(hub_endpoint=hub_url, log_dir=log_dir_for_snapshots()), profile=FIXED_BOX)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_which_model(snap_compare, size, advisor_hub):
    app = _app(advisor_hub.url)

    async def ready(pilot):
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_mode == "advisor" and app.screen.recommendation is not None,
                       timeout=60, what="the ranking")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("tab", ["2", "3"], ids=["which-box", "sweep"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_which_box_and_sweep(snap_compare, size, tab, advisor_hub):
    app = _app(advisor_hub.url)

    async def ready(pilot):
        app.model = app.services.choose_model_spec(f"{MOE[0]}:Q4_K_M")
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_mode == "advisor" and app.screen.recommendation is not None
                       and app.screen.sweep_points, timeout=60, what="ranking, comparison and sweep")
        await pilot.press(tab)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)
