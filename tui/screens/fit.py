"""Step 3, Fit: drag context and GPU layers and watch memory per device and tokens/s move at once.

Every slider tick asks ``estimate_fit`` again (pure arithmetic, about half a millisecond) and the
bars, numbers and the equivalent ``llama-server`` command follow in the same frame. Auto-fit is
``tui.core.fit.autofit`` (llama.cpp ``--fit``'s rules, a few milliseconds). Reading a model's header
and downloading it run in workers; this screen only shows what the core answers.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, ProgressBar, Static

from tui.core.errors import LocalAIError
from tui.core.fit.settings import DEFAULT_N_CTX, FLASH_ATTN_MODES, KV_CACHE_TYPES
from tui.core.safe_text import one_line, printable
from tui.messages import FitChanged, ModelOpened, Outcome, deliver
from tui.screens.base import AppScreen
from tui.screens.fit_text import (
    BAR_PARTS,
    BATCH_STEPS,
    UBATCH_STEPS,
    bench_line,
    context_label,
    context_steps,
    cycle,
    describe_model,
    invalid_line,
    layer_steps,
    memory_usages,
    next_step,
    notes_text,
    options_line,
    verdict_line,
)
from tui.screens.focus import focus_now
from tui.screens.open_model import open_model_spec
from tui.session import ChosenModel
from tui.units import format_context, format_duration, format_size
from tui.widgets.memory_bar import MemoryBar, legend
from tui.widgets.slider import Slider

if TYPE_CHECKING:
    from tui.core.fit.estimate import FitEstimate

#: How often the download row shows the worker's latest progress report (seconds).
DOWNLOAD_REFRESH_S = 0.25


def download_line(report) -> str:
    """`` 1.20 GiB / 4.36 GiB · 48 MiB/s · ETA 1 min 07 s · x cancels`` for a ``DownloadProgress``."""
    if report.phase == "checking":
        return f" checking the {format_size(report.file_done)} kept from last time… · x cancels"
    shard = f" · {report.file_index + 1}/{report.file_count} files" if report.file_count > 1 else ""
    speed = (f" · {format_size(report.rate_bps)}/s · ETA {format_duration(report.eta_s)}" if report.rate_bps > 0
             else " · connecting…")
    return f" {format_size(report.done)} / {format_size(report.total)}{speed}{shard} · x cancels"


class FitScreen(AppScreen):
    """Sliders on top, one bar per GPU and one for RAM, the verdict and the command below."""

    WHERE = "Fit"
    AUTO_FOCUS = ""  # the context slider takes focus once a model is shown; the hidden open box never does
    # k, v, f, u, b and w are named on the options lines ("K cache f16 (k) ..."), so the footer leaves them out
    # and keeps room at 80 columns for the keys that say nothing elsewhere (F1 and the palette list all).
    BINDINGS = [
        Binding("a", "auto_fit", "Auto-fit", id="fit-auto", tooltip="The most context and GPU layers that fit"),
        Binding("k", "cycle_cache('k')", "K cache", id="fit-cache-k", tooltip="Next K cache type (-ctk)", show=False),
        Binding("v", "cycle_cache('v')", "V cache", id="fit-cache-v", tooltip="Next V cache type (-ctv)", show=False),
        Binding("f", "cycle_flash_attn", "Flash attn", id="fit-flash", tooltip="auto, on, off (-fa)", show=False),
        Binding("u", "cycle_ubatch", "Micro-batch", id="fit-ubatch", show=False,
                tooltip="Next physical batch size (-ub): bigger ones grow the compute buffers"),
        Binding("b", "cycle_batch", "Batch", id="fit-batch", show=False, tooltip="Next logical batch size (-b)"),
        Binding("w", "toggle_swa_full", "SWA full", id="fit-swa-full", show=False,
                tooltip="--swa-full: give sliding-window layers the whole context"),
        Binding("y", "copy_command", "Copy cmd", id="fit-copy", tooltip="Copy the llama-server command (OSC 52)"),
        Binding("d", "download", "Download", id="fit-download", tooltip="Download the file(s) into the HF cache"),
        Binding("x", "cancel_download", "Cancel", id="fit-cancel", tooltip="Stop the download (it resumes later)"),
        Binding("c", "chat", "Chat", id="fit-chat", tooltip="Load the model with these settings and chat"),
        Binding("m", "bench", "Bench", id="fit-bench",
                tooltip="Measure tokens/s on this machine (llama-bench pp/tg); kept, shown next to the estimate"),
        Binding("escape", "cancel_bench", "Stop bench", id="fit-bench-stop", show=False),
        Binding("o", "open_model", "Open", id="fit-open", tooltip="Open a .gguf path or OWNER/REPO:LABEL"),
        Binding("escape", "close_open", "Close", id="fit-open-close", show=False),
    ]

    def palette_commands(self):
        """The sliders by name for the command palette (each focuses its slider; arrows then move it)."""
        for slider_id, title in (("slider-ctx", "Context slider"), ("slider-ngl", "GPU layers slider"),
                                 ("slider-moe", "MoE on CPU slider")):
            slider = self.query_one(f"#{slider_id}", Slider)
            if slider.display and self.app.model is not None:
                yield title, "Focus it: arrows, home/end or typed numbers move it", partial(focus_now, slider)

    class Downloaded(Outcome[ChosenModel]):
        """The download worker finished: the model with its local path, or why not (stopped, failed)."""

    class Benched(Outcome[tuple]):
        """The bench worker finished: (``BenchResult`` list, whether the run was stored, the profile relearned
        from the stored runs or None), or why not."""

    def __init__(self) -> None:
        super().__init__()
        self.estimate: FitEstimate | None = None
        self._cancel_download: threading.Event | None = None
        self._download_progress = None
        self._cancel_bench: threading.Event | None = None
        self._bench_progress: tuple[str, int, int] | None = None
        self._measured: str | None = None  # "measured N t/s (bench, date)" for this model on this machine

    # -- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="fit-open-row"):
            yield Label("Model ", id="fit-open-label")
            yield Input(placeholder="path/to/model.gguf or owner/repo:Q4_K_M", id="fit-open-input")
        with Vertical(id="fit-empty"):
            yield Static(
                "No model yet.\n\nF3 browses Hugging Face by quant label; "
                "o opens a local .gguf or OWNER/REPO:LABEL.",
                id="fit-empty-text",
            )
        with VerticalScroll(id="fit-body"):
            yield Static("", id="fit-model")
            yield Slider([4096], label="Context", label_width=11, id="slider-ctx", format_value=format_context)
            yield Slider([0], label="GPU layers", label_width=11, id="slider-ngl")
            yield Slider([0], label="MoE on CPU", label_width=11, id="slider-moe")
            yield Static("", id="fit-options")
            yield Vertical(id="fit-bars")
            yield Static(legend(tuple(name for _, name in BAR_PARTS)), id="fit-legend")
            yield Static("", id="fit-verdict")
            yield Static("", id="fit-bench")
            yield Static("", id="fit-command")
            with Horizontal(id="fit-download-row"):
                yield ProgressBar(id="fit-download-bar", show_eta=False, show_percentage=True)
                yield Label("", id="fit-download-label")
            yield Static("", id="fit-notes")

    def on_mount(self) -> None:
        self.watch(self.app, "model", self._model_changed)
        self.watch(self.app, "profile", self._profile_changed)
        self.set_interval(DOWNLOAD_REFRESH_S, self._show_download, name="fit-download-progress")
        self.set_interval(DOWNLOAD_REFRESH_S, self._show_bench_progress, name="fit-bench-progress")
        if self.app.model is None and self.app.start_model:
            spec, self.app.start_model = self.app.start_model, None
            self.open_spec(spec)

    # -- the model and the profile ---------------------------------------------------------

    def _model_changed(self, model: ChosenModel | None) -> None:
        has_model = model is not None
        self.query_one("#fit-empty").display = not has_model
        self.query_one("#fit-body").display = has_model
        if model is None:
            self.refresh_bindings()
            return
        self._show_bench(None)
        self._look_up_measured()
        self._place_sliders(model, self.app.settings)
        self.query_one("#fit-model", Static).update(describe_model(model))
        self._apply_sliders()
        if not isinstance(self.focused, Slider):
            focus_now(self.query_one("#slider-ctx", Slider))
        self.refresh_bindings()

    def _place_sliders(self, model: ChosenModel, settings) -> None:
        """Give each slider the model's stops and put its thumb where ``settings`` say (no Changed)."""
        anatomy = model.anatomy
        trained = anatomy.n_ctx_train
        n_ctx = settings.n_ctx or trained or DEFAULT_N_CTX  # -c 0: the trained context
        ctx_values = context_steps(trained, n_ctx)
        ctx_slider = self.query_one("#slider-ctx", Slider)
        ctx_slider.format_value = partial(context_label, n_ctx_train=trained)
        ctx_slider.set_values(ctx_values, min(n_ctx, ctx_values[-1]))
        ngl_values = layer_steps(anatomy.n_layer)
        top = ngl_values[-1]
        ngl = top if settings.n_gpu_layers is None else min(settings.n_gpu_layers, top)
        ngl_slider = self.query_one("#slider-ngl", Slider)
        ngl_slider.format_value = lambda n: f"{n}/{top}"
        ngl_slider.set_values(ngl_values, ngl)
        moe = self.query_one("#slider-moe", Slider)
        n_layer = anatomy.n_layer
        moe.format_value = lambda n: f"{n}/{n_layer}"
        moe.set_values(list(range(0, anatomy.n_layer + 1)), anatomy.n_layer if settings.cpu_moe else settings.n_cpu_moe)
        self._disable_gpu_layers(self.app.profile)

    def _profile_changed(self, profile) -> None:
        self._disable_gpu_layers(profile)
        self._look_up_measured()
        self.recompute()

    def _look_up_measured(self) -> None:
        """This machine's latest bench run of the model, when the profile is this machine (read once per
        model and profile, not on every slider tick)."""
        from tui.core.hardware.measured import measured_text

        model = self.app.model
        record = self.app.services.measured_speed(model, self.app.profile) if model is not None else None
        self._measured = measured_text(record) if record is not None else None

    def _disable_gpu_layers(self, profile) -> None:
        """No GPU in the profile: the GPU-layers and MoE sliders have nothing to say, so they are hidden."""
        cpu_only = profile is not None and profile.is_cpu_only
        model = self.app.model
        self.query_one("#slider-ngl", Slider).display = not cpu_only
        self.query_one("#slider-moe", Slider).display = not cpu_only and model is not None and model.anatomy.is_moe

    def open_spec(self, spec: str) -> None:
        self.query_one("#fit-empty-text", Static).update(f"Reading the header of {spec}…")
        open_model_spec(self, spec)

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        if event.error is None:
            self.app.choose_model(event.result, go_to=None)
            return
        self.query_one("#fit-empty-text", Static).update(
            Text.assemble(("Could not open the model: ", "bold red"), printable(str(event.error)),
                          "\n\nF3 browses the Hub; o opens another file.")
        )
        self.notify(str(event.error), severity="error", title="Open model")

    # -- sliders and options -> settings -> estimate ---------------------------------------

    @on(Slider.Changed)
    def _slider_moved(self, event: Slider.Changed) -> None:
        event.stop()
        if event.typed is not None:
            slider = event.slider
            self.notify(f"{event.typed} is not one of the {slider.label.lower()} stops: "
                        f"{slider.format_value(event.value)}, the nearest", title=slider.label, timeout=4)
        self._apply_sliders()

    def _apply_sliders(self) -> None:
        """The sliders' positions become the app's settings (``-c``, ``-ngl``, ``--n-cpu-moe``), then recompute."""
        model = self.app.model
        if model is None:
            return
        ngl_slider = self.query_one("#slider-ngl", Slider)
        moe_slider = self.query_one("#slider-moe", Slider)
        n_cpu_moe = moe_slider.value if model.anatomy.is_moe else 0
        changes = dict(
            n_ctx=self.query_one("#slider-ctx", Slider).value,
            n_gpu_layers=None if ngl_slider.value >= ngl_slider.values[-1] else ngl_slider.value,
            n_cpu_moe=n_cpu_moe,
            cpu_moe=False,
        )
        self.app.update_settings(self.app.settings.with_changes(**changes))
        self.recompute()

    def recompute(self) -> None:
        """Ask the fit engine again and redraw the bars, numbers and command (under a millisecond of arithmetic)."""
        model, profile = self.app.model, self.app.profile
        if model is None:
            return
        settings = self.app.settings
        verdict = self.query_one("#fit-verdict", Static)
        if profile is None:
            self.query_one("#fit-options", Static).update(options_line(settings, None))
            verdict.update("Choose a hardware profile (F2) to size this model.")
            return
        try:
            self.estimate = self.app.services.estimate_fit(model.anatomy, profile, settings, model.projector)
        except LocalAIError as exc:
            self._show_invalid(settings, exc)
            return
        self._show_invalid(settings, None)
        self._show_estimate(model, profile, self.estimate)
        self.post_message(FitChanged(self.estimate, settings))

    def _show_invalid(self, settings, error: LocalAIError | None) -> None:
        """Settings llama.cpp refuses are an error state: no bars, no verdict that could read "fits",
        no command; the reason and its fix instead. ``error`` None leaves that state."""
        for part in ("#fit-bars", "#fit-legend", "#fit-command"):
            self.query_one(part).display = error is None
        if error is None:
            return
        self.estimate = None
        self.query_one("#fit-options", Static).update(options_line(settings, None))
        self.query_one("#fit-verdict", Static).update(invalid_line(error.message, error.hint))
        self.query_one("#fit-notes", Static).update("")
        self.refresh_bindings()

    def _show_estimate(self, model: ChosenModel, profile, estimate) -> None:
        self.query_one("#fit-options", Static).update(options_line(estimate.settings, estimate.flash_attn_enabled))
        usages = memory_usages(estimate, profile)
        bars = self.query_one("#fit-bars", Vertical)
        existing = list(bars.query(MemoryBar))
        if len(existing) != len(usages):
            bars.remove_children()
            bars.mount_all([MemoryBar(usage) for usage in usages])
        else:
            for bar, usage in zip(existing, usages, strict=True):
                bar.usage = usage
        self.query_one("#fit-verdict", Static).update(verdict_line(estimate, profile, self._measured))
        command = self.app.services.llama_server_command(model, estimate, profile)
        shown = Text()
        for box, line in self.app.services.rpc_server_commands(profile):  # helper boxes first
            shown.append(f"{one_line(box)}$ ", "dim")
            shown.append(one_line(line) + "\n")
        shown.append("$ " if not profile.boxes else "head$ ", "dim")
        shown.append(one_line(command))
        self.query_one("#fit-command", Static).update(shown)
        self.query_one("#fit-notes", Static).update(notes_text(estimate.warnings))
        self.refresh_bindings()

    def action_cycle_cache(self, which: str) -> None:
        name = "cache_type_k" if which == "k" else "cache_type_v"
        current = getattr(self.app.settings, name)
        self.app.update_settings(self.app.settings.with_changes(**{name: cycle(KV_CACHE_TYPES, current)}))
        self.recompute()

    def action_cycle_ubatch(self) -> None:
        """``u``: the next physical batch size (``-ub``): bigger ones grow the compute buffers."""
        settings = self.app.settings
        self.app.update_settings(settings.with_changes(n_ubatch=next_step(UBATCH_STEPS, settings.n_ubatch)))
        self.recompute()

    def action_cycle_batch(self) -> None:
        """``b``: the next logical batch size (``-b``)."""
        settings = self.app.settings
        self.app.update_settings(settings.with_changes(n_batch=next_step(BATCH_STEPS, settings.n_batch)))
        self.recompute()

    def action_toggle_swa_full(self) -> None:
        """``w``: ``--swa-full``, a whole-context cache for sliding-window layers (what context shifting needs)."""
        settings = self.app.settings
        self.app.update_settings(settings.with_changes(swa_full=not settings.swa_full))
        self.recompute()

    def action_cycle_flash_attn(self) -> None:
        settings = self.app.settings
        self.app.update_settings(settings.with_changes(flash_attn=cycle(FLASH_ATTN_MODES, settings.flash_attn)))
        self.recompute()

    def action_auto_fit(self) -> None:
        """The best plan from the model's trained context down: the same search as ``fit -ngl auto``."""
        model, profile = self.app.model, self.app.profile
        if model is None or profile is None:
            return
        try:
            chosen = self.app.services.auto_fit(model.anatomy, profile, self.app.settings, model.projector)
        except LocalAIError as exc:
            self.notify(str(exc), severity="error", title="Auto-fit")
            return
        self.app.update_settings(chosen.settings)
        self._place_sliders(model, chosen.settings)
        self.recompute()
        if chosen.missing:
            self.notify(f"Nothing fits: {chosen.missing}", severity="warning", title="Auto-fit", timeout=8)
            return
        changes = "; ".join(chosen.changes) or "everything fits at the trained context"
        self.notify(f"{changes} → {chosen.estimate.verdict}", title="Auto-fit", timeout=5)

    def action_copy_command(self) -> None:
        if self.app.model is None or self.estimate is None:
            return
        command = self.app.services.llama_server_command(self.app.model, self.estimate, self.app.profile)
        self.app.copy_to_clipboard(command)
        self.notify("llama-server command copied (OSC 52)", timeout=3)

    # -- open a model by name --------------------------------------------------------------

    def action_open_model(self) -> None:
        self.query_one("#fit-open-row").display = True
        focus_now(self.query_one("#fit-open-input", Input))
        self.refresh_bindings()

    def action_close_open(self) -> None:
        self.query_one("#fit-open-row").display = False
        if self.app.model is not None:
            focus_now(self.query_one("#slider-ctx", Slider))
        self.refresh_bindings()

    @on(Input.Submitted, "#fit-open-input")
    def _open_submitted(self, event: Input.Submitted) -> None:
        spec = event.value.strip()
        self.action_close_open()
        if spec:
            self.open_spec(spec)

    # -- download --------------------------------------------------------------------------

    def action_download(self) -> None:
        model = self.app.model
        if model is None or model.is_local or self._cancel_download is not None:
            return
        self._cancel_download = self.app.work_event()
        self._download_progress = None
        self.query_one("#fit-download-row").display = True
        self.query_one("#fit-download-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#fit-download-label", Label).update(" asking the Hub… · x cancels")
        self._download(model, self._cancel_download)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="download")
    def _download(self, model: ChosenModel, cancel: threading.Event) -> None:
        def progress(report) -> None:
            self._download_progress = report  # the UI timer shows it; never a call into the UI from here

        deliver(self, self.Downloaded, lambda: self.app.services.download_model(model, progress=progress, cancel=cancel))

    def _show_download(self) -> None:
        """Timer (4 Hz): bytes, rate and ETA of the running download."""
        report = self._download_progress
        if self._cancel_download is None or report is None or self._cancel_download.is_set():
            return
        self.query_one("#fit-download-bar", ProgressBar).update(total=report.total or None, progress=report.done)
        self.query_one("#fit-download-label", Label).update(download_line(report))

    def action_cancel_download(self) -> None:
        if self._cancel_download is not None:
            self._cancel_download.set()
            self.query_one("#fit-download-label", Label).update(" cancelling…")

    # -- bench -----------------------------------------------------------------------------

    def action_bench(self) -> None:
        """``m``: measure pp/tg of the local model with these settings, as ``localai-tui bench`` does."""
        model = self.app.model
        if model is None or not model.is_local or model.local_path is None or self._cancel_bench is not None:
            return
        self._cancel_bench = self.app.work_event()
        self._bench_progress = None
        self._show_bench(Text("bench: loading the model… · escape stops", "dim"))
        self._bench(model.local_path, self.app.settings, self._cancel_bench)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="bench")
    def _bench(self, path, settings, cancel: threading.Event) -> None:
        def progress(test: str, repetition: int, repetitions: int) -> None:
            self._bench_progress = (test, repetition, repetitions)  # the UI timer shows it

        def bench_and_learn() -> tuple:
            outcome = self.app.services.bench_model(path, settings, cancel=cancel, on_progress=progress)
            profile = self.app.profile
            relearned = self.app.services.with_bench_correction(profile) if profile is not None else None
            return (*outcome, relearned)

        deliver(self, self.Benched, bench_and_learn)

    def _show_bench(self, text: Text | None) -> None:
        """The bench's line under the verdict; hidden (no empty row) when there is nothing to say."""
        line = self.query_one("#fit-bench", Static)
        line.update(text or "")
        line.display = text is not None

    def _show_bench_progress(self) -> None:
        """Timer (4 Hz): which test and run the bench is on."""
        report = self._bench_progress
        if self._cancel_bench is None or report is None or self._cancel_bench.is_set():
            return
        test, repetition, repetitions = report
        self._show_bench(Text(f"bench {test}: run {repetition}/{repetitions} · escape stops", "dim"))

    def action_cancel_bench(self) -> None:
        if self._cancel_bench is not None:
            self._cancel_bench.set()
            self._show_bench(Text("bench: stopping…", "dim"))

    @on(Benched)
    def _bench_finished(self, event: Benched) -> None:
        cancelled = self._cancel_bench is not None and self._cancel_bench.is_set()
        self._cancel_bench = None
        self._bench_progress = None
        if event.error is not None:
            self._show_bench(bench_line(None, "stopped" if cancelled else str(event.error)))
            if not cancelled:
                self.notify(one_line(str(event.error)), severity="error", title="Bench")
        else:
            results, stored, relearned = event.result
            self._show_bench(bench_line((results, stored)))
            if relearned is not None and relearned != self.app.profile:
                self.app.profile = relearned  # this machine's estimate now learns from the run (bench_feedback)
            self._look_up_measured()
            self.recompute()
        self.refresh_bindings()

    # -- chat ------------------------------------------------------------------------------

    def action_chat(self) -> None:
        model = self.app.model
        if model is None:
            return
        if not model.is_local:
            self.notify("Download the file first (d)", severity="warning")
            return
        self.app.switch_mode("chat")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        model = self.app.model
        downloading = self._cancel_download is not None
        if action == "close_open":
            return self.query_one("#fit-open-row").display
        if action == "cancel_bench":
            return self._cancel_bench is not None
        if action == "bench":
            return model is not None and model.is_local and self._cancel_bench is None
        if action in ("auto_fit", "cycle_cache", "cycle_flash_attn", "cycle_ubatch", "cycle_batch", "toggle_swa_full"):
            return model is not None
        if action == "copy_command":
            return model is not None and self.estimate is not None
        if action == "download":
            return model is not None and not model.is_local and not downloading
        if action == "cancel_download":
            return downloading
        if action == "chat":
            return None if model is None or not model.is_local else True
        return True

    @on(Downloaded)
    def _download_finished(self, event: Downloaded) -> None:
        from tui.core.hub.errors import DownloadCancelled

        self._cancel_download = None
        self.query_one("#fit-download-row").display = False
        if event.error is None:
            self.app.choose_model(event.result, go_to=None)
            self.notify(f"Downloaded to {event.result.local_path}; c starts a chat", timeout=5)
        elif isinstance(event.error, DownloadCancelled):
            self.notify("Download stopped; what arrived is kept and d resumes it", timeout=4)
        else:
            self.notify(str(event.error), severity="error", title="Download")
        self.refresh_bindings()
