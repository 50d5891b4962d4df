"""What can go wrong when the app runs a model itself, as messages a person can act on.

Every failure of the in-process engine is a ``LocalAIError`` subclass, so the CLI prints
one line and the TUI shows a notification; none of them leaves llama.cpp half-initialised
(a failed load frees what it allocated and the next load starts clean).
"""

from __future__ import annotations

from tui.core.errors import LocalAIError


class EngineError(LocalAIError):
    """Base of the engine's errors."""


class ModelFileNotFoundError(EngineError):
    """The model path does not exist (or is not a file)."""


class NotAGGUFError(EngineError):
    """The file is not a GGUF model, or it is truncated or corrupt."""


class UnsupportedArchitectureError(EngineError):
    """llama.cpp does not know this model architecture (``general.architecture``)."""


class EngineOutOfMemoryError(EngineError):
    """Allocating weights, KV cache or compute buffers failed."""


class LoadCancelledError(EngineError):
    """The load was cancelled (the progress callback asked llama.cpp to stop)."""

    exit_code = 130


class ModelLoadError(EngineError):
    """Any other load failure; the message carries llama.cpp's own reason."""


class BufferTypeError(EngineError):
    """An ``-ot PATTERN=BUFFER`` rule names a buffer type this llama.cpp build does not have."""


class ContextFullError(EngineError):
    """The prompt alone does not fit in the context window, even with older turns dropped."""


class ContextNeedsRoomError(EngineError):
    """The conversation no longer fits: the person chooses a new chat or dropping the oldest turns.

    ``n_droppable`` messages would have to be left out of the prompt for the next reply to fit.
    """

    def __init__(self, message: str, *, n_droppable: int, n_ctx: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.n_droppable = n_droppable
        self.n_ctx = n_ctx


class ChatTemplateError(EngineError):
    """The model's chat template failed to render the conversation."""


class GenerationError(EngineError):
    """llama.cpp failed while evaluating tokens."""
