"""Which model for my box: rank Hub GGUF repos by the best quant label that runs well on it.

For every repo of a Hub search (a text, an author such as unsloth or bartowski, or simply the
most downloaded), each complete quant label is sized for the box with its best placement
(``tui.core.advisor.placement``: all on the GPU, else a MoE model's experts in RAM, else fewer
GPU layers). A label *qualifies* when it loads ("fits" or "tight"), decodes at least
``min_tokens_per_s`` and keeps at least ``min_bits`` bits per weight (below about 3 bits a
quant loses much of the model). The repo's **best** label is the qualifying one of the highest
quality; its **runner-ups** are the next qualifying labels that each run noticeably faster
(``RUNNER_UP_SPEEDUP``) than every label above them: the smaller, quicker choices (a label
of lower quality that is not faster is never worth it).

Quality is bits per weight, counted up to ``NEAR_LOSSLESS_BITS`` (Q8_0's 8.5): Q8_0 is within
a rounding error of F16, so a bigger file of the same model only runs slower.

Only GGUF headers are read, never weights: one header per repo (cached on disk) lets every
other label be sized from its file size (``tui.core.hub.size_anatomy``), and each label the
ranking shows is then confirmed with its own header, so a label ranked as fitting is one
``localai-tui fit`` says fits, with the same settings.

Repos are ranked (``rank_by``) by ``params`` (largest model first: more parameters at a good
quant know more), ``quality``, ``speed`` or ``downloads`` (the Hub's order); repos with no
qualifying label come last, each with the reason.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui.core.advisor.model_card import license_flags, license_kind, task_tags
from tui.core.advisor.placement import BestPlacement, best_placement, placement_is_fixed
from tui.core.errors import LocalAIError
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.sizes import GiB

if TYPE_CHECKING:
    from tui.core.hub.client import HubClient
    from tui.core.hub.errors import HubError
    from tui.core.hub.repo_files import QuantGroup, RepoQuants
    from tui.core.hub.search import SearchResult

#: Bits per weight beyond which a quant is as good as the original (Q8_0 is 8.5).
NEAR_LOSSLESS_BITS = 8.5
#: Default slowest decode worth recommending (tokens/s): comfortable for chat (reading speed is about 5).
DEFAULT_MIN_TOKENS_PER_S = 10.0
#: Default fewest bits per weight worth recommending (below this, quants lose much of the model).
DEFAULT_MIN_BITS = 3.0
#: Context sized for when none is asked (tokens), or the model's trained context if smaller.
DEFAULT_CONTEXT = 4096
DEFAULT_RUNNER_UPS = 2
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
RANK_ORDERS = ("params", "quality", "speed", "downloads")
#: How much faster than every label above it a runner-up must be (a 2% gain is not worth a worse quant).
RUNNER_UP_SPEEDUP = 1.05
#: Repos sized at the same time (the Hub answers in parallel; the estimates themselves are quick).
PARALLEL_REPOS = 4


@dataclass(frozen=True)
class RecommendRequest:
    """What to rank and what counts as good enough. Context in tokens, speed in tokens/s."""

    text: str = ""
    author: str | None = None
    limit: int = DEFAULT_LIMIT  # repos considered: the first page of the search
    n_ctx: int | None = None  # None: DEFAULT_CONTEXT, or the model's trained context if smaller
    min_tokens_per_s: float = DEFAULT_MIN_TOKENS_PER_S
    min_bits: float = DEFAULT_MIN_BITS
    rank_by: str = "params"
    runner_ups: int = DEFAULT_RUNNER_UPS

    def check(self) -> RecommendRequest:
        """This request, or one ``LocalAIError`` saying which value is wrong."""
        if not 1 <= self.limit <= MAX_LIMIT:
            raise LocalAIError(f"--limit must be between 1 and {MAX_LIMIT}, not {self.limit}")
        if self.n_ctx is not None and self.n_ctx < 1:
            raise LocalAIError("the context (-c) must be at least 1 token")
        if not (math.isfinite(self.min_tokens_per_s) and self.min_tokens_per_s >= 0):
            raise LocalAIError(f"--min-tps must be 0 or more tokens/s, not {self.min_tokens_per_s}")
        if not (math.isfinite(self.min_bits) and 0 <= self.min_bits <= 32):
            raise LocalAIError(f"--min-bits must be between 0 and 32, not {self.min_bits}")
        if self.rank_by not in RANK_ORDERS:
            raise LocalAIError(f"unknown ranking '{self.rank_by}'", hint=f"use one of: {', '.join(RANK_ORDERS)}")
        if not 0 <= self.runner_ups <= 10:
            raise LocalAIError(f"--runner-ups must be between 0 and 10, not {self.runner_ups}")
        return self


@dataclass(frozen=True)
class LabelPick:
    """A quant label of a repo and how it runs on the box (its own header read: exact)."""

    repo_id: str
    label: str  # the row's name: its quant label, else its file path
    has_label: bool
    size_bytes: int  # all shards
    bits_per_weight: float
    placement: BestPlacement

    @property
    def spec(self) -> str:
        """What ``localai-tui fit`` and llama.cpp's ``-hf`` take: ``owner/repo:LABEL``."""
        return f"{self.repo_id}:{self.label}" if self.has_label else f"{self.repo_id}/{self.label}"

    @property
    def quality(self) -> float:
        return min(self.bits_per_weight, NEAR_LOSSLESS_BITS)

    @property
    def tokens_per_s(self) -> float:
        return self.placement.tokens_per_s

    def to_dict(self) -> dict[str, Any]:
        estimate = self.placement.estimate
        return {
            "label": self.label,
            "spec": self.spec,
            "size_bytes": self.size_bytes,
            "bits_per_weight": round(self.bits_per_weight, 3),
            "verdict": estimate.verdict,
            "est_tokens_per_s": round(self.tokens_per_s, 2),
            "n_ctx": estimate.n_ctx,
            "n_gpu_layers": estimate.n_gpu_layers,
            "n_layers_total": estimate.n_layers_total,
            "n_cpu_moe": self.placement.n_cpu_moe,
            "cpu_moe": self.placement.all_experts_on_cpu,
            "changes": list(self.placement.changes),
            "llama_cpp_args": list(estimate.llama_cpp_args),
        }


@dataclass(frozen=True)
class RepoAdvice:
    """One repo of the ranking: what it is, what its license allows, and its best labels (or why none)."""

    repo_id: str
    downloads: int
    likes: int
    architecture: str | None
    n_params: int | None
    is_moe: bool
    license: str | None
    license_kind: str
    flags: tuple[str, ...]  # "non-commercial", "gated", "license terms", "license?"
    tasks: tuple[str, ...]  # "chat", "code", "vision", "embedding" ...
    n_ctx: int  # context sized for (tokens)
    best: LabelPick | None
    runner_ups: tuple[LabelPick, ...] = ()
    reason: str | None = None  # why no label qualifies
    labels: int = 0  # complete quant labels in the repo
    headers_read: int = 0  # headers this advice needed (from the disk cache or the Hub)
    bytes_fetched: int = 0  # from the Hub, for those headers
    search_rank: int = 0  # position in the Hub's answer
    quants: RepoQuants | None = field(default=None, compare=False, repr=False)

    @property
    def picks(self) -> tuple[LabelPick, ...]:
        return ((self.best,) if self.best else ()) + self.runner_ups

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id, "downloads": self.downloads, "likes": self.likes,
            "architecture": self.architecture, "n_params": self.n_params, "is_moe": self.is_moe,
            "license": self.license, "license_kind": self.license_kind, "flags": list(self.flags),
            "tasks": list(self.tasks), "n_ctx": self.n_ctx,
            "best": self.best.to_dict() if self.best else None,
            "runner_ups": [p.to_dict() for p in self.runner_ups],
            "reason": self.reason, "labels": self.labels, "headers_read": self.headers_read,
            "bytes_fetched": self.bytes_fetched,
        }


@dataclass(frozen=True)
class Recommendation:
    """The ranked repos for one box and request; ``stale_because``: the search came from the cache."""

    request: RecommendRequest
    profile_name: str
    repos: tuple[RepoAdvice, ...]
    stale_because: HubError | None = None

    @property
    def bytes_fetched(self) -> int:
        return sum(r.bytes_fetched for r in self.repos)

    def to_dict(self) -> dict[str, Any]:
        r = self.request
        return {
            "profile": self.profile_name,
            "request": {"text": r.text, "author": r.author, "limit": r.limit, "n_ctx": r.n_ctx,
                        "min_tokens_per_s": r.min_tokens_per_s, "min_bits": r.min_bits, "rank_by": r.rank_by,
                        "runner_ups": r.runner_ups},
            "stale_because": str(self.stale_because) if self.stale_because else None,
            "bytes_fetched": self.bytes_fetched,
            "repos": [a.to_dict() for a in self.repos],
        }


#: ``on_progress(done, total, repo_id)`` after each repo is sized (called from worker threads).
Progress = Callable[[int, int, str], None]


def recommend_models(request: RecommendRequest, profile: HardwareProfile, settings: LlamaSettings | None = None, *,
                     client: HubClient | None = None, on_progress: Progress | None = None,
                     cancel: threading.Event | None = None) -> Recommendation:
    """Search the Hub as ``request`` says and rank the repos for ``profile`` (see the module).

    ``settings`` carry cache types, batches and flash attention (their context is replaced by
    the request's); a placement in them (``-ngl`` ...) is kept instead of searched.
    """
    from tui.core.hub.client import HubClient
    from tui.core.hub.search import search_models

    request = request.check()
    client = client or HubClient()
    page = search_models(request.text, author=request.author, limit=request.limit, client=client)
    results = list(page.results)
    done = [0]
    lock = threading.Lock()

    def size(index_and_result: tuple[int, SearchResult]) -> RepoAdvice | None:
        index, result = index_and_result
        if cancel is not None and cancel.is_set():
            return None
        advice = advise_repo(result, profile, settings or LlamaSettings(), request, client=client, search_rank=index)
        with lock:
            done[0] += 1
            count = done[0]
        if on_progress is not None:
            on_progress(count, len(results), result.repo_id)
        return advice

    with ThreadPoolExecutor(max_workers=PARALLEL_REPOS) as pool:
        advices = [a for a in pool.map(size, enumerate(results)) if a is not None]
    return Recommendation(request, profile.name, tuple(rank_repos(advices, request.rank_by)), page.stale_because)


def rank_repos(advices: list[RepoAdvice], rank_by: str) -> list[RepoAdvice]:
    """Repos with a best label first, in ``rank_by`` order; the others after, in the Hub's order."""

    def key(a: RepoAdvice) -> tuple[float, ...]:
        best = a.best
        if best is None:
            return (1, a.search_rank)
        quality, speed, params = best.quality, best.tokens_per_s, a.n_params or 0
        order: tuple[float, ...] = {
            "params": (-params, -quality, -speed),
            "quality": (-quality, -speed, -params),
            "speed": (-speed, -quality, -params),
            "downloads": (),
        }[rank_by]
        return (0, *order, a.search_rank)

    return sorted(advices, key=key)


# --- one repo ------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    group: QuantGroup
    anatomy: ModelAnatomy
    exact: bool
    placement: BestPlacement | None
    error: str | None = None

    @property
    def bits(self) -> float:
        return self.anatomy.bits_per_weight

    @property
    def quality(self) -> float:
        return min(self.bits, NEAR_LOSSLESS_BITS)

    @property
    def tokens_per_s(self) -> float:
        return self.placement.tokens_per_s if self.placement else 0.0

    @property
    def fits(self) -> bool:
        return self.placement is not None and self.placement.fits


class _Headers:
    """The exact anatomies of a repo's labels, read (cache first) as they are needed; counts the cost."""

    def __init__(self, quants: RepoQuants, client: HubClient) -> None:
        self.quants, self.client = quants, client
        self.read: dict[str, ModelAnatomy] = {}
        self.bytes_fetched = 0

    def cached(self, group: QuantGroup) -> ModelAnatomy | None:
        from tui.core.hub.remote_header import NotCached

        if group.name in self.read:
            return self.read[group.name]
        try:
            return self._read(group, cache_only=True)
        except NotCached:
            return None

    def exact(self, group: QuantGroup) -> ModelAnatomy:
        if group.name in self.read:
            return self.read[group.name]
        return self._read(group, cache_only=False)

    def _read(self, group: QuantGroup, cache_only: bool) -> ModelAnatomy:
        from tui.core.hub.remote_header import read_group_anatomy

        listing = self.quants.listing
        anatomy, fetched = read_group_anatomy(listing.repo_id, listing.commit, group.files, client=self.client,
                                              cache_only=cache_only)
        self.bytes_fetched += fetched
        self.read[group.name] = anatomy
        return anatomy


def advise_repo(result: SearchResult, profile: HardwareProfile, settings: LlamaSettings, request: RecommendRequest,
                *, client: HubClient | None = None, search_rank: int = 0) -> RepoAdvice:
    """The best labels of one repo for ``profile`` (see the module); Hub and header failures become ``reason``."""
    from tui.core.gguf.reader import GGUFError
    from tui.core.hub.client import HubClient
    from tui.core.hub.errors import HubAuthError, HubError
    from tui.core.hub.repo_files import group_repo_files
    from tui.core.hub.repo_listing import fetch_repo_listing

    client = client or HubClient()
    license_id = result.license
    base: dict[str, Any] = dict(
        repo_id=result.repo_id, downloads=result.downloads, likes=result.likes, architecture=result.architecture,
        n_params=result.n_params, is_moe=False, license=license_id, license_kind=license_kind(license_id),
        flags=license_flags(license_id, result.gated), search_rank=search_rank,
        tasks=task_tags(result.repo_id, pipeline_tag=result.pipeline_tag, hub_tags=result.tags),
        n_ctx=request.n_ctx or DEFAULT_CONTEXT, best=None,
    )
    try:
        listing = fetch_repo_listing(result.repo_id, client=client)
    except HubError as exc:
        return RepoAdvice(**base, reason=f"Hub: {exc}")
    quants = group_repo_files(listing)
    if listing.license and listing.license != license_id:  # the model card's, when the tags had none
        base.update(license=listing.license, license_kind=license_kind(listing.license),
                    flags=license_flags(listing.license, result.gated or listing.gated))
    groups = [g for g in quants.groups if g.complete]
    base.update(labels=len(groups), quants=quants)
    if not groups:
        return RepoAdvice(**base, reason="no complete GGUF model file")
    headers = _Headers(quants, client)
    try:
        reference = next((a for a in map(headers.cached, groups) if a is not None), None) or headers.exact(groups[0])
    except HubAuthError:
        return RepoAdvice(**base, reason=f"gated: accept its terms on {client.endpoint}/{result.repo_id} and set "
                                         "HF_TOKEN to size it", headers_read=0)
    except (HubError, GGUFError) as exc:
        return RepoAdvice(**base, reason=f"header unreadable: {exc}", bytes_fetched=headers.bytes_fetched)
    sides = {s.kind for s in quants.side_files}
    has_template = bool(reference.metadata.get("tokenizer.chat_template"))
    base.update(is_moe=reference.is_moe, n_params=result.n_params or reference.n_params,
                architecture=result.architecture or reference.architecture,
                tasks=task_tags(result.repo_id, pipeline_tag=result.pipeline_tag, hub_tags=result.tags,
                                side_file_kinds=sides, has_chat_template=has_template))
    trained = reference.n_ctx_train
    n_ctx = request.n_ctx or min(DEFAULT_CONTEXT, trained or DEFAULT_CONTEXT)
    base["n_ctx"] = n_ctx
    if request.n_ctx and trained and request.n_ctx > trained:
        return RepoAdvice(**base, reason=f"trained for {trained:,} tokens of context, fewer than the {n_ctx:,} asked",
                          headers_read=len(headers.read), bytes_fetched=headers.bytes_fetched)
    sized = settings.with_changes(n_ctx=n_ctx)
    search = not placement_is_fixed(settings)
    candidates = [_candidate(g, headers, reference, profile, sized, search) for g in groups]
    picks = _pick(candidates, headers, result.repo_id, profile, sized, search, request)
    reason = None if picks else _why_none(candidates, request)
    return RepoAdvice(**{**base, "best": picks[0] if picks else None}, runner_ups=tuple(picks[1:]), reason=reason,
                      headers_read=len(headers.read), bytes_fetched=headers.bytes_fetched)


def _candidate(group: QuantGroup, headers: _Headers, reference: ModelAnatomy, profile: HardwareProfile,
               settings: LlamaSettings, search: bool) -> _Candidate:
    from tui.core.hub.size_anatomy import anatomy_for_size

    exact = headers.read.get(group.name)
    anatomy = exact or anatomy_for_size(reference, group.size_bytes, group.shards)
    try:
        placement = best_placement(anatomy, profile, settings, search=search)
    except LocalAIError as exc:
        return _Candidate(group, anatomy, exact is not None, None, str(exc))
    return _Candidate(group, anatomy, exact is not None, placement)


def _qualifies(fits: bool, tokens_per_s: float, bits: float, request: RecommendRequest) -> bool:
    return fits and tokens_per_s >= request.min_tokens_per_s and bits >= request.min_bits


def _pick(candidates: list[_Candidate], headers: _Headers, repo_id: str, profile: HardwareProfile,
          settings: LlamaSettings, search: bool, request: RecommendRequest) -> list[LabelPick]:
    """Best label then faster runner-ups, each confirmed with its own header (read only for these)."""
    ordered = sorted(candidates, key=lambda c: (-c.quality, -c.tokens_per_s, c.group.size_bytes))
    picks: list[LabelPick] = []
    for candidate in ordered:
        if len(picks) > request.runner_ups:
            break
        fastest = max((p.tokens_per_s * RUNNER_UP_SPEEDUP for p in picks), default=-1.0)
        if not _qualifies(candidate.fits, candidate.tokens_per_s, candidate.bits, request) \
                or candidate.tokens_per_s <= fastest:
            continue
        try:
            anatomy = headers.exact(candidate.group)
            placement = candidate.placement
            if placement is None or not candidate.exact:  # sized from the file size: confirm with the header
                placement = best_placement(anatomy, profile, settings, search=search)
        except LocalAIError:
            continue
        pick = LabelPick(repo_id, candidate.group.name, candidate.group.label is not None, candidate.group.size_bytes,
                         anatomy.bits_per_weight, placement)
        if _qualifies(placement.fits, pick.tokens_per_s, pick.bits_per_weight, request) and pick.tokens_per_s > fastest:
            picks.append(pick)
    return picks


def _why_none(candidates: list[_Candidate], request: RecommendRequest) -> str:
    """Why no label qualifies, from the size estimates (a line for people)."""
    refused = [c for c in candidates if c.placement is None]
    sized = [c for c in candidates if c.placement is not None]
    if not sized:
        return f"llama.cpp would refuse it: {refused[0].error}" if refused else "nothing to size"
    fitting = [c for c in sized if c.fits]
    if not fitting:
        smallest = min(sized, key=lambda c: c.group.size_bytes)
        placement = smallest.placement
        assert placement is not None  # ``sized`` holds only candidates with a placement
        short = max(0, -min(d.headroom_bytes for d in placement.estimate.devices))
        return f"too big: even {smallest.group.name} ({smallest.group.size_bytes / GiB:.1f} GiB) is " \
               f"{short / GiB:.1f} GiB short"
    fast = [c for c in fitting if c.tokens_per_s >= request.min_tokens_per_s]
    if not fast:
        quickest = max(fitting, key=lambda c: c.tokens_per_s)
        return f"too slow: {quickest.group.name} is the fastest that fits, at ~{quickest.tokens_per_s:.1f} t/s " \
               f"(below {request.min_tokens_per_s:g})"
    if all(c.bits < request.min_bits for c in fast):
        best = max(fast, key=lambda c: c.bits)
        return f"only {best.group.name} ({best.bits:.1f} bits/weight) fits at that speed, below " \
               f"{request.min_bits:g} bits/weight"
    return "no label fits once its own header is read"
