"""Published llama.cpp decode measurements as (anatomy, profile, settings, depth, measured) cases.

Reads ``../shared/speed/calibration.csv`` (and ``tests/data/speed_extra.csv``, rows this project
collected, same columns). Each row's ``model_config`` is written as a real-size header-only
GGUF (``tests/gguf_factory.make_sparse_model``: no disk, no weights) and read back with the app's
own reader, so the speed model sees exactly what it would see for the real file. Files are cached
in a temporary directory per run.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.gguf_factory import ModelSpec, make_sparse_model, q4_k_m_rules
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy, load_anatomy
from tui.core.hardware.devices import HardwareProfile
from tui.core.hardware.profiles import resolve_profile

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT.parent / "shared" / "speed" / "calibration.csv"
EXTRA = ROOT / "tests" / "data" / "speed_extra.csv"

#: Architectures the factory writes; others with the same tensor set map onto one of them.
_ARCH_ALIASES = {"qwen2": "llama", "mistral": "llama", "qwen3": "llama"}


@dataclass(frozen=True)
class SpeedCase:
    """One published measurement, ready for the speed model."""

    id: str
    group: str
    device: str
    profile: HardwareProfile
    anatomy: ModelAnatomy
    settings: LlamaSettings
    depth: int
    measured: float
    backend: str
    source: str
    test: str = ""

    @property
    def decode_only(self) -> bool:
        """A pure decode figure (llama-bench tg, server decode); "avg" figures include prompt time."""
        return "avg" not in self.test


def _config(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)


def model_spec(config_text: str, quant: str) -> ModelSpec:
    """The factory spec for a ``model_config`` string and a quant label (Q4_K_M, Q4_0, Q8_0, F16, MXFP4)."""
    c = _config(config_text)
    arch = _ARCH_ALIASES.get(c["arch"], c["arch"])
    n_layer = int(c["n_layer"])
    spec = ModelSpec(
        arch=arch, name=f"{c['arch']}-{n_layer}", n_layer=n_layer, n_embd=int(c["n_embd"]), n_head=int(c["n_head"]),
        n_head_kv=int(c["n_head_kv"]), head_dim=int(c.get("head_dim", 0)) or None, n_ff=int(c["n_ff"]),
        n_vocab=int(c["n_vocab"]), n_ctx_train=int(c.get("n_ctx", 4096)),
        rope_freq_base=float(c.get("rope_base", 10000.0)), tied_embeddings=c.get("tied") == "True",
        n_expert=int(c.get("n_expert", 0)), n_expert_used=int(c.get("n_expert_used", 0)),
        n_ff_exp=int(c.get("n_ff_exp", 0)),
    )
    if c.get("n_swa"):
        spec = spec.with_changes(sliding_window=int(c["n_swa"]), swa_pattern=2)
    q = quant.upper()
    if q == "Q4_K_M":
        return spec.with_changes(weight_type="Q4_K", type_rules=q4_k_m_rules(n_layer))
    if q == "Q4_0":
        return spec.with_changes(weight_type="Q4_0", output_type="Q6_K")
    if q == "MXFP4":
        return spec.with_changes(weight_type="Q8_0", type_rules=((r"_exps\.weight$", "MXFP4"),))
    return spec.with_changes(weight_type=q)


_FILES: dict[str, ModelAnatomy] = {}
_DIR = Path(tempfile.mkdtemp(prefix="speed-rows-"))


def anatomy_for(config_text: str, quant: str) -> ModelAnatomy:
    key = hashlib.sha1(f"{config_text}|{quant}".encode()).hexdigest()[:16]
    if key not in _FILES:
        spec = model_spec(config_text, quant)
        if spec.n_expert and spec.arch == "llama":
            spec = _mixtral(spec)
        path = _DIR / f"{key}.gguf"
        make_sparse_model(path, spec)
        _FILES[key] = load_anatomy(path)
    return _FILES[key]


def _mixtral(spec: ModelSpec) -> ModelSpec:
    """Mixtral is llama with expert FFNs: the qwen3moe tensor set has the same matrices (plus 2 tiny norms)."""
    return spec.with_changes(arch="qwen3moe", n_ff=spec.n_ff_exp or spec.n_ff)


def _float(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def load_cases(path: Path = CALIBRATION) -> list[SpeedCase]:
    """Every row of a calibration-format CSV as a ``SpeedCase``."""
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("id") or row["id"].startswith("#"):
                continue
            anatomy = anatomy_for(row["model_config"], row["quant"])
            parts = [p.strip() for p in row["profile_used"].split(" + ")]
            backend = row["backend"].strip()
            if backend and backend not in ("CPU",):
                parts = [_with_backend(p, backend) for p in parts]
            # a row that does not say its RAM had enough of it (not this machine's)
            ram = _float(row["ram_gib"]) or (None if "channel" in row["profile_used"] and "DDR" in parts[-1]
                                              and len(parts) == 1 else 512.0)
            profile = resolve_profile(parts, _float(row["vram_gib"]), ram)
            # the measured box's CPU, not this one: its class's typical core count (speed.toml)
            profile = profile.with_changes(cpu_threads=None)
            ngl = (row["n_gpu_layers"] or "").strip()
            settings = LlamaSettings(
                n_ctx=4096, n_gpu_layers=None if ngl in ("", "99", "999", "all") else int(ngl),
                n_cpu_moe=int(row["n_cpu_moe"] or 0), cpu_moe=(row["cpu_moe"] or "").strip().lower() in ("1", "true", "yes"),
                flash_attn="auto",
            )
            depth = int(float(row["kv_depth_avg"] or 0))
            out.append(SpeedCase(row["id"], row["group"], row["device"], profile, anatomy, settings, depth,
                                 float(row["measured_tokens_per_s"]), backend, row["source"], row["test"]))
    return out


def _with_backend(part: str, backend: str) -> str:
    """``RTX 4090`` measured on Vulkan -> ``RTX 4090@Vulkan`` (the profile's per-device backend)."""
    if part.upper().startswith(("DDR", "LPDDR")) or "@" in part:
        return part
    return f"{part}@{backend}"
