"""Step 2, Browse: search Hugging Face for GGUF repos (debounced, newest query wins), or list local models.

Searches run in an exclusive worker, so a query typed while another is in flight cancels it;
Hub failures become a message and the last cached answer is shown when there is one. A search
shows its first page; ``n`` appends the next one (the Hub's own paging, ``next_search_page``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, TabbedContent, TabPane

from tui.messages import ModelOpened, Outcome, deliver
from tui.screens.base import AppScreen
from tui.screens.focus import focus_now
from tui.screens.open_model import open_model_spec
from tui.units import ellipsize_middle, format_count, format_size

#: Pause after the last keystroke before the Hub is asked (seconds).
SEARCH_DEBOUNCE_S = 0.35

#: Sort orders, in the order the ``s`` key cycles them (names from ``tui.core.hub.search.SORT_KEYS``).
SORTS = ("downloads", "likes", "trending", "updated")


def short_date(iso: str | None) -> str:
    """``2025-03-14`` from an ISO timestamp; ``-`` when unknown."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return iso[:10]


class BrowseScreen(AppScreen):
    """A search box, a sort order and the results; Enter opens a repo's files by quant label."""

    WHERE = "Browse"
    BINDINGS = [
        # "/" and Escape move focus: priority bindings act in the app's key loop, so the keys typed
        # after them (one burst over SSH) reach the widget they were meant for.
        Binding("slash", "focus_search", "Search", id="browse-search", priority=True),
        Binding("s", "cycle_sort", "Sort", id="browse-sort"),
        Binding("t", "toggle_tab", "Hub/Local", id="browse-tab"),
        Binding("ctrl+t", "toggle_tab_anywhere", "Hub/Local", id="browse-tab-anywhere", show=False,
                tooltip="Switch tabs even while typing in the search box"),
        Binding("r", "refresh", "Refresh", id="browse-refresh"),
        Binding("n", "more_results", "More", id="browse-more", tooltip="Load the next page of results"),
        Binding("o", "open_model", "Open file", id="browse-open", tooltip="Open a .gguf path or OWNER/REPO:LABEL in Fit"),
        Binding("escape", "leave_search", "Results", id="browse-results", show=False, priority=True),
    ]

    class Searched(Outcome[Any]):
        """A Hub search answered (``SearchPage``; a stale cached one when the Hub is down), or failed."""

    class MoreFound(Outcome[Any]):
        """The next page of the shown search (``SearchPage``; None past the last), or why not."""

    class LocalListed(Outcome[list]):
        """The models on disk (``LocalModel``), or why they could not be listed."""

    def __init__(self) -> None:
        super().__init__()
        self.sort = SORTS[0]
        self.results: list = []
        self.page: Any = None  # the last page shown: its ``next_url`` says whether there is more
        self.local_models: list = []
        self._debounce: Timer | None = None
        self._last_query: str | None = None
        self._search_failed = False  # the last search raised: Enter asks again even for the same words

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="browse-tabs", initial="hub-tab"):
            with TabPane("Hugging Face", id="hub-tab"):
                with Horizontal(id="search-row"):
                    yield Input(placeholder="search GGUF repos: qwen3, gemma, llama…", id="search-input")
                    yield Label("", id="sort-label")
                yield Label("", id="search-status")
                yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
            with TabPane("Local", id="local-tab"):
                yield Label("", id="local-status")
                yield DataTable(id="local", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        results = self.query_one("#results", DataTable)
        # The repo column takes what the numbers leave: 5 columns of 36 cells, 2 cells of padding each, margins.
        repo_width = max(24, self.app.size.width - 51)
        results.add_column("Repo", key="repo", width=repo_width)
        results.add_column("Downl.", key="downloads", width=6)
        results.add_column("Likes", key="likes", width=5)
        results.add_column("Updated", key="updated", width=10)
        results.add_column("Arch", key="arch", width=9)
        results.add_column("Params", key="params", width=6)
        local = self.query_one("#local", DataTable)
        local.add_column("File", key="file", width=40)
        local.add_column("Size", key="size", width=10)
        local.add_column("Label", key="label", width=8)
        local.add_column("Where", key="where")
        self._show_sort()
        self.search("")
        self.list_local()
        focus_now(self.query_one("#search-input", Input))

    def on_screen_resume(self) -> None:
        """Back on Browse (after a download on Fit, say): the Local tab lists what is on disk now."""
        if self.is_mounted:
            self.list_local()

    # -- searching -------------------------------------------------------------------------

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    @on(Input.Changed, "#search-input")
    def _query_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(SEARCH_DEBOUNCE_S, lambda: self.search(event.value))

    @on(Input.Submitted, "#search-input")
    def _query_submitted(self, event: Input.Submitted) -> None:
        """Enter in the search box: search now (unless these words were just asked) and move to the results."""
        if self._debounce is not None:
            self._debounce.stop()
        if event.value.strip() != self._last_query or self._search_failed:
            self.search(event.value)
        focus_now(self.query_one("#results", DataTable))

    def search(self, text: str) -> None:
        self._last_query = text.strip()
        self.query_one("#search-status", Label).update(Text(f"Searching {text.strip() or 'the most popular'}…", "dim"))
        self._search(self._last_query, self.sort)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hub-search")
    def _search(self, text: str, sort: str) -> None:
        deliver(self, self.Searched, lambda: self.app.services.search_hub(text, sort))

    @on(Searched)
    def _searched(self, event: Searched) -> None:
        self._search_failed = event.error is not None
        if event.error is None:
            self._show_results(event.result)
            self.refresh_bindings()
            return
        shown = "; the table still shows the last results" if self.results else ""
        self.query_one("#search-status", Label).update(
            Text.assemble(("Hub: ", "bold red"), str(event.error), shown,
                          ("  (enter or r retries · ctrl+t shows models on disk)", "dim"))
        )

    def _show_results(self, page, *, append: bool = False) -> None:
        table = self.query_one("#results", DataTable)
        if not append:
            self.results = []
            table.clear()
        repo_column = next((c for c in table.columns.values() if c.key.value == "repo"), None)
        width = repo_column.width if repo_column is not None else 40
        shown = {r.repo_id for r in self.results}
        for result in page.results:
            if result.repo_id in shown:
                continue  # the Hub's order moved between two pages: a repo is listed once
            shown.add(result.repo_id)
            self.results.append(result)
            gated = " (gated)" if result.gated else ""
            repo = Text(ellipsize_middle(result.repo_id, max(8, width - len(gated))))
            if gated:
                repo.append(gated, "yellow")
            table.add_row(repo, format_count(result.downloads), format_count(result.likes),
                          short_date(result.last_modified), result.architecture or "-",
                          format_count(result.n_params) if result.n_params else "-", key=result.repo_id)
        self.page = page
        more = " · n: more" if page.next_url else ""
        status = Text(f"{len(self.results)} repos · sorted by {self.sort}{more}")
        if page.stale_because is not None:
            status = Text.assemble((f"Hub unavailable ({page.stale_because}); showing the cached answer", "yellow"))
        elif not self.results:
            status = Text("No GGUF repos match. Try another word.", "yellow")
        self.query_one("#search-status", Label).update(status)

    # -- more results --------------------------------------------------------------------

    def action_more_results(self) -> None:
        if self.page is None or not self.page.next_url:
            return
        self.query_one("#search-status", Label).update(Text("Loading more…", "dim"))
        self._more(self.page)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hub-search")
    def _more(self, page) -> None:
        deliver(self, self.MoreFound, lambda: self.app.services.next_search_page(page))

    @on(MoreFound)
    def _more_found(self, event: MoreFound) -> None:
        if event.error is not None:
            self.query_one("#search-status", Label).update(
                Text.assemble(("Hub: ", "bold red"), str(event.error), ("  (n tries again)", "dim")))
        elif event.result is not None:
            self._show_results(event.result, append=True)
        self.refresh_bindings()

    def _show_sort(self) -> None:
        self.query_one("#sort-label", Label).update(Text.assemble((" sort ", "dim"), (self.sort, "bold"), (" (s)", "dim")))

    # -- local models ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="local-list")
    def list_local(self) -> None:
        deliver(self, self.LocalListed, self.app.services.local_models)

    @on(LocalListed)
    def _local_listed(self, event: LocalListed) -> None:
        if event.error is None:
            self._show_local(event.result)
        else:
            self.query_one("#local-status", Label).update(Text(str(event.error), "red"))

    def _show_local(self, models: list) -> None:
        self.local_models = models
        table = self.query_one("#local", DataTable)
        table.clear()
        for index, model in enumerate(models):
            table.add_row(model.display_name, format_size(model.size_bytes), model.label or "-",
                          "HF cache" if model.source == "hf-cache" else str(model.path.parent), key=str(index))
        self.query_one("#local-status", Label).update(
            Text(f"{len(models)} models on disk · o opens any .gguf file" if models
                 else "No models downloaded yet · o opens any .gguf file by its path", "dim")
        )

    # -- opening ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#results")
    def _open_repo(self, event: DataTable.RowSelected) -> None:
        from tui.screens.repo import RepoScreen

        self.app.push_screen(RepoScreen(str(event.row_key.value)))

    @on(DataTable.RowSelected, "#local")
    def _open_local(self, event: DataTable.RowSelected) -> None:
        model = self.local_models[int(str(event.row_key.value))]
        self.notify(f"Reading {model.display_name}…", timeout=2)
        open_model_spec(self, str(model.path))

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        if event.error is None:
            self.app.choose_model(event.result)
        else:
            self.notify(str(event.error), severity="error", title="Open model")

    # -- actions ---------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#browse-tabs", TabbedContent).active = "hub-tab"
        focus_now(self.query_one("#search-input", Input))

    def action_leave_search(self) -> None:
        focus_now(self.query_one("#results", DataTable))

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show_sort()
        self.search(self.query_one("#search-input", Input).value)

    def action_toggle_tab_anywhere(self) -> None:
        self.action_toggle_tab()

    def action_toggle_tab(self) -> None:
        tabs = self.query_one("#browse-tabs", TabbedContent)
        tabs.active = "local-tab" if tabs.active == "hub-tab" else "hub-tab"
        self.refresh_bindings()
        focus_now(self.query_one("#local" if tabs.active == "local-tab" else "#results", DataTable))

    async def action_open_model(self) -> None:
        """Type a path or OWNER/REPO:LABEL: the Fit screen's open box does the rest."""
        from tui.screens.fit import FitScreen

        await self.app.switch_mode("fit")
        screen = self.app.screen
        if isinstance(screen, FitScreen):
            screen.action_open_model()

    def action_refresh(self) -> None:
        self.search(self.query_one("#search-input", Input).value)
        self.list_local()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_search":
            return self.focused is self.query_one("#search-input", Input)
        if action == "focus_search":
            return self.focused is not self.query_one("#search-input", Input)  # there "/" is typed
        if action == "cycle_sort" and self.query_one("#browse-tabs", TabbedContent).active == "local-tab":
            return False  # the sort is the Hub's: on the Local tab s changes nothing
        if action in ("cycle_sort", "toggle_tab", "refresh", "open_model", "more_results"):
            if isinstance(self.focused, Input):
                return False  # letters type into the box there: hide these keys
            if action == "more_results":
                return self.page is not None and bool(self.page.next_url) and self._on_hub_tab()
        return True

    def _on_hub_tab(self) -> bool:
        return self.query_one("#browse-tabs", TabbedContent).active == "hub-tab"
