"""The app's doors into the domain layer (``tui.core``), gathered so tests can point them elsewhere.

Every method imports its module when called: the first screen paints before llama_cpp,
huggingface_hub or NVML are loaded. Nothing here imports Textual, and nothing here decides:
each method forwards to the function of the core that owns the answer (the CLI's commands call
the same functions), adding only this app's Hub endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.errors import LocalAIError
from tui.core.hardware.devices import HardwareProfile
from tui.core.hub.model_spec import ChosenModel

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from tui.core.engine.chat import ChatSession
    from tui.core.engine.memory import MemoryUse
    from tui.core.engine.runtime import Engine
    from tui.core.engine.sampling import SamplingSettings
    from tui.core.fit.autofit import AutoFit
    from tui.core.fit.estimate import FitEstimate
    from tui.core.fit.settings import LlamaSettings
    from tui.core.gguf.anatomy import ModelAnatomy
    from tui.core.hardware.catalog import CatalogDevice
    from tui.core.hub.badges import FitBadge
    from tui.core.hub.client import HubClient
    from tui.core.hub.library import LocalModel
    from tui.core.hub.repo_files import RepoQuants
    from tui.core.hub.repo_listing import RepoListing
    from tui.core.hub.search import SearchPage
    from tui.session import ChosenModel


@dataclass
class Services:
    """Where the app finds the Hub and its files. ``hub_endpoint`` None means huggingface.co (or HF_ENDPOINT)."""

    hub_endpoint: str | None = None
    hub_token: str | None = None
    log_dir: Path | None = None
    models_dir: Path | None = None

    # -- hardware --------------------------------------------------------------------------

    def detect_profile(self) -> HardwareProfile:
        from tui.core.hardware.detect import detect_profile

        return detect_profile()

    def catalog_devices(self) -> list[CatalogDevice]:
        """The catalog's entries (``CatalogDevice``), in file order."""
        from tui.core.hardware.catalog import load_gpu_catalog

        return list(load_gpu_catalog().devices)

    def has_remembered_profile(self) -> bool:
        """True once a profile was chosen in the app (hardware.toml exists): open at Browse, not at the profile."""
        from tui.core.hardware.profile_store import hardware_settings_path

        return hardware_settings_path().exists()

    def load_selected_profile(self) -> HardwareProfile:
        """The remembered profile, or this machine's (may probe NVML: call from a worker)."""
        from tui.core.hardware.profiles import load_selected_profile

        return load_selected_profile()

    def select_profile(self, gpu_args: list[str], remember: bool = True) -> HardwareProfile:
        """The profile ``--gpu`` values describe (``auto``, ``cpu``, catalog names, a custom name); remembered."""
        from tui.core.hardware.boxes import attach_boxes
        from tui.core.hardware.profile_store import load_hardware_settings
        from tui.core.hardware.profiles import remember_selection, resolve_profile

        profile = resolve_profile(gpu_args)
        if remember:
            remember_selection(gpu_args)
        boxes = load_hardware_settings().boxes  # helper boxes join whichever head is chosen
        return attach_boxes(profile, boxes) if boxes else profile

    def custom_profiles(self) -> list[HardwareProfile]:
        from tui.core.hardware.profile_store import load_custom_profiles

        return list(load_custom_profiles())

    def save_custom_profile(self, entry: dict[str, object]) -> HardwareProfile:
        """Check a ``[[profile]]`` table (GiB, GB/s) as profiles.toml would hold it, save it, return the profile."""
        from tui.core.hardware.profile_store import profile_from_toml, save_custom_profile

        profile = profile_from_toml(entry, where="custom profile")
        save_custom_profile(profile)
        return profile

    # -- models ----------------------------------------------------------------------------

    def log_directory(self) -> Path:
        from tui.core.paths import log_dir

        return self.log_dir or log_dir()

    # -- the engine ------------------------------------------------------------------------

    def load_engine(self, path: Path, settings: LlamaSettings, *, on_progress: Callable[[float], object] | None = None,
                    cancel: threading.Event | None = None) -> Engine:
        """Load ``path`` with ``settings`` in-process (llama.cpp's log goes to the log dir, never the screen)."""
        from tui.core.engine.runtime import Engine

        return Engine.load(path, settings, on_progress=on_progress, cancel=cancel, fit_ctx_to_model=True)

    def chat_session(self, engine: Engine, system_prompt: str | None, sampling: SamplingSettings | None) -> ChatSession:
        from tui.core.engine.chat import ChatSession

        if sampling is None:
            return ChatSession(engine, system_prompt=system_prompt)
        return ChatSession(engine, system_prompt=system_prompt, sampling=sampling)

    def default_sampling(self) -> SamplingSettings:
        from tui.core.engine.sampling import SamplingSettings

        return SamplingSettings()

    def memory_use(self) -> MemoryUse:
        from tui.core.engine.memory import memory_use

        return memory_use()

    def choose_model_spec(self, spec: str) -> ChosenModel:
        """The model a person typed (a local path, OWNER/REPO:LABEL, OWNER/REPO/PATH.gguf), its header read.

        ``tui.core.hub.model_spec.open_model_spec``: the CLI's MODEL argument, same errors. Call from a worker.
        """
        from tui.core.hub.model_spec import open_model_spec

        return open_model_spec(spec, client=self.hub_client())

    # -- the Hub ---------------------------------------------------------------------------

    def hub_client(self) -> HubClient:
        from tui.core.hub.client import HubClient

        return HubClient(self.hub_endpoint)

    def search_hub(self, text: str, sort: str) -> SearchPage:
        """One page of GGUF repos (``SearchPage``); a Hub failure falls back to the cached answer or raises HubError."""
        from tui.core.hub.search import search_models

        return search_models(text, sort=sort, client=self.hub_client())

    def repo_listing(self, repo_id: str) -> RepoListing:
        from tui.core.hub.repo_listing import fetch_repo_listing

        return fetch_repo_listing(repo_id, client=self.hub_client())

    def local_models(self) -> list[LocalModel]:
        """Models already on disk (``LocalModel``: the Hugging Face cache and the library folders)."""
        from tui.core.hub.library import scan_library

        return list(scan_library().models)

    def repo_quants(self, repo_id: str) -> RepoQuants:
        """The repo's GGUF files grouped by quant label (``RepoQuants``), side files apart."""
        from tui.core.hub.repo_files import group_repo_files

        return group_repo_files(self.repo_listing(repo_id))

    def fit_badges(self, quants: RepoQuants, profile: HardwareProfile | None, settings: LlamaSettings
                   ) -> dict[str, FitBadge]:
        """Quant group name -> badge (``verdict``, ``tokens_per_s``) for ``profile``; empty without a profile."""
        if profile is None:
            return {}
        from tui.core.hub.badges import fit_badges

        badges = fit_badges(quants, profile, settings, client=self.hub_client())
        return {badge.group_name: badge for badge in badges}

    def explain_label(self, label: str) -> str:
        from tui.core.gguf.labels import explain_label

        if not label:
            return "This file's name carries no quant label."
        try:
            return explain_label(label)
        except LocalAIError as exc:
            return str(exc)

    def choose_remote_model(self, quants, group) -> ChosenModel:
        """A quant row picked from a listed repo, its header(s) read over HTTP ranges (cached on disk)."""
        from tui.core.hub.model_spec import model_from_group

        return model_from_group(quants, group, client=self.hub_client())

    def download_model(self, model: ChosenModel, *, progress=None, cancel=None) -> ChosenModel:
        """Download every shard of ``model`` into the HF cache: ``localai-tui download``'s path, pinned to the
        commit its header was read at. ``progress`` receives ``DownloadProgress`` from the download thread."""
        from tui.core.hub.model_download import download_chosen

        return download_chosen(model, progress=progress, cancel=cancel, client=self.hub_client())

    # -- fit -------------------------------------------------------------------------------

    def estimate_fit(self, anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings) -> FitEstimate:
        """``FitEstimate``: memory per device (bytes), the verdict, tokens/s and llama.cpp's flags (< 1 ms)."""
        from tui.core.fit.estimate import estimate_fit

        return estimate_fit(anatomy, profile, settings)

    def auto_fit(self, anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings) -> AutoFit:
        """``AutoFit``: llama.cpp ``--fit``'s choice from ``settings`` (shorter context, experts on the CPU,
        fewer GPU layers), the estimate for it, and what it changed, in words."""
        from tui.core.fit.autofit import explain_auto_fit

        return explain_auto_fit(anatomy, profile, settings)

    def llama_server_command(self, model: ChosenModel, estimate: FitEstimate) -> str:
        """The ``llama-server`` command line that runs ``model`` as estimated (for copying over SSH)."""
        from tui.core.fit.llama_args import llama_server_command

        rpc = getattr(estimate, "rpc_endpoints", ())
        if model.local_path is not None:
            return llama_server_command(str(model.local_path), estimate.settings, source="path", rpc=rpc)
        if model.repo_id:
            name = f"{model.repo_id}:{model.label}" if model.label else model.repo_id
            return llama_server_command(name, estimate.settings, source="hf", rpc=rpc)
        return llama_server_command(model.spec, estimate.settings, source="path", rpc=rpc)

    def rpc_server_commands(self, profile: HardwareProfile) -> list[tuple[str, str]]:
        """(box name, shell command) of the ``ggml-rpc-server`` to start on each helper box."""
        from tui.core.fit.llama_args import shell_command
        from tui.core.fit.rpc import rpc_server_commands

        return [(box.name, shell_command(argv)) for box, argv in rpc_server_commands(profile)]

    def saved_boxes(self) -> tuple:
        """The helper boxes hardware.toml remembers (``RemoteBox``), in --rpc order."""
        from tui.core.hardware.profile_store import load_hardware_settings

        return load_hardware_settings().boxes

    def save_boxes(self, boxes) -> None:
        """Remember the helper boxes in hardware.toml (they join whichever profile is selected)."""
        from tui.core.hardware.profile_store import save_boxes

        save_boxes(tuple(boxes))

