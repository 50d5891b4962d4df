"""Regenerate ``screenshots/``: one SVG per screen, driven headless with realistic data.

The Hub is the loopback fake from the tests (real repo names, sizes and GGUF headers, e.g. a
30 GiB Qwen3-30B-A3B Q8_0 read over HTTP ranges), the hardware is the catalog's RTX 3090 with
64 GiB of RAM (so the pictures do not depend on the machine that makes them), and the chat runs
``../shared/models/stories260K.gguf`` in-process (a copy with a chat template, so turns show roles).

Usage: ``python scripts/make_screenshots.py [--size 100x30] [--out screenshots]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODEL = ROOT.parent / "shared" / "models" / "stories260K.gguf"

#: (file name, what it shows): the captions TUI_README.md lists.
SCREENSHOTS = (
    ("profile", "GPU profile: this box, and the catalog filtered by typing"),
    ("browse", "Browse: GGUF repos on Hugging Face, sorted by downloads"),
    ("repo-files", "A repo's files by quant label, with fit badges and the label explained"),
    ("fit", "Fit: a 30B MoE model on a 24 GiB card after auto-fit, experts of 20 layers in RAM"),
    ("download", "Fit: downloading a model, with bytes, rate, ETA and cancel"),
    ("chat", "Chat: streaming a reply in-process, with tokens/s, per-reply stats and memory"),
    ("help", "The key table for the screen underneath"),
    ("log", "llama.cpp's own log, followed live"),
)


async def _until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get ready in time")
        await pilot.pause(0.05)


def _box():
    """The catalog's RTX 3090 with 64 GiB of RAM."""
    from tui.core.hardware.profiles import resolve_profile

    return resolve_profile(["RTX 3090"], ram_gib=64)


def _services(hub_url: str | None):
    from tui.services import Services

    box = _box()

    class ScreenshotServices(Services):
        def detect_profile(self):
            return box

        def load_selected_profile(self):
            return box

    return ScreenshotServices(hub_endpoint=hub_url)


async def shoot(out: Path, size: tuple[int, int], hub, work: Path) -> list[Path]:
    from tui.app import LocalAIApp
    from tui.screens.repo import RepoScreen

    written: list[Path] = []

    def save(app, name: str) -> None:
        app.clear_notifications()
        path = out / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
        written.append(path)

    def services():
        return _services(hub.url)

    # GPU profile
    app = LocalAIApp(services=services())
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.screen._detection_done and app.screen.query_one("#catalog").row_count)
        await pilot.press(*"rtx 30")
        await pilot.pause(0.2)
        save(app, "profile")

    # Browse, then a repo's files with badges
    app = LocalAIApp(services=services(), profile=_box())
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.screen.query_one("#results").row_count > 0)
        await pilot.press("escape")
        await pilot.pause(0.2)
        save(app, "browse")
        app.push_screen(RepoScreen("unsloth/Qwen3-30B-A3B-GGUF"))
        await _until(pilot, lambda: isinstance(app.screen, RepoScreen) and app.screen.badges)
        app.screen.query_one("#repo-files").move_cursor(row=3)
        await pilot.pause(0.3)
        save(app, "repo-files")

    # Fit: a real-size MoE model from the Hub, auto-fitted; the key table over it
    app = LocalAIApp(model="unsloth/Qwen3-30B-A3B-GGUF:Q8_0", services=services(), profile=_box())
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: getattr(app.screen, "estimate", None) is not None)
        await pilot.press("a")
        await pilot.pause(0.3)
        save(app, "fit")
        await pilot.press("f1")
        await pilot.pause(0.2)
        save(app, "help")

    # Download progress (the fake Hub throttled to 4 MiB/s), then cancel
    hub.throttle_bps = 4 * 1024 * 1024
    app = LocalAIApp(model="ggml-org/models:Q8_0", services=services(), profile=_box())
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: getattr(app.screen, "estimate", None) is not None)
        await pilot.press("d")
        label = app.screen.query_one("#fit-download-label")
        await _until(pilot, lambda: "/s · ETA" in str(label.render()))
        await pilot.pause(1.2)
        save(app, "download")
        await pilot.press("x")
        await _until(pilot, lambda: app.screen._cancel_download is None)
    hub.throttle_bps = 0

    # Chat with the stories model (a copy with a chat template), then llama.cpp's log
    if MODEL.exists():
        from tests.engine_models import with_chat_template
        from tui.core.engine.sampling import SamplingSettings

        chatty = with_chat_template(MODEL, work / "stories260K-chat.gguf")
        app = LocalAIApp(model=str(chatty), open_chat=True, services=services(), profile=_box())
        async with app.run_test(size=size) as pilot:
            chat = app.screen
            await _until(pilot, lambda: chat.session is not None)
            chat.sampling = chat.session.sampling = SamplingSettings(seed=7, max_tokens=90)
            for prompt in ("Tell me a story about a cat.", "What did the cat find?"):
                replies = chat.stream.n_exchanges
                chat.send(prompt)
                await _until(pilot, lambda before=replies: chat.stream.n_exchanges > before and not chat.generating)
            await pilot.pause(1.2)  # a memory sample
            save(app, "chat")
            await pilot.press("f6")
            await pilot.pause(0.8)
            save(app, "log")
    else:
        print(f"make_screenshots: {MODEL} is absent; chat and log pictures skipped", file=sys.stderr)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100x30", help="terminal size, COLUMNSxROWS (default 100x30)")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    columns, rows = (int(n) for n in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        work = Path(home)
        # Fresh app dirs and HF cache: nothing from the user's own setup shows up in the pictures.
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
            os.environ[var] = str(work / var.lower())
        os.environ.update(HF_HOME=str(work / "hf"), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
        from tests.fake_hub import FakeHub
        from tests.hub_fixtures.catalog import default_repos

        hub = FakeHub({r.repo_id: r for r in default_repos()}).start()
        os.environ["HF_ENDPOINT"] = hub.url
        try:
            from tui.core.engine.llama_log import ensure_llama_log

            ensure_llama_log()  # llama.cpp's log in the fresh log dir, for the log screen
            written = asyncio.run(shoot(args.out, (columns, rows), hub, work))
            from scripts.advisor_screenshots import shoot_advisor  # the Advisor (F7), with its own fake Hub

            written += asyncio.run(shoot_advisor(args.out, (columns, rows)))
        finally:
            hub.stop()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
