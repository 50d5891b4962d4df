"""Each model's own llama.cpp settings, remembered between runs.

One model's context, offload and cache types say nothing about the next model's: a 128k context
that fits a 1B model does not fit an 8B one. So settings are kept per model, in
``model_settings.json`` in the config dir, keyed by ``model_key`` (the file name and its size: the
same GGUF from the Hub, the Hugging Face cache or a folder is one model). A model never seen opens
with ``default_settings``. The file is written atomically (temp file + ``os.replace``); one that
does not parse is treated as empty and replaced on the next save.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tui.core.fit.settings import DEFAULT_N_CTX, LlamaSettings, TensorOverride
from tui.core.paths import config_dir

SETTINGS_FILE = "model_settings.json"

#: Most models remembered; the least recently used are forgotten beyond this.
MAX_MODELS = 200


def model_key(file_name: str, size_bytes: int) -> str:
    """``Qwen3-8B-Q4_K_M.gguf:5027783488``: what identifies a GGUF wherever it lives."""
    return f"{Path(file_name).name}:{int(size_bytes)}"


def default_settings(n_ctx_train: int) -> LlamaSettings:
    """What a model seen for the first time opens with: llama.cpp's defaults, at 4096 tokens of
    context or the trained context when that is smaller."""
    trained = n_ctx_train if n_ctx_train and n_ctx_train > 0 else DEFAULT_N_CTX
    return LlamaSettings(n_ctx=min(DEFAULT_N_CTX, trained))


def settings_to_dict(settings: LlamaSettings) -> dict[str, Any]:
    data = asdict(settings)
    data["overrides"] = [rule.to_arg() for rule in settings.overrides]
    data["tensor_split"] = list(settings.tensor_split)
    return data


def settings_from_dict(data: dict[str, Any]) -> LlamaSettings | None:
    """Settings from the file, or None when the entry is not valid settings (an old or edited file)."""
    known = set(LlamaSettings.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in known}
    try:
        values["overrides"] = tuple(r for text in values.get("overrides", ()) for r in TensorOverride.parse(text))
        values["tensor_split"] = tuple(float(p) for p in values.get("tensor_split", ()))
        settings = LlamaSettings(**values)
        settings.validate()
    except (TypeError, ValueError):
        return None
    return settings


def model_settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


class ModelSettingsStore:
    """The remembered settings of every model, read once and written back on ``save``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or model_settings_path()
        self._entries: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        models = data.get("models") if isinstance(data, dict) else None
        return {k: v for k, v in models.items() if isinstance(v, dict)} if isinstance(models, dict) else {}

    def get(self, key: str) -> LlamaSettings | None:
        entry = self._entries.get(key)
        return settings_from_dict(entry) if entry is not None else None

    def put(self, key: str, settings: LlamaSettings) -> bool:
        """Remember ``settings`` for ``key``; True when that changed anything (then ``save``)."""
        data = settings_to_dict(settings)
        if self._entries.get(key) == data:
            return False
        self._entries.pop(key, None)
        self._entries[key] = data  # most recent last
        while len(self._entries) > MAX_MODELS:
            self._entries.pop(next(iter(self._entries)))
        return True

    def save(self) -> None:
        """Write the file atomically; a failure to write is not worth interrupting anyone for (OSError ignored)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".model_settings-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"models": self._entries}, fh, indent=1)
            os.replace(tmp, self.path)
        except OSError:
            return
