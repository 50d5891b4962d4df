"""Handles on llama.cpp objects: a loaded model (with its vocabulary) and a context.

Each frees its native object on ``close()`` or when garbage-collected (``weakref.finalize``),
and a context keeps its model alive, so the context is always freed first.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.engine.errors import EngineError
from tui.core.engine.llama_log import LogLine
from tui.core.engine.params import NativeModelParams
from tui.core.fit.settings import LlamaSettings

if TYPE_CHECKING:
    from llama_cpp import llama_context_p, llama_model_p


class LoadedModel:
    """A model in llama.cpp's memory; ``close()`` (or garbage collection) frees it."""

    def __init__(self, path: Path, settings: LlamaSettings, ptr: llama_model_p, native: NativeModelParams,
                 log_lines: list[LogLine]) -> None:
        import llama_cpp

        self.path = path
        self.settings = settings
        self.ptr = ptr
        self.vocab = llama_cpp.llama_model_get_vocab(ptr)
        self.load_log = log_lines
        self._native = native  # patterns and arrays llama.cpp may still point to
        self._finalizer = weakref.finalize(self, llama_cpp.llama_model_free, ptr)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()

    # -- what the model is ---------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A GGUF metadata value as text (arrays are not available through llama.h)."""
        import ctypes

        import llama_cpp

        size = 256
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_model_meta_val_str(self.ptr, key.encode("utf-8"), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", errors="replace")
            size = n + 1

    @property
    def architecture(self) -> str:
        return self.meta("general.architecture") or "?"

    @property
    def description(self) -> str:
        import ctypes

        import llama_cpp

        buf = ctypes.create_string_buffer(256)
        llama_cpp.llama_model_desc(self.ptr, buf, 256)
        return buf.value.decode("utf-8", errors="replace")

    @property
    def n_ctx_train(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_n_ctx_train(self.ptr))

    @property
    def n_layer(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_n_layer(self.ptr))

    @property
    def n_vocab(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_vocab_n_tokens(self.vocab))

    @property
    def size_bytes(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_size(self.ptr))

    @property
    def n_params(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_n_params(self.ptr))

    @property
    def chat_template(self) -> str | None:
        """``tokenizer.chat_template`` from the GGUF, or None when the model has none."""
        import llama_cpp

        raw = llama_cpp.llama_model_chat_template(self.ptr, None)
        return raw.decode("utf-8", errors="replace") if raw else None

    # -- tokens --------------------------------------------------------------------------

    @property
    def bos_token(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_vocab_bos(self.vocab))

    @property
    def eos_token(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_vocab_eos(self.vocab))

    @property
    def adds_bos(self) -> bool:
        """Whether the tokenizer starts every text with BOS (``tokenizer.ggml.add_bos_token``)."""
        import llama_cpp

        return bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))

    def token_text(self, token: int) -> str:
        """A token's vocabulary text ("<s>", "<|im_end|>"); empty for the null token (-1)."""
        import llama_cpp

        if token < 0:
            return ""
        raw = llama_cpp.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def is_end_of_generation(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = False) -> list[int]:
        """Token ids for ``text``; ``add_special`` adds BOS/EOS as the vocabulary asks."""
        import llama_cpp

        data = text.encode("utf-8")
        capacity = len(data) + 8
        while True:
            buf = (llama_cpp.llama_token * capacity)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, capacity, add_special, parse_special)
            if n >= 0:
                return list(buf[:n])
            if -n <= capacity:  # llama.cpp's "too many tokens" error code (INT32_MIN) or a bug
                raise EngineError(f"could not tokenize {len(data)} bytes of text")
            capacity = -n

    @property
    def overridden_tensors(self) -> list[str]:
        """Names of tensors llama.cpp placed by an override rule (from this load's debug log)."""
        marker = "buffer type overridden to"
        return [line.text.split("tensor ", 1)[1].split(" ", 1)[0]
                for line in self.load_log if marker in line.text and "tensor " in line.text]


class ContextHandle:
    """A llama.cpp context (KV cache, compute buffers) for one model; freed before the model."""

    def __init__(self, model: LoadedModel, ptr: llama_context_p, log_lines: list[LogLine]) -> None:
        import llama_cpp

        self.model = model  # keeps the model alive as long as the context
        self.ptr = ptr
        self.memory = llama_cpp.llama_get_memory(ptr)
        self.n_ctx = int(llama_cpp.llama_n_ctx(ptr))
        self.n_batch = int(llama_cpp.llama_n_batch(ptr))
        self.n_ubatch = int(llama_cpp.llama_n_ubatch(ptr))
        self.create_log = log_lines
        self._finalizer = weakref.finalize(self, llama_cpp.llama_free, ptr)

    @property
    def flash_attn_enabled(self) -> bool | None:
        """What llama.cpp settled on (``auto`` resolved at creation), from its log; None if unknown."""
        for line in self.create_log:
            text = line.text
            if "Flash Attention" in text and "enabled" in text:
                return True
            if "Flash Attention" in text and "disabled" in text:
                return False
        setting = self.model.settings.flash_attn
        return {"on": True, "off": False}.get(setting)

    def close(self) -> None:
        self._finalizer()
