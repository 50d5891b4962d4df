"""A repo's files by quant label: size, shards, bits per weight, fit for the chosen profile, the label explained.

The listing comes from ``tui.core.hub.repo_files`` (one Hub request, cached for offline use);
picking a label reads just its GGUF header over HTTP ranges, then opens the Fit screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Label, Static

from tui.core.fit.verdict import Verdict
from tui.core.safe_text import one_line, printable
from tui.messages import ModelOpened, Outcome, deliver
from tui.screens.base import AppScreen
from tui.screens.focus import focus_now
from tui.units import format_context, format_rate, format_rate_compact, format_size
from tui.widgets.safe_markup import plain, plain_block
from tui.widgets.verdict_style import verdict_text

if TYPE_CHECKING:
    from tui.core.fit.settings import LlamaSettings
    from tui.core.hardware.devices import HardwareProfile
    from tui.core.hub.badges import FitBadge
    from tui.core.hub.repo_files import QuantGroup, RepoQuants

#: What each badge verdict (``tui.core.hub.badges.VERDICTS``) means, for the side panel.
VERDICT_MEANINGS = {
    Verdict.FITS: "fits with every layer on the GPU and llama.cpp's 1 GiB to spare",
    Verdict.TIGHT: "fits on the GPU, but without the 1 GiB llama.cpp keeps free",
    Verdict.PARTIAL: "runs with part of it in system RAM (slower)",
    Verdict.NO_FIT: "too big for this machine, even with offloading",
}

#: What side files are for.
SIDE_KINDS = {"mmproj": "vision projector, for images", "mtp": "multi-token prediction head",
              "imatrix": "importance matrix, used when quantizing"}


def row_name(group) -> str:
    """A row's name in the table: its label, else its file name (not the whole path)."""
    return group.label or group.first_path.rsplit("/", 1)[-1]


def badge_summary(badge, sides) -> Text:
    """The side panel's head for one row: verdict, speed, what partial offloading takes, its side files."""
    text = Text()
    if badge is not None:
        text.append(verdict_text(badge.verdict, short=True, bold=True))
        if badge.tokens_per_s:
            text.append(f"  ~{format_rate(badge.tokens_per_s)}", "bold")
        text.append(f"\n{VERDICT_MEANINGS.get(badge.verdict, '')}")
        text.append(f" at {format_context(badge.n_ctx)} context on {badge.profile_name}", "dim")
        if badge.ttft_s:  # prompt processing: the other half of "will it run fast"
            text.append(f"\nprompt ~{format_rate(badge.prompt_tokens_per_s)} · first token in {badge.ttft_text()} "
                        f"({badge.prompt_tokens} tokens)")
        if badge.detail:
            text.append(f"\n{badge.detail}")
        if badge.source == "size":
            text.append("\n* estimated from the file size; enter reads its header", "dim")
        text.append("\n\n")
    for side in sides:
        text.append(f"+ {one_line(side.path)}", "bold")
        text.append(f" ({format_size(side.file.size)}, {SIDE_KINDS.get(side.kind, side.kind)})\n", "dim")
    if sides:
        text.append("\n")
    return text


class RepoScreen(AppScreen):
    """Pushed over Browse: Enter picks the highlighted label, Escape goes back."""

    WHERE = "Repo files"
    BINDINGS = [
        Binding("escape,backspace", "back", "Back", id="repo-back"),
        Binding("enter", "pick", "Pick label", id="repo-pick", show=True),
        Binding("r", "reload", "Reload", id="repo-reload"),
    ]

    class Listed(Outcome[Any]):
        """The repo's files grouped by quant label (``RepoQuants``), or why not."""

    class Rated(Outcome[dict]):
        """Group name -> ``FitBadge`` for the listed rows, or why there are none."""

    def __init__(self, repo_id: str) -> None:
        super().__init__()
        self.repo_id = repo_id
        self.quants: RepoQuants | None = None
        self.badges: dict[str, FitBadge] = {}

    def compose_body(self) -> ComposeResult:
        yield Label(plain(self.repo_id, "bold"), id="repo-title")
        yield Label("", id="repo-fit-note")
        with Horizontal(id="repo-split"):
            yield DataTable(id="repo-files", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="repo-side"):
                yield Static("", id="label-explained")
        yield Static("", id="repo-side-files")

    def on_mount(self) -> None:
        table = self.query_one("#repo-files", DataTable)
        table.add_column("Label", key="label", width=12)
        table.add_column("Size", key="size", width=9)
        table.add_column("Sh", key="shards", width=2)
        table.add_column("bpw", key="bpw", width=5)
        table.add_column("Fit", key="fit", width=8)
        table.add_column("t/s", key="tps", width=4)
        self.query_one("#label-explained", Static).update(Text("Reading the repo's file list…", "dim"))
        self._list()
        focus_now(table)

    @work(thread=True, exclusive=True, exit_on_error=False, group="repo-list")
    def _list(self) -> None:
        deliver(self, self.Listed, lambda: self.app.services.repo_quants(self.repo_id))

    @on(Listed)
    def _listed(self, event: Listed) -> None:
        if event.error is None:
            self._show(event.result)
            return
        self.query_one("#label-explained", Static).update(
            Text.assemble(("Could not open the repo: ", "bold red"), printable(str(event.error))))
        self.notify(printable(str(event.error)), severity="error", title=self.repo_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="repo-badges")
    def _rate(self, quants: RepoQuants, profile: HardwareProfile, settings: LlamaSettings) -> None:
        """Fit badges need the profile and may read headers: they follow the list, never hold it up."""
        deliver(self, self.Rated, lambda: self.app.services.fit_badges(quants, profile, settings))

    @on(Rated)
    def _rated(self, event: Rated) -> None:
        if event.error is not None:
            self.query_one("#repo-side-files", Static).update(plain_block(f"Fit badges unavailable: {event.error}", "yellow"))
            return
        self.badges = event.result
        self._fill_table()

    def _show(self, quants: RepoQuants) -> None:
        self.quants = quants
        self._fill_table()
        note = self.query_one("#repo-fit-note", Label)
        profile, settings = self.app.profile, self.app.settings
        if profile is None:
            note.update(Text("Choose a hardware profile (F2) to see what fits.", "yellow"))
        else:
            note.update(Text(f"Fit on {profile.name}, {format_context(settings.n_ctx)} context"
                             " · enter opens it in Fit", "dim"))
            self._rate(quants, profile, settings)

    def _fill_table(self) -> None:
        quants, badges = self.quants, self.badges
        if quants is None:  # the file list has not arrived
            return
        table = self.query_one("#repo-files", DataTable)
        cursor = table.cursor_row
        table.clear()
        for group in quants.groups:
            badge = badges.get(group.name)
            bpw = f"{group.bits_per_weight:.2f}" if group.bits_per_weight else "-"
            if badge is not None:
                mark = "*" if badge.source == "size" else ""
                verdict = verdict_text(badge.verdict, short=True, suffix=mark)
                rate = format_rate_compact(badge.tokens_per_s)
            else:
                verdict, rate = Text("…" if self.app.profile is not None else "-", "dim"), "-"
            table.add_row(plain(row_name(group)), format_size(group.size_bytes), str(group.shards), bpw, verdict, rate,
                          key=group.name)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        sides = quants.side_files
        if sides:
            names = " · ".join(f"{one_line(side.path)} {format_size(side.file.size)}" for side in sides)
            kinds = ", ".join(sorted({SIDE_KINDS.get(side.kind, side.kind) for side in sides}))
            self.query_one("#repo-side-files", Static).update(
                Text.assemble(("Side files, not models: ", "bold"), names, (f"  ({kinds})", "dim")))
        stale = quants.listing.stale_because
        if stale is not None:
            self.notify(f"Hub unavailable ({stale}); showing the cached file list", severity="warning")
        if not quants.groups:
            self.query_one("#label-explained", Static).update(Text("This repo has no GGUF model files.", "yellow"))
        else:
            self._explain_highlighted()

    @on(DataTable.RowHighlighted, "#repo-files")
    def _explain_highlighted(self, event=None) -> None:
        group, quants = self._highlighted(), self.quants
        if group is None or quants is None:
            return
        companions = [side for side in quants.side_files_for(group) if side.kind != "imatrix"]
        head = badge_summary(self.badges.get(group.name), companions)
        explained = self.app.services.explain_label(group.label or "")
        self.query_one("#label-explained", Static).update(Text.assemble(head, explained))

    def _highlighted(self) -> QuantGroup | None:
        if self.quants is None:
            return None
        table = self.query_one("#repo-files", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((g for g in self.quants.groups if g.name == key), None)

    # -- picking a label -------------------------------------------------------------------

    @on(DataTable.RowSelected, "#repo-files")
    def _selected(self) -> None:
        self.action_pick()

    def action_pick(self) -> None:
        group, quants = self._highlighted(), self.quants
        if group is None or quants is None:
            return
        self.notify(f"Reading the header of {group.first_path}…", timeout=2)
        self._read_header(quants, group)

    @work(thread=True, exclusive=True, exit_on_error=False, group="repo-header")
    def _read_header(self, quants: RepoQuants, group: QuantGroup) -> None:
        deliver(self, ModelOpened, lambda: self.app.services.choose_remote_model(quants, group))

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        if event.error is not None:
            # The whole message on the page too (a gated repo's hint is long: a toast at 80 columns cuts it).
            self.query_one("#label-explained", Static).update(
                Text.assemble(("Could not read it: ", "bold red"), str(event.error)))
            self.notify(str(event.error), severity="error", title=self.repo_id)
            return
        self.dismiss()
        self.app.choose_model(event.result)

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self._list()
