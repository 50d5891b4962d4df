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

from tui.core.hardware.devices import HardwareProfile
from tui.core.hub.model_spec import ChosenModel

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from tui.core.chats.store import ChatStore
    from tui.core.engine.bench import BenchResult
    from tui.core.engine.chat import ChatSession
    from tui.core.engine.memory import MemoryUse
    from tui.core.engine.runtime import Engine
    from tui.core.engine.sampling import SamplingSettings
    from tui.core.fit.autofit import AutoFit
    from tui.core.fit.estimate import FitEstimate
    from tui.core.fit.projector import ProjectorSize
    from tui.core.fit.settings import LlamaSettings
    from tui.core.gguf.anatomy import ModelAnatomy
    from tui.core.hardware.catalog import CatalogDevice
    from tui.core.hardware.profiles import ProfileChoice
    from tui.core.hardware.speed_store import BenchRecord
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
    search_page_size: int = 20  # repos per page of a Hub search (``tui.core.hub.search.DEFAULT_LIMIT``)
    log_dir: Path | None = None
    models_dir: Path | None = None
    #: The Fit screen's bench (``m``): llama-bench's pp512 and tg128, fewer repetitions than the CLI's 5
    #: so it answers in seconds; tests shrink it.
    bench_prompt_tokens: int = 512
    bench_gen_tokens: int = 128
    bench_repetitions: int = 2

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

    def remembered_profile_problem(self) -> str | None:
        """Why the remembered profile cannot be used (broken hardware.toml / profiles.toml), or None."""
        from tui.core.hardware.profiles import remembered_profile_problem

        return remembered_profile_problem()

    def choose_profile(self, gpu_args: list[str]) -> ProfileChoice:
        """Resolve and remember ``gpu_args``; a config that cannot be written keeps the choice for the session."""
        from tui.core.hardware.profiles import choose_profile

        return choose_profile(gpu_args)

    def custom_profiles(self) -> list[HardwareProfile]:
        from tui.core.hardware.profile_store import load_custom_profiles

        return list(load_custom_profiles())

    def save_custom_profile(self, entry: dict[str, object]) -> HardwareProfile:
        """Check a ``[[profile]]`` table (GiB, GB/s) as profiles.toml would hold it, save it, return the profile."""
        from tui.core.hardware.profile_store import save_custom_profile_entry

        return save_custom_profile_entry(entry)

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

    def bench_model(self, path: Path, settings: LlamaSettings, *, cancel: threading.Event | None = None,
                    on_progress: Callable[[str, int, int], object] | None = None) -> tuple[list[BenchResult], bool]:
        """Load ``path`` with ``settings``, measure pp/tg the way ``localai-tui bench`` does
        (``tui.core.engine.bench.run_bench``) and store the run for this machine
        (``tui.core.fit.bench_feedback.store_bench_run``, as the CLI does): the results, and whether the
        run was kept. Runs in a worker thread; ``cancel`` stops it between runs."""
        from tui.core.engine.bench import run_bench
        from tui.core.engine.errors import EngineError
        from tui.core.fit.bench_feedback import store_bench_run

        engine = self.load_engine(path, settings, cancel=cancel)
        try:
            # a context smaller than llama-bench's counts (a small slider stop) bounds them, as -c would
            results = run_bench(engine, n_prompt=min(self.bench_prompt_tokens, engine.n_ctx),
                                n_gen=min(self.bench_gen_tokens, engine.n_ctx),
                                repetitions=self.bench_repetitions, cancel=cancel, on_progress=on_progress)
            used = engine.settings
        finally:
            engine.close()
        if cancel is not None and cancel.is_set():
            raise EngineError("benchmark cancelled")
        return results, store_bench_run(str(path), used, results) is not None

    def estimated_tokens_per_s(self, path: str | Path, settings: LlamaSettings) -> float | None:
        """The fit's decode estimate for the local model at ``path`` on this machine (where the chat
        runs, whatever profile is being browsed), or None when it cannot be had. Reads the header and
        may probe NVML: call from a worker."""
        from tui.core.errors import LocalAIError
        from tui.core.fit.estimate import estimate_fit
        from tui.core.gguf.anatomy import load_anatomy

        try:
            anatomy = load_anatomy(Path(path))
            estimate = estimate_fit(anatomy, self.detect_profile(), settings)
        except (LocalAIError, OSError, ValueError):
            return None
        return estimate.est_tokens_per_s or None

    def with_bench_correction(self, profile: HardwareProfile) -> HardwareProfile:
        """``profile`` with what this machine's stored bench runs teach its speed estimate (this
        machine only; reads the runs file: call from a worker)."""
        from tui.core.fit.bench_feedback import with_bench_correction

        return with_bench_correction(profile)

    def measured_speed(self, model: ChosenModel, profile: HardwareProfile | None) -> BenchRecord | None:
        """This machine's latest bench run of ``model`` when ``profile`` is this machine (else None)."""
        from tui.core.hardware.measured import measured_speed

        return measured_speed(model.anatomy, model.local_path or model.filename, profile)

    def chat_session(self, engine: Engine, system_prompt: str | None, sampling: SamplingSettings | None) -> ChatSession:
        from tui.core.engine.chat import ChatSession

        if sampling is None:
            return ChatSession(engine, system_prompt=system_prompt)
        return ChatSession(engine, system_prompt=system_prompt, sampling=sampling)

    def chat_store(self) -> ChatStore:
        """The saved conversations (one store per app, opened on first use)."""
        store: ChatStore | None = getattr(self, "_chat_store", None)
        if store is None:
            from tui.core.chats.store import ChatStore

            store = ChatStore()
            self._chat_store = store
        return store

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

        return search_models(text, sort=sort, limit=self.search_page_size, client=self.hub_client())

    def next_search_page(self, page):
        """The page after ``page`` (``SearchPage``), or None when it was the last."""
        from tui.core.hub.search import next_search_page

        return next_search_page(page, client=self.hub_client())

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

    def fit_badges(self, quants: RepoQuants, profile: HardwareProfile, settings: LlamaSettings) -> dict[str, FitBadge]:
        """Quant group name -> badge (``verdict``, ``tokens_per_s``) for ``profile``."""
        from tui.core.hub.badges import fit_badges_by_group

        return fit_badges_by_group(quants, profile, settings, client=self.hub_client())

    def explain_label(self, label: str | None) -> str:
        """What a quant label means, or why there is nothing to say (``tui.core.gguf.labels.describe_label``)."""
        from tui.core.gguf.labels import describe_label

        return describe_label(label)

    def choose_remote_model(self, quants, group) -> ChosenModel:
        """A quant row picked from a listed repo, its header(s) read over HTTP ranges (cached on disk)."""
        from tui.core.hub.model_spec import model_from_group

        return model_from_group(quants, group, client=self.hub_client())

    def download_model(self, model: ChosenModel, *, progress=None, cancel=None) -> ChosenModel:
        """Download every shard of ``model`` into the HF cache: ``localai-tui download``'s path, pinned to the
        commit its header was read at. ``progress`` receives ``DownloadProgress`` from the download thread."""
        from tui.core.hub.model_download import download_chosen

        return download_chosen(model, with_mmproj=model.projector is not None, progress=progress, cancel=cancel,
                               client=self.hub_client())

    # -- fit -------------------------------------------------------------------------------

    def estimate_fit(self, anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                     projector: ProjectorSize | None = None) -> FitEstimate:
        """``FitEstimate``: memory per device (bytes), the verdict, tokens/s and llama.cpp's flags (< 1 ms);
        ``projector`` (a vision model's mmproj) counts on the first GPU as llama-server's ``--fit`` counts it."""
        from tui.core.fit.estimate import estimate_fit

        return estimate_fit(anatomy, profile, settings, projector=projector)

    def auto_fit(self, anatomy: ModelAnatomy, profile: HardwareProfile, settings: LlamaSettings,
                 projector: ProjectorSize | None = None) -> AutoFit:
        """``AutoFit``: the best plan from the trained context down (``full_auto_fit``, the same search
        as ``localai-tui fit -ngl auto``), its estimate, what it changed, or what is missing."""
        from tui.core.fit.autofit import full_auto_fit

        return full_auto_fit(anatomy, profile, settings, projector=projector)

    def llama_server_command(self, model: ChosenModel, estimate: FitEstimate,
                             profile: HardwareProfile | None = None) -> str:
        """The ``llama-server`` command line that runs ``model`` as estimated (for copying over SSH);
        without a GPU in the estimate, no offload flags; ``--no-repack`` on this machine if its CPU has AMX."""
        from tui.core.fit.llama_args import llama_server_command

        name, source = model.server_model_arg()
        no_repack = profile is not None and bool(profile.extra.get("cpu_amx"))
        return llama_server_command(name, estimate.settings, source=source, cpu_only=not estimate.gpu_devices,
                                    rpc=estimate.rpc_endpoints, no_repack=no_repack)

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

