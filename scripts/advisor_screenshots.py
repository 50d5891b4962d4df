"""The Advisor's pictures for ``screenshots/``: ``make_screenshots.py`` calls ``shoot_advisor``.

``advisor-which-model.svg``, ``advisor-which-box.svg`` and ``advisor-sweep.svg``: the Advisor
(F7) on a fixed box with an RTX 3090 and 64 GiB of RAM, with a dense 32B model (Qwen2.5-Coder
Q4_K_M) chosen, against its own loopback fake Hub (the default catalog plus the Advisor's extra
repos), so the pictures depend neither on the machine nor on the network.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODEL = "bartowski/Qwen2.5-Coder-32B-Instruct-GGUF:Q4_K_M"
PICTURES = (("1", "advisor-which-model"), ("2", "advisor-which-box"), ("3", "advisor-sweep"))


def _box():
    from tui.core.hardware.devices import GpuSpec, HardwareProfile
    from tui.core.sizes import GiB

    return HardwareProfile("RTX 3090 + 64 GiB RAM", gpus=(GpuSpec("RTX 3090", 24 * GiB, 936.0),),
                           ram_bytes=64 * GiB, ram_bandwidth_gbps=51.2, source="catalog")


async def shoot_advisor(out: Path, size: tuple[int, int]) -> list[Path]:
    """Write the three pictures into ``out``; the app's dirs must already point somewhere fresh."""
    from tests.fake_hub import FakeHub
    from tests.hub_fixtures.catalog import advisor_repos
    from tui.app import LocalAIApp
    from tui.services import Services

    box = _box()

    class PictureServices(Services):
        def detect_profile(self):
            return box

        def load_selected_profile(self):
            return box

    hub = FakeHub({r.repo_id: r for r in advisor_repos()}).start()
    endpoint, os.environ["HF_ENDPOINT"] = os.environ.get("HF_ENDPOINT"), hub.url
    written: list[Path] = []
    try:
        app = LocalAIApp(services=PictureServices(hub_endpoint=hub.url), profile=box)
        async with app.run_test(size=size) as pilot:
            app.model = app.services.choose_model_spec(MODEL)
            await pilot.press("f7")
            deadline = time.monotonic() + 120
            while not (app.current_mode == "advisor" and app.screen.recommendation is not None
                       and app.screen.sweep_points):
                if time.monotonic() > deadline:
                    raise TimeoutError("the Advisor did not get ready in time")
                await pilot.pause(0.05)
            for key, name in PICTURES:
                await pilot.press(key)
                await pilot.pause(0.3)
                app.save_screenshot(filename=f"{name}.svg", path=str(out))
                written.append(out / f"{name}.svg")
    finally:
        hub.stop()
        if endpoint is None:
            os.environ.pop("HF_ENDPOINT", None)
        else:
            os.environ["HF_ENDPOINT"] = endpoint
    return written
