"""What the person has chosen so far in the app: the model file and where it lives.

Plain data, no Textual: the app keeps one ``ChosenModel`` and every screen reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui.core.gguf.anatomy import ModelAnatomy


@dataclass(frozen=True)
class ChosenModel:
    """A GGUF model the person picked, with its anatomy already read from the header.

    ``local_path`` is set once the file is on disk (chat needs it); a remote pick has
    ``repo_id`` and ``filename`` (the first shard for split models) so it can be downloaded.
    """

    spec: str                      # what names it: a path, OWNER/REPO:LABEL or OWNER/REPO/FILE.gguf
    anatomy: ModelAnatomy
    local_path: Path | None = None
    repo_id: str | None = None
    filename: str | None = None
    label: str | None = None       # quant label, e.g. Q4_K_M
    commit: str | None = None      # the Hub commit the header was read at (downloads pin to it)
    files: tuple = ()              # the Hub files (``HubFile``) of every shard, in order: what a download fetches

    @property
    def title(self) -> str:
        """A short name for headers: ``owner/repo Q4_K_M`` or the file name (controls shown, never sent)."""
        from tui.core.safe_text import one_line

        if self.repo_id:
            return one_line(f"{self.repo_id} {self.label or self.filename or ''}".strip())
        if self.local_path is not None:
            return one_line(self.local_path.name)
        return one_line(self.spec)

    @property
    def is_local(self) -> bool:
        return self.local_path is not None and self.local_path.exists()

    def downloaded_to(self, path: Path) -> ChosenModel:
        from dataclasses import replace

        return replace(self, local_path=path)
