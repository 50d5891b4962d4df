"""The vision projector that goes with a Hub model: which file (``best_mmproj``) and its size,
read from its header alone (a few KiB by range requests), for ``fit --mmproj auto``."""

from __future__ import annotations

from tui.core.errors import LocalAIError
from tui.core.fit.projector import ProjectorSize, projector_from_header
from tui.core.hub.client import HubClient
from tui.core.hub.model_ref import HubModelRef, best_mmproj, resolve_hub_model
from tui.core.hub.remote_header import RemoteShard, read_remote_headers


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
