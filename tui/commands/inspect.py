"""``localai-tui inspect MODEL [--json]``: what a GGUF model is made of, read from its header only."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.gguf.anatomy import ModelAnatomy

from tui.units import format_count, format_size

_MAX_PATTERN_PERIOD = 16  # longest repeating layer pattern shown as letters


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show a GGUF model's anatomy (layers, heads, experts, windows, sizes)",
        description="Read a GGUF model's header (never its weights) and show what it is made of.",
    )
    parser.add_argument("model", metavar="MODEL", help="a .gguf file (any shard of a split model)")
    parser.add_argument("--json", action="store_true", help="print the anatomy as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tui.core.gguf.anatomy import anatomy_to_dict
    from tui.core.hub.model_spec import load_model_anatomy

    anatomy = load_model_anatomy(args.model)
    if args.json:
        print(json.dumps(anatomy_to_dict(anatomy), indent=2, ensure_ascii=False))
    else:
        print(format_anatomy(anatomy, title=args.model))
    return 0


def format_anatomy(a: ModelAnatomy, title: str | None = None) -> str:
    """A readable summary of ``a``: one fact per line, then bytes per tensor type."""
    rows: list[tuple[str, str]] = []
    arch = a.architecture or "(none)"
    rows.append(("architecture", arch if a.known_architecture else f"{arch} (not supported by the bundled llama.cpp)"))
    if a.name:
        rows.append(("name", a.name))
    rows.append(("parameters", format_count(a.n_params, precise=True)))
    shards = f" in {a.n_shards} shards" if a.n_shards > 1 else ""
    rows.append(("file size", f"{format_size(a.file_size, precise=True)}{shards} ({a.file_size:,} bytes)"))
    if a.n_params:
        rows.append(("bits per weight", f"{a.bits_per_weight:.2f}"))
    if a.file_type is not None:
        from tui.core.gguf.labels import ftype_label

        rows.append(("file type", f"{ftype_label(a.file_type)} (general.file_type {a.file_type})"))
    layers = f"{a.n_layer}"
    if a.n_nextn_layers:
        layers += f" ({a.n_layer_main} + {a.n_nextn_layers} MTP)"
    rows.append(("layers", layers))
    rows.append(("embedding", str(a.n_embd)))
    rows.append(("feed-forward", describe_per_layer(a.n_ff)))
    rows.append(("heads", describe_per_layer(a.n_head)))
    rows.append(("KV heads", describe_per_layer(a.n_head_kv)))
    rows.append(("head dims", _head_dims(a)))
    rows.append(("trained context", f"{a.n_ctx_train:,} tokens"))
    rows.append(("vocabulary", f"{a.n_vocab:,} tokens"))
    if a.sliding_window:
        rows.append(("sliding window", _sliding_window(a)))
    if a.n_layer_kv_from_start >= 0:
        rows.append(("KV cache", f"first {a.n_layer_kv_from_start} layers (later layers reuse it)"))
    if a.n_expert:
        rows.append(("experts", _experts(a)))
    if a.kv_lora_rank or a.n_embd_head_k_mla:
        rows.append(("MLA", _mla(a)))
    if any(a.recurrent_layers):
        rows.append(("recurrent", _recurrent(a)))
    if a.tensors:
        rows.append(("embeddings", "tied (output reuses token_embd)" if a.tied_embeddings else "separate output"))
    rows.append(("tensors", f"{len(a.tensors):,}"))
    width = max(len(label) for label, _ in rows)
    lines = [title] if title else []
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    if a.bytes_by_type:
        lines += ["", *_type_table(a)]
    return "\n".join(lines)


def describe_per_layer(values: Sequence[int]) -> str:
    """One number when every layer agrees; else runs (``0 x3, 8 x29``) or, for busy patterns, counts."""
    if not values:
        return "-"
    if len(set(values)) == 1:
        return str(values[0])
    runs: list[list[int]] = []
    for v in values:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    if len(runs) <= 4:
        return ", ".join(f"{v} x{n}" for v, n in runs)
    counts = Counter(values)
    return ", ".join(f"{v} on {n} layers" for v, n in counts.most_common())


def layer_pattern(flags: Sequence[bool], on: str, off: str) -> str | None:
    """The shortest repeating pattern of ``flags`` as letters (``SSSSSF``), None if none is short."""
    n = len(flags)
    for period in range(1, min(_MAX_PATTERN_PERIOD, n // 2) + 1):
        if all(flags[i] == flags[i % period] for i in range(n)):
            return "".join(on if f else off for f in flags[:period])
    return None


def _head_dims(a: ModelAnatomy) -> str:
    text = f"K {a.n_embd_head_k}, V {a.n_embd_head_v}"
    k_swa = a.n_embd_head_k_swa or a.n_embd_head_k
    v_swa = a.n_embd_head_v_swa or a.n_embd_head_v
    if any(a.swa_layers) and (k_swa, v_swa) != (a.n_embd_head_k, a.n_embd_head_v):
        text += f" (SWA layers: K {k_swa}, V {v_swa})"
    return text


def _main_layers(flags: Sequence[bool], a: ModelAnatomy) -> Sequence[bool]:
    return flags[: a.n_layer_main] if a.n_nextn_layers else flags


def _sliding_window(a: ModelAnatomy) -> str:
    flags = _main_layers(a.swa_layers, a)
    kind = "" if a.swa_type == "standard" else f" {a.swa_type}"
    text = f"{a.sliding_window:,} tokens{kind} on {sum(a.swa_layers)} of {a.n_layer} layers"
    pattern = layer_pattern(flags, "S", "F")
    if pattern and 0 < sum(flags) < len(flags):
        text += f" (repeating {pattern}: S sliding, F full)"
    return text


def _experts(a: ModelAnatomy) -> str:
    parts = [f"{a.n_expert} ({a.n_expert_used} used per token)"]
    if a.n_expert_shared:
        parts.append(f"{a.n_expert_shared} shared")
    if a.n_ff_exp:
        parts.append(f"expert FFN {a.n_ff_exp}")
    if a.n_ff_shexp:
        parts.append(f"shared FFN {a.n_ff_shexp}")
    if a.n_layer_dense_lead:
        lead = a.n_layer_dense_lead
        parts.append(f"first {lead} layers dense" if lead > 1 else "first layer dense")
    return ", ".join(parts)


def _mla(a: ModelAnatomy) -> str:
    parts = [f"kv_lora_rank {a.kv_lora_rank}"]
    if a.q_lora_rank:
        parts.append(f"q_lora_rank {a.q_lora_rank}")
    if a.n_embd_head_k_mla:
        parts.append(f"head K {a.n_embd_head_k_mla}, V {a.n_embd_head_v_mla}")
    return ", ".join(parts)


def _recurrent(a: ModelAnatomy) -> str:
    flags = _main_layers(a.recurrent_layers, a)
    text = f"{sum(a.recurrent_layers)} of {a.n_layer} layers"
    pattern = layer_pattern(flags, "R", "A")
    if pattern and 0 < sum(flags) < len(flags):
        text += f" (repeating {pattern}: R recurrent, A attention)"
    if a.ssm_d_state:
        text += f"; SSM conv {a.ssm_d_conv}, inner {a.ssm_d_inner}, state {a.ssm_d_state}"
        if a.ssm_n_group:
            text += f", groups {a.ssm_n_group}"
    text += f"; state {a.n_embd_r + a.n_embd_s:,} values per layer and sequence"
    return text


def _type_table(a: ModelAnatomy) -> list[str]:
    counts = Counter(t.type_name for t in a.tensors)
    total = sum(a.bytes_by_type.values()) or 1
    rows = [("type", "tensors", "size", "share")]
    for name, n_bytes in a.bytes_by_type.items():
        rows.append((name, f"{counts[name]:,}", format_size(n_bytes, precise=True), f"{n_bytes * 100 / total:.1f}%"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = []
    for r in rows:
        out.append(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}")
    return out
