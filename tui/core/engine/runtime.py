"""``Engine``: one model and its context, loaded with the settings the fit engine planned.

It owns what the model has already read: ``kv_tokens`` is the token sequence in the KV
cache (sequence 0, positions 0..len-1). A new prompt that shares a prefix with it is
evaluated from where they differ, so a chat's next turn costs only its new tokens.
"""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.engine.errors import EngineError, GenerationError, LoadCancelledError
from tui.core.engine.llama_log import llama_log
from tui.core.engine.loader import create_context, load_model
from tui.core.engine.model import ContextHandle, LoadedModel
from tui.core.engine.params import default_thread_count
from tui.core.fit.settings import LlamaSettings

if TYPE_CHECKING:
    from llama_cpp import llama_context_p


@dataclass(frozen=True)
class PromptEval:
    """How evaluating a prompt went: ``seconds`` inside llama_decode (+ synchronize)."""

    completed: bool
    n_tokens: int
    seconds: float


@dataclass(frozen=True)
class EngineInfo:
    """What was loaded and how, for a status line or ``--json`` output."""

    path: str
    architecture: str
    description: str
    n_params: int
    size_bytes: int          # tensor bytes llama.cpp reports
    n_layer: int
    n_ctx_train: int         # tokens
    n_ctx: int               # tokens, as created
    n_batch: int
    n_ubatch: int
    n_threads: int
    flash_attn: bool | None  # what llama.cpp settled on (auto resolved)
    n_overridden_tensors: int
    has_chat_template: bool
    load_seconds: float
    log_file: str | None


class Engine:
    """A loaded model plus its context. Not thread-safe: one evaluation at a time (``busy``)."""

    def __init__(self, model: LoadedModel, context: ContextHandle, settings: LlamaSettings, load_seconds: float):
        import llama_cpp

        self.model = model
        self.context = context
        self.settings = settings
        self.load_seconds = load_seconds
        self.kv_tokens: list[int] = []
        self.busy = threading.Lock()
        self._abort_event: threading.Event | None = None
        self._c_abort = llama_cpp.ggml_abort_callback(self._should_abort)

    # -- life cycle --------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: Path | str,
        settings: LlamaSettings | None = None,
        *,
        on_progress: Callable[[float], object] | None = None,
        cancel: threading.Event | None = None,
        fit_ctx_to_model: bool = False,
        warmup: bool = True,
    ) -> Engine:
        """Load ``path`` and create its context.

        ``fit_ctx_to_model`` caps the context at the model's training length (the default
        context is "4096, or the model's if smaller"). ``warmup`` runs llama.cpp's usual
        empty decode so the first reply's timings are not the first touch of the weights.
        """
        settings = settings or LlamaSettings()
        try:
            settings.validate()
        except ValueError as exc:
            raise EngineError(str(exc)) from None
        started = time.perf_counter()
        model = load_model(path, settings, on_progress=on_progress, cancel=cancel)
        try:
            if cancel is not None and cancel.is_set():
                raise LoadCancelledError(f"load {model.path.name}: cancelled")
            n_ctx = settings.n_ctx
            if fit_ctx_to_model and model.n_ctx_train > 0:
                n_ctx = min(n_ctx, model.n_ctx_train)
            context = create_context(model, settings, n_ctx)
        except BaseException:
            model.close()
            raise
        engine = cls(model, context, settings.with_changes(n_ctx=context.n_ctx), 0.0)
        if warmup:
            engine.warm_up()
        engine.load_seconds = time.perf_counter() - started
        return engine

    def close(self) -> None:
        """Free the context, then the model (waits for a running evaluation to finish)."""
        with self.busy:
            self.context.close()
            self.model.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ctx(self) -> llama_context_p:
        return self.context.ptr

    @property
    def n_ctx(self) -> int:
        return self.context.n_ctx

    def info(self) -> EngineInfo:
        model = self.model
        return EngineInfo(
            path=str(model.path), architecture=model.architecture, description=model.description,
            n_params=model.n_params, size_bytes=model.size_bytes, n_layer=model.n_layer,
            n_ctx_train=model.n_ctx_train, n_ctx=self.n_ctx, n_batch=self.context.n_batch,
            n_ubatch=self.context.n_ubatch, n_threads=self.settings.n_threads or default_thread_count(),
            flash_attn=self.context.flash_attn_enabled, n_overridden_tensors=len(model.overridden_tensors),
            has_chat_template=model.chat_template is not None, load_seconds=self.load_seconds,
            log_file=str(llama_log().path) if llama_log().path else None,
        )

    # -- the KV cache ------------------------------------------------------------------

    def warm_up(self) -> None:
        """llama.cpp's warmup (common/common.cpp): decode BOS+EOS once, then forget it."""
        import llama_cpp

        tokens = [t for t in (self.model.bos_token, self.model.eos_token) if t >= 0] or [0]
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        llama_cpp.llama_decode(self.ctx, llama_cpp.llama_batch_get_one(array, len(tokens)))
        self.clear_kv()
        llama_cpp.llama_synchronize(self.ctx)
        llama_cpp.llama_perf_context_reset(self.ctx)

    def clear_kv(self) -> None:
        import llama_cpp

        llama_cpp.llama_memory_clear(self.context.memory, True)
        self.kv_tokens = []

    def keep_prefix(self, tokens: Sequence[int]) -> int:
        """Drop KV entries after the longest prefix shared with ``tokens``; returns its length.

        At least one token is left to evaluate, since sampling needs fresh logits. Where
        the cache cannot be cut (recurrent models, pruned sliding windows) it is cleared.
        """
        import llama_cpp

        shared = 0
        limit = min(len(self.kv_tokens), len(tokens))
        kv = self.kv_tokens
        while shared < limit and kv[shared] == tokens[shared]:
            shared += 1
        if shared == len(tokens):
            shared -= 1
        if shared < len(self.kv_tokens):
            if not llama_cpp.llama_memory_seq_rm(self.context.memory, 0, shared, -1):
                self.clear_kv()
                return 0
            del self.kv_tokens[shared:]
        return max(shared, 0)

    def evaluate(self, tokens: Sequence[int], stop: threading.Event | None = None) -> PromptEval:
        """Feed ``tokens`` after ``kv_tokens`` in ``n_batch`` chunks.

        ``seconds`` covers only llama_decode and the synchronize after it, as llama.cpp's
        own ``t_p_eval`` does. While a prompt is evaluated, llama.cpp's abort callback
        watches ``stop`` (checked between graph nodes on CPU backends, about 1 us each),
        so even a long prompt stops promptly.
        """
        import llama_cpp

        if len(self.kv_tokens) + len(tokens) > self.n_ctx:
            raise GenerationError(f"{len(self.kv_tokens) + len(tokens)} tokens do not fit the {self.n_ctx}-token context")
        n_batch = self.context.n_batch
        clock = time.perf_counter
        seconds = 0.0
        self._abort_event = stop
        if stop is not None:
            llama_cpp.llama_set_abort_callback(self.ctx, self._c_abort, None)
        try:
            for start in range(0, len(tokens), n_batch):
                if stop is not None and stop.is_set():
                    return PromptEval(False, len(tokens), seconds)
                chunk = tokens[start:start + n_batch]
                array = (llama_cpp.llama_token * len(chunk))(*chunk)
                batch = llama_cpp.llama_batch_get_one(array, len(chunk))
                t0 = clock()
                code = llama_cpp.llama_decode(self.ctx, batch)
                llama_cpp.llama_synchronize(self.ctx)
                seconds += clock() - t0
                if code == 2:  # aborted: drop whatever part of the chunk reached the cache
                    llama_cpp.llama_memory_seq_rm(self.context.memory, 0, len(self.kv_tokens), -1)
                    return PromptEval(False, len(tokens), seconds)
                if code != 0:
                    raise GenerationError(_decode_failure(code, len(self.kv_tokens), len(chunk), self.n_ctx))
                self.kv_tokens.extend(chunk)
            return PromptEval(True, len(tokens), seconds)
        finally:
            if stop is not None:
                llama_cpp.llama_set_abort_callback(self.ctx, llama_cpp.ggml_abort_callback(), None)
            self._abort_event = None

    def _should_abort(self, _user_data: object) -> bool:
        # Called by ggml's compute thread between graph nodes; must never raise into ctypes
        # (it would print to stderr). Ctrl-C landing here aborts the decode and is re-raised.
        try:
            event = self._abort_event
            return bool(event is not None and event.is_set())
        except KeyboardInterrupt:
            _thread.interrupt_main()
            return True
        except BaseException:
            return False


def _decode_failure(code: int, n_past: int, n_tokens: int, n_ctx: int) -> str:
    if code == 1:
        return f"no room in the KV cache for {n_tokens} more tokens after {n_past} (context {n_ctx})"
    return f"llama_decode failed with code {code} (see the log)"
