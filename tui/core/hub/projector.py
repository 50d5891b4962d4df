"""The vision projector that goes with a Hub model: which file (``best_mmproj``) and its size,
read from its header alone (a few KiB by range requests), for ``fit --mmproj auto``."""

from __future__ import annotations

from tui.core.errors import LocalAIError
from tui.core.fit.projector import ProjectorSize, projector_from_header
from tui.core.hub.client import HubClient
from tui.core.hub.model_ref import HubModelRef, best_mmproj, resolve_hub_model
from tui.core.hub.remote_header import RemoteShard, read_remote_headers
from tui.core.hub.repo_files import QuantGroup, RepoQuants
from tui.core.hub.repo_listing import HubFile


def read_hub_projector(ref: HubModelRef, client: HubClient | None = None) -> ProjectorSize:
    """The projector of the row ``ref`` names; a repo without one is told in one line."""
    resolved = resolve_hub_model(ref, client)
    side = best_mmproj(resolved.quants, resolved.group)
    if side is None:
        raise LocalAIError(f"{ref.repo_id} has no vision projector (mmproj) file for {resolved.group.label}",
                           hint="a text-only model needs no --mmproj")
    (header,), _ = read_remote_headers(resolved.repo_id, resolved.commit, [RemoteShard(side.path, side.file.size)],
                                       client=client)
    return projector_from_header(header, f"{resolved.repo_id}/{side.path}")


def group_projector(quants: RepoQuants, group: QuantGroup, seen: dict[str, ProjectorSize | None] | None = None, *,
                    client: HubClient | None = None) -> ProjectorSize | None:
    """The projector that serves ``group`` (None for a text-only repo); ``seen`` caches by file."""
    side = best_mmproj(quants, group)
    if side is None:
        return None
    if seen is not None and side.path in seen:
        return seen[side.path]
    listing = quants.listing
    (header,), _ = read_remote_headers(listing.repo_id, listing.commit, [RemoteShard(side.path, side.file.size)],
                                       client=client)
    projector = projector_from_header(header, f"{listing.repo_id}/{side.path}")
    if seen is not None:
        seen[side.path] = projector
    return projector


def projector_for_model(quants: RepoQuants, group: QuantGroup, *,
                        client: HubClient | None = None) -> tuple[ProjectorSize | None, HubFile | None]:
    """(size, file) of the projector a chosen row comes with; (None, None) for a text-only repo or
    when its header cannot be read (the model still opens; the fit then leaves the projector out)."""
    side = best_mmproj(quants, group)
    if side is None:
        return None, None
    try:
        return group_projector(quants, group, client=client), side.file
    except LocalAIError:
        return None, None
