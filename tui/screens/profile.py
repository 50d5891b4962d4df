"""Step 1, the GPU profile: what this box has, or which card to size for (catalog, custom, several).

Detection runs in a worker (NVML can take a second); the catalog is a filterable table.
The choice goes to the app, which remembers it and shows it in every header.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static

from tui.core.hardware.catalog import CatalogDevice
from tui.core.hardware.devices import HardwareProfile, RemoteBox
from tui.core.hardware.profiles import ProfileChoice
from tui.messages import Outcome, deliver
from tui.screens.base import AppScreen
from tui.screens.boxes import describe_boxes
from tui.screens.focus import focus_now
from tui.units import format_gib
from tui.widgets.profile_header import describe_profile


def describe_detected(profile: HardwareProfile | None) -> Text:
    """The 'This box' panel: a row per GPU (VRAM, used/free, bandwidth, backend), then RAM, in aligned columns."""
    if profile is None:
        return Text("Detecting GPUs and RAM…", style="italic")
    rows: list[tuple[str, str, str, str]] = []
    for gpu in profile.gpus:
        use = ""
        if gpu.used_bytes is not None and gpu.free_bytes is not None:
            use = f"{format_gib(gpu.used_bytes)} used, {format_gib(gpu.free_bytes)} free"
        rows.append((f"GPU{gpu.index} {gpu.name}", f"{format_gib(gpu.vram_bytes)} GiB", use,
                     f"{gpu.bandwidth_gbps:.0f} GB/s  {gpu.backend}"))
    ram_use = f"{format_gib(profile.ram_free_bytes)} free" if profile.ram_free_bytes is not None else ""
    rows.append(("RAM", f"{format_gib(profile.ram_bytes)} GiB", ram_use, f"{profile.ram_bandwidth_gbps:.0f} GB/s"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    text = Text()
    if profile.is_cpu_only:
        text.append("No NVIDIA GPU found", style="bold")
        text.append(": size for CPU only (c), pick a card below to ask 'what if', or make a custom profile (n).\n")
    for index, (name, size, use, speed) in enumerate(rows):
        if index:
            text.append("\n")
        text.append(name.ljust(widths[0] + 2), style="bold")
        text.append(size.rjust(widths[1]) + "  ")
        if widths[2]:
            text.append(use.ljust(widths[2] + 2), style="dim")
        text.append(speed)
    return text


#: Row keys of saved custom profiles in the table (catalog rows are keyed by their number).
CUSTOM_KEY = "custom:"


class ProfileScreen(AppScreen):
    """Detected hardware on top, the catalog below; Enter sizes for the highlighted card."""

    WHERE = "GPU profile"
    NO_PROFILE = "none chosen yet: pick one below"
    BINDINGS = [
        Binding("enter", "use_highlighted", "Use card", id="profile-use", priority=False),
        Binding("d", "use_detected", "Use this box", id="profile-detected"),
        Binding("c", "use_cpu_only", "CPU only", id="profile-cpu"),
        Binding("space,plus", "add_gpu", "Add GPU", id="profile-add", tooltip="Add the card to a multi-GPU profile"),
        Binding("x", "clear_gpus", "Clear GPUs", id="profile-clear", show=False),
        # Keys that move focus or open the form are priority bindings: they act in the app's key loop,
        # so the keys typed after them in one burst (SSH, a paste) reach the field they were meant for.
        Binding("n", "custom", "Custom", id="profile-custom", priority=True),
        Binding("b", "boxes", "Boxes", id="profile-boxes-key", priority=True,
                tooltip="Helper boxes: other machines over llama.cpp RPC"),
        Binding("slash", "focus_filter", "Filter", id="profile-filter", priority=True),
        Binding("escape", "leave_filter", "Table", id="profile-table", show=False, priority=True),
    ]

    class Detected(Outcome[HardwareProfile]):
        """This box's GPUs and RAM, or why detection failed."""

    class CatalogLoaded(Outcome[tuple[list[CatalogDevice], list[HardwareProfile]]]):
        """The catalog's devices, in file order."""

    class BoxesLoaded(Outcome[tuple[RemoteBox, ...]]):
        """The helper boxes hardware.toml remembers."""

    class BoxesKept(Outcome[tuple[RemoteBox, ...]]):
        """The helper boxes the form kept, now saved."""

    class Selected(Outcome[ProfileChoice]):
        """The profile the person picked, resolved and remembered, or why it could not be."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[CatalogDevice] = []
        self._detected: HardwareProfile | None = None
        self._detection_done = False
        self._picked: list[CatalogDevice] = []
        self._saved_boxes: tuple[RemoteBox, ...] = ()  # hardware.toml's, until a profile carries them
        self._custom: list[HardwareProfile] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="profile-box"):
            yield Static(describe_detected(None), id="detected")
        yield Static(describe_boxes(()), id="profile-boxes")
        with Horizontal(id="profile-filter-row"):
            yield Label("Filter ", id="filter-label")
            yield Input(placeholder="type to filter: 4090, 24, Apple, used…", id="profile-filter-input",
                        select_on_focus=False)
        yield Label("", id="profile-picked")
        yield DataTable(id="catalog", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#catalog", DataTable)
        self.query_one("#profile-box").border_title = "This box"
        self.query_one("#profile-boxes").border_title = "Helper boxes (llama.cpp RPC)"
        self._show_boxes()
        self.watch(self.app, "profile", lambda _: self._show_boxes(), init=False)
        self._load_saved_boxes()
        table.add_column("Device", key="name", width=30)
        table.add_column("VRAM", key="vram", width=9)
        table.add_column("GB/s", key="bw", width=6)
        table.add_column("Backend", key="backend", width=7)
        table.add_column("Kind", key="kind")
        self._load_catalog()
        self.detect()
        focus_now(table)
        self._show_picked()

    def on_screen_resume(self) -> None:
        """Back on this screen: a custom profile saved meanwhile (here or with ``gpus --save``) is listed."""
        if self._rows:
            self._load_catalog()

    # -- detection and catalog (workers) ---------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="detect")
    def detect(self) -> None:
        deliver(self, self.Detected, self.app.services.detect_profile)

    @work(thread=True, exclusive=True, exit_on_error=False, group="catalog")
    def _load_catalog(self) -> None:
        """The catalog, and the custom profiles saved here (listed first: they are this person's boxes)."""
        services = self.app.services
        deliver(self, self.CatalogLoaded, lambda: (services.catalog_devices(), services.custom_profiles()))

    @on(Detected)
    def _detected_box(self, event: Detected) -> None:
        if event.error is None:
            self._detected = event.result
            self.query_one("#detected", Static).update(describe_detected(self._detected))
        else:
            self._detected = None
            self.query_one("#detected", Static).update(
                Text(f"Detection failed: {event.error}. Pick a card below or make a custom profile (n).")
            )
        self._detection_done = True
        self.refresh_bindings()

    @on(CatalogLoaded)
    def _catalog_loaded(self, event: CatalogLoaded) -> None:
        if event.error is None:
            self._rows, self._custom = event.result
            self._fill_table()
        else:
            self.notify(f"GPU catalog unavailable: {event.error}", severity="error")

    # -- the table -------------------------------------------------------------------------

    def _filter_words(self) -> list[str]:
        return self.query_one("#profile-filter-input", Input).value.lower().split()

    def _matching_rows(self) -> list[CatalogDevice]:
        words = self._filter_words()
        if not words:
            return self._rows
        matches = []
        for row in self._rows:
            haystack = " ".join([*row.spellings, row.category, row.backend, f"{row.vram_gib:g}gb"]).lower()
            if all(word in haystack for word in words):
                matches.append(row)
        return matches

    def _matching_custom(self) -> list[HardwareProfile]:
        """Saved custom profiles whose name or cards match the filter (all of them without one)."""
        words = self._filter_words()
        found = []
        for profile in self._custom:
            haystack = " ".join([profile.name, "custom", *(gpu.name for gpu in profile.gpus)]).lower()
            if all(word in haystack for word in words):
                found.append(profile)
        return found

    def _fill_table(self) -> None:
        table = self.query_one("#catalog", DataTable)
        table.clear()
        for profile in self._matching_custom():
            gpus = profile.gpus
            vram = "-" if not gpus else (f"{len(gpus)}x{format_gib(gpus[0].vram_bytes)}" if len(gpus) > 1
                                         else f"{format_gib(gpus[0].vram_bytes)} GiB")
            bandwidth = gpus[0].bandwidth_gbps if gpus else profile.ram_bandwidth_gbps
            table.add_row(Text(profile.name), vram, f"{bandwidth:.0f}", gpus[0].backend if gpus else "CPU", "custom",
                          key=f"{CUSTOM_KEY}{profile.name}")
        for row in self._matching_rows():
            vram = "-" if row.is_cpu else f"{row.vram_gib:.3g} GiB"  # 5.33, not 5.33333 cut by the column
            table.add_row(row.name, vram, f"{row.bandwidth_gbps:.0f}", row.backend, row.category, key=str(row.number))
        if self._rows:
            self._show_picked()

    @on(Input.Changed, "#profile-filter-input")
    def _filter_changed(self) -> None:
        self._fill_table()

    def focus_for_key(self, event: events.Key) -> None:
        """Type to filter: a letter typed on the table (that is not a key of its own) moves to the filter,
        which then receives it. The app calls this before routing the key (see ``LocalAIApp.on_event``)."""
        table = self.query_one("#catalog", DataTable)
        if self.focused is not table or not event.is_printable or not event.character:
            return
        if event.character in "dcnbx+/ " or not event.character.isalnum():
            return
        focus_now(self.query_one("#profile-filter-input", Input))

    @on(Input.Submitted, "#profile-filter-input")
    def _pick_first_match(self) -> None:
        """Enter in the filter: size for the first matching device at once (or the cards picked with space)."""
        self._fill_table()  # the filter's last keys may not have refilled the table yet
        table = self.query_one("#catalog", DataTable)
        if table.row_count == 0 and not self._picked:
            self.notify("No device matches the filter", severity="warning")
            return
        focus_now(table)
        if table.row_count:
            table.move_cursor(row=0)
        self.action_use_highlighted()

    def _highlighted_key(self) -> str | None:
        table = self.query_one("#catalog", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _highlighted(self) -> CatalogDevice | None:
        """The highlighted catalog row (None on a custom profile's row, or an empty table)."""
        key = self._highlighted_key()
        return next((row for row in self._rows if str(row.number) == key), None)

    @on(DataTable.RowSelected, "#catalog")
    def _row_selected(self) -> None:
        self.action_use_highlighted()

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "use_detected":
            return self._detected is not None
        if action == "clear_gpus":
            return bool(self._picked)
        in_filter = self.focused is self.query_one("#profile-filter-input", Input)
        if action == "leave_filter":
            return in_filter
        if action in ("focus_filter", "custom", "boxes"):
            return not in_filter  # there "/", "n" and "b" are typed
        return True

    def action_focus_filter(self) -> None:
        focus_now(self.query_one("#profile-filter-input", Input))

    def action_leave_filter(self) -> None:
        focus_now(self.query_one("#catalog", DataTable))

    def _select(self, gpu_args: list[str]) -> None:
        """Resolve and remember the choice in a worker (``auto`` probes NVML), then move on."""
        self.query_one("#profile-picked", Label).update(f"Sizing for {' + '.join(gpu_args)}…")
        self._resolve(gpu_args)

    @work(thread=True, exclusive=True, exit_on_error=False, group="select")
    def _resolve(self, gpu_args: list[str]) -> None:
        deliver(self, self.Selected, lambda: self.app.services.choose_profile(gpu_args))

    @on(Selected)
    def _selected(self, event: Selected) -> None:
        if event.error is None:
            self._chosen(event.result.profile)
            if event.result.problem:
                self.notify(event.result.problem, severity="warning", title="Profile", timeout=10)
        else:
            self._show_picked()
            self.notify(str(event.error), severity="error", title="Profile")

    def _chosen(self, profile: HardwareProfile) -> None:
        self.app.choose_profile(profile)
        self._picked.clear()
        self._show_picked()
        self.notify(f"Sizing for {describe_profile(profile)}", timeout=3)
        self.app.switch_mode("fit" if self.app.model is not None else "browse")

    def action_use_detected(self) -> None:
        if self._detected is not None and self._detected.is_cpu_only:
            self.notify("No NVIDIA GPU found on this box: sizing for its CPU and RAM", timeout=4)
        self._select(["auto"])

    def action_use_cpu_only(self) -> None:
        self._select(["cpu"])

    def action_add_gpu(self) -> None:
        row = self._highlighted()
        if row is None or row.is_cpu:
            self.notify("Pick a GPU row to add", severity="warning")
            return
        self._picked.append(row)
        self._show_picked()
        self.refresh_bindings()

    def action_clear_gpus(self) -> None:
        self._picked.clear()
        self._show_picked()
        self.refresh_bindings()

    def _show_picked(self) -> None:
        label = self.query_one("#profile-picked", Label)
        words = self._filter_words()
        if words and self.query_one("#catalog", DataTable).row_count == 0:
            label.update(Text(f"No device matches '{' '.join(words)}' (esc, then n: a custom profile)", "yellow"))
        elif not self._picked:
            label.update("Enter: size for the highlighted device · space: add it to a multi-GPU box")
        else:
            names = " + ".join(row.name for row in self._picked)
            label.update(Text.assemble(("Multi-GPU: ", "bold"), names, "  (enter uses them, x clears)"))

    def action_use_highlighted(self) -> None:
        rows = list(self._picked)
        key = self._highlighted_key()
        if not rows and key is not None and key.startswith(CUSTOM_KEY):
            self._select([key[len(CUSTOM_KEY):]])  # a saved custom profile, by its name
            return
        if not rows:
            row = self._highlighted()
            if row is None:
                return
            rows = [row]
        self._select([row.name for row in rows])

    @work(thread=True, exclusive=True, exit_on_error=False, group="boxes-load")
    def _load_saved_boxes(self) -> None:
        deliver(self, self.BoxesLoaded, self.app.services.saved_boxes)

    @on(BoxesLoaded)
    def _boxes_loaded(self, event: BoxesLoaded) -> None:
        if event.error is None:
            self._saved_boxes = event.result
            self._show_boxes()
        else:
            self.notify(escape(f"hardware.toml: {event.error}"), severity="error", title="Helper boxes")

    def _current_boxes(self) -> tuple[RemoteBox, ...]:
        profile = self.app.profile
        return profile.boxes if profile is not None else self._saved_boxes

    def _show_boxes(self) -> None:
        boxes = self._current_boxes()
        panel = self.query_one("#profile-boxes", Static)
        panel.update(describe_boxes(boxes))
        panel.display = bool(boxes)

    async def action_boxes(self) -> None:
        """Edit the helper boxes (wait until the form is up, so the keys after ``b`` fill it); kept ones
        are remembered and join the profile being sized."""
        from tui.screens.boxes import BoxesScreen

        def kept(boxes: tuple[RemoteBox, ...] | None) -> None:
            if boxes is not None:
                self._keep_boxes(boxes)

        await self.app.push_screen(BoxesScreen(self._current_boxes()), kept)

    @work(thread=True, exclusive=True, exit_on_error=False, group="boxes")
    def _keep_boxes(self, boxes: tuple[RemoteBox, ...]) -> None:
        def save() -> tuple[RemoteBox, ...]:
            self.app.services.save_boxes(boxes)
            return boxes

        deliver(self, self.BoxesKept, save)

    @on(BoxesKept)
    def _boxes_kept(self, event: BoxesKept) -> None:
        from tui.core.hardware.boxes import attach_boxes

        if event.error is not None:
            self.notify(escape(str(event.error)), severity="error", title="Helper boxes")
            return
        self._saved_boxes = event.result
        if self.app.profile is not None:
            self.app.choose_profile(attach_boxes(self.app.profile, event.result))
        self._show_boxes()

    async def action_custom(self) -> None:
        """Open the form and wait until it is mounted and focused, so the keys after ``n`` fill it."""
        from tui.screens.custom_profile import CustomProfileScreen

        def saved(profile: HardwareProfile | None) -> None:
            if profile is not None:
                self._load_catalog()  # list it with the others from now on
                self._select([profile.name])

        await self.app.push_screen(CustomProfileScreen(self._detected), saved)
