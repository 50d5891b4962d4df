"""A vision model's projector (``mmproj-*.gguf``) in the fit.

llama-server adds the projector's memory to its ``--fit`` targets (tools/server/server-context.cpp:
``mtmd_get_memory_usage`` -> ``clip_get_mem_usage``: the projector's weights plus the compute buffer
of its warm-up image, per device). The weights are known exactly from the file's header (the sum
of its tensors, as clip.cpp's ``mem_usage[device] += ggml_nbytes(cur)`` counts them); they go on
the first GPU, as clip.cpp's ``ggml_backend_init_by_type(GPU)`` picks it, or on the CPU without
one. The warm-up image's compute buffer depends on clip's graph per projector type and is not
modelled here: the estimate says so in a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui.core.errors import LocalAIError
from tui.core.gguf.reader import FileSource, GGUFError, GGUFHeader, read_header

#: ``general.architecture`` of llama.cpp's projector files (convert_hf_to_gguf.py writes "clip").
PROJECTOR_ARCH = "clip"


@dataclass(frozen=True)
class ProjectorSize:
    """What a projector file costs: ``weights_bytes`` is the sum of its tensors."""

    name: str
    weights_bytes: int
    n_tensors: int
    projector_type: str | None
    has_vision: bool
    has_audio: bool

    def to_dict(self) -> dict[str, object]:
        return {"file": self.name, "weights_bytes": self.weights_bytes, "n_tensors": self.n_tensors,
                "projector_type": self.projector_type, "has_vision": self.has_vision, "has_audio": self.has_audio,
                "compute_bytes": None}


def projector_from_header(header: GGUFHeader, name: str) -> ProjectorSize:
    """A projector's size from its header; a file that is not a projector is refused in one line."""
    if header.architecture != PROJECTOR_ARCH:
        raise LocalAIError(f"{name} is not a vision projector (its general.architecture is "
                           f"{header.architecture!r}; llama.cpp's mmproj files say 'clip')")
    kind = header.get("clip.projector_type")
    return ProjectorSize(
        name=name, weights_bytes=header.tensor_data_size, n_tensors=len(header.tensors),
        projector_type=kind if isinstance(kind, str) else None,
        has_vision=bool(header.get("clip.has_vision_encoder", False)),
        has_audio=bool(header.get("clip.has_audio_encoder", False)),
    )


def read_local_projector(path: Path) -> ProjectorSize:
    if not path.is_file():
        raise LocalAIError(f"projector file not found: {path}")
    try:
        header = read_header(FileSource(path))
    except GGUFError as exc:
        raise LocalAIError(f"{path.name}: {exc}") from None
    return projector_from_header(header, str(path))


def projector_next_to(model_path: Path) -> Path | None:
    """``auto`` for a local model: an ``mmproj*.gguf`` in the model's folder (F16 before others)."""
    candidates = sorted(p for p in model_path.parent.glob("*.gguf")
                        if "mmproj" in p.name.lower() and p.resolve() != model_path.resolve())
    if not candidates:
        return None
    preferred = [p for p in candidates if "f16" in p.name.lower()]
    return (preferred or candidates)[0]
