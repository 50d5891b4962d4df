"""llama.cpp's hyper-parameter rules: from GGUF key/values to per-layer heads, windows and states.

What a model costs in memory depends on how llama.cpp reads its header, not only on the
keys: which layers use a sliding window (gemma3: 5 of every 6, unless the file says
otherwise), which keep a recurrent state instead of a KV cache (qwen3next: 3 of every 4),
how big a head is when ``key_length`` is absent (``n_embd / n_head``). This module mirrors
``llama_model_base::load_hparams`` (src/llama-model.cpp), ``llama_hparams``
(src/llama-hparams.cpp) and each architecture's ``load_arch_hparams`` (src/models/*.cpp),
for the parts that size weights, KV cache and recurrent state. Which architecture follows
which rule is data: ``tui/data/llama_arch.toml``.

Departures from llama.cpp, all for files llama.cpp would refuse to load: a missing required
key reads as 0 instead of failing, and a window of 0 tokens means "no sliding window".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from tui.core.gguf.reader import ArraySummary, GGUFError
from tui.core.toml_io import read_packaged_toml

_T = TypeVar("_T")

LLAMA_MAX_LAYERS = 512  # llama-hparams.h: block_count may not exceed it

SWA_MODES = ("none", "pattern", "array", "all", "not_recurrent")
SWA_TYPES = ("standard", "chunked", "symmetric")
RECURRENT_MODES = ("none", "all", "kv_zero", "kv_zero_all", "kv_and_ff_zero", "interval")
QUIRKS = frozenset(
    {
        "shared_kv_layers",
        "experts_need_two",
        "lite_without_q_lora",
        "shexp_from_exp",
        "one_shared_expert",
        "all_layers_dense_lead",
        "v_head_is_kv_lora",
        "linear_attention_heads",
        "mtp_probe",
        "looped_layers",
        "reads_head_dims",
    }
)


@dataclass(frozen=True)
class ArchRules:
    """How one architecture departs from llama.cpp's base rules (see tui/data/llama_arch.toml)."""

    swa: str = "none"
    swa_type: str = "standard"
    swa_period: int = 0
    swa_dense_first: bool = False
    swa_when: str = "always"
    swa_default_window: int = 0  # tokens
    swa_fixed_window: int = 0  # tokens; 0 = take the window from the file
    recurrent: str = "none"
    recurrent_interval: int = 0
    kv_from_start: int = -1  # -1 = every layer has its own KV cache
    quirks: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def _arch_table() -> tuple[frozenset[str], dict[str, ArchRules]]:
    data = read_packaged_toml("llama_arch.toml")
    known = frozenset(data["known"])
    rules: dict[str, ArchRules] = {}
    for name, table in data.get("arch", {}).items():
        table = dict(table)
        table["quirks"] = frozenset(table.get("quirks", ()))
        rule = ArchRules(**table)
        _check_rule(name, rule)
        rules[name] = rule
    return known, rules


def _check_rule(name: str, rule: ArchRules) -> None:
    problems = []
    if rule.swa not in SWA_MODES:
        problems.append(f"swa={rule.swa!r}")
    if rule.swa_type not in SWA_TYPES:
        problems.append(f"swa_type={rule.swa_type!r}")
    if rule.swa_when not in ("always", "window_positive", "window_not_zero") and not rule.swa_when.startswith(
        "block_count="
    ):
        problems.append(f"swa_when={rule.swa_when!r}")
    if rule.recurrent not in RECURRENT_MODES:
        problems.append(f"recurrent={rule.recurrent!r}")
    if rule.recurrent == "interval" and rule.recurrent_interval <= 0:
        problems.append("recurrent_interval must be > 0")
    if rule.quirks - QUIRKS:
        problems.append(f"quirks={sorted(rule.quirks - QUIRKS)}")
    if problems:
        raise ValueError(f"llama_arch.toml [arch.{name}]: bad {', '.join(problems)}")


def known_architectures() -> frozenset[str]:
    """GGUF ``general.architecture`` names the bundled llama.cpp can load."""
    return _arch_table()[0]


def is_known_architecture(name: str) -> bool:
    return name in known_architectures()


def arch_rules(name: str) -> ArchRules:
    """The rules for ``name``; the base rules for architectures without departures (or unknown)."""
    return _arch_table()[1].get(name, ArchRules())


@dataclass
class LlamaHParams:
    """The subset of ``llama_hparams`` that sizes a model; per-layer lists have ``n_layer_all`` entries."""

    arch: str
    n_ctx_train: int = 0  # tokens
    n_embd: int = 0
    n_layer_all: int = 0  # block_count (after nanbeige's loops), nextn layers included
    n_layer_nextn: int = 0  # trailing MTP layers
    n_vocab: int = 0
    n_head: list[int] = field(default_factory=list)
    n_head_kv: list[int] = field(default_factory=list)
    n_ff: list[int] = field(default_factory=list)
    n_expert: int = 0
    n_expert_used: list[int] = field(default_factory=list)
    n_ff_exp: list[int] = field(default_factory=list)
    n_expert_shared: int = 0
    n_ff_shexp: int = 0
    n_layer_dense_lead: int = 0
    n_embd_head_k: int = 0  # full-attention layers
    n_embd_head_v: int = 0
    n_embd_head_k_swa: int = 0  # sliding-window layers
    n_embd_head_v_swa: int = 0
    n_lora_q: int = 0
    n_lora_kv: int = 0
    n_embd_head_k_mla: int = 0  # the file's key_length_mla (0 = not MLA)
    n_embd_head_v_mla: int = 0
    swa_type: str = "none"
    n_swa: int = 0  # tokens
    is_swa: list[bool] = field(default_factory=list)
    is_recr: list[bool] = field(default_factory=list)
    n_layer_kv_from_start: int = -1
    ssm_d_conv: int = 0
    ssm_d_inner: int = 0
    ssm_d_state: int = 0
    ssm_dt_rank: int = 0
    ssm_n_group: int = 0
    wkv_head_size: int = 0  # rwkv
    token_shift_count: int = 2  # rwkv
    n_shortconv_l_cache: int = 0  # lfm2
    n_embd_head_kda: int = 0  # kimi delta attention
    n_embd_head_la: int = 0  # minimax-01 lightning attention

    @property
    def n_layer(self) -> int:
        """Main layers (llama_hparams::n_layer(): nextn layers excluded)."""
        return self.n_layer_all - self.n_layer_nextn

    def n_embd_r(self) -> int:
        """Rolling state (conv / token shift) elements per recurrent layer and sequence (llama_hparams::n_embd_r)."""
        if self.wkv_head_size:
            return self.token_shift_count * self.n_embd
        if self.n_shortconv_l_cache:
            return self.n_embd * (self.n_shortconv_l_cache - 1)
        if self.n_embd_head_kda:
            d_inner = self._n_head0() * self.n_embd_head_kda
            return 3 * (self.ssm_d_conv - 1 if self.ssm_d_conv > 0 else 3) * d_inner
        d_conv = self.ssm_d_conv - 1 if self.ssm_d_conv > 0 else 0
        return d_conv * (self.ssm_d_inner + 2 * self.ssm_n_group * self.ssm_d_state)

    def n_embd_s(self) -> int:
        """Recurrent (SSM / WKV / delta) state elements per recurrent layer and sequence (llama_hparams::n_embd_s)."""
        if self.wkv_head_size:
            return self.n_embd * self.wkv_head_size
        if self.n_embd_head_kda:
            return self.n_embd_head_kda * self.n_embd_head_kda * self._n_head0()
        if self.n_embd_head_la:
            return self.n_embd_head_la * self.n_embd_head_la * self._n_head0()
        return self.ssm_d_state * self.ssm_d_inner

    def _n_head0(self) -> int:
        return self.n_head[0] if self.n_head else 0


class _Keys:
    """Typed access to ``{arch}.*`` metadata, with llama.cpp's scalar-or-per-layer-array convention."""

    def __init__(self, metadata: Mapping[str, Any], arch: str) -> None:
        self.metadata = metadata
        self.arch = arch

    def key(self, suffix: str) -> str:
        return f"{self.arch}.{suffix}"

    def has(self, suffix: str) -> bool:
        return self.key(suffix) in self.metadata

    def count(self, suffix: str, default: int = 0) -> int:
        """``{arch}.<suffix>`` as a non-negative whole number (``default`` when absent)."""
        return self.count_key(self.key(suffix), default)

    def count_key(self, key: str, default: int = 0) -> int:
        value = self.metadata.get(key)
        if value is None:
            return default
        return _as_count(key, value)

    def per_layer(self, suffix: str, n_layer: int, default: list[int]) -> list[int]:
        """get_key_or_arr: one value for every layer, or an array with exactly one entry per layer."""
        key = self.key(suffix)
        value = self.metadata.get(key)
        if value is None:
            return default
        if isinstance(value, ArraySummary):
            raise GGUFError(f"{key} has {value.length} entries but the model has {n_layer} layers")
        if isinstance(value, list):
            if len(value) != n_layer:
                raise GGUFError(f"{key} has {len(value)} entries but the model has {n_layer} layers")
            values = [_as_count(key, v) for v in value]
            return values + default[len(values) :]
        return [_as_count(key, value)] * len(default)

    def layer_flags(self, suffix: str) -> list[bool] | None:
        """get_arr into a per-layer flag array: None when the key is absent or not an array."""
        key = self.key(suffix)
        value = self.metadata.get(key)
        if isinstance(value, ArraySummary) or (isinstance(value, list) and len(value) > LLAMA_MAX_LAYERS):
            raise GGUFError(f"{key} has {len(value)} entries, more than llama.cpp's {LLAMA_MAX_LAYERS} layers")
        if not isinstance(value, list):
            return None
        return [bool(_as_count(key, v, allow_negative=True)) for v in value]


def _as_count(key: str, value: Any, allow_negative: bool = False) -> int:
    if isinstance(value, bool) or isinstance(value, int):
        if value < 0 and not allow_negative:
            raise GGUFError(f"{key} is {value}, it must not be negative")
        return int(value)
    raise GGUFError(f"{key} should be a whole number, found {type(value).__name__} {str(value)[:40]!r}")


def load_hparams(metadata: Mapping[str, Any], tensor_shapes: Mapping[str, tuple[int, ...]]) -> LlamaHParams:
    """Derive llama.cpp's hyper-parameters from a model's key/values and its tensors' shapes (ggml order)."""
    arch_value = metadata.get("general.architecture")
    arch = arch_value if isinstance(arch_value, str) else ""
    rules = arch_rules(arch)
    keys = _Keys(metadata, arch)
    hp = LlamaHParams(arch=arch)
    _load_base(hp, keys, rules)
    hp.n_vocab = _vocab_size(keys, tensor_shapes)
    _load_experts_and_mla(hp, keys, rules)
    _load_states(hp, keys, rules)
    if "mtp_probe" in rules.quirks and hp.n_layer_nextn > 0:
        if f"blk.{hp.n_layer}.nextn.eh_proj.weight" not in tensor_shapes:
            hp.n_layer_nextn = 0
    _apply_recurrent(hp, keys, rules)
    _apply_swa(hp, keys, rules)
    _apply_kv_sharing(hp, keys, rules)
    if "looped_layers" in rules.quirks:
        _apply_loops(hp, keys)
    _trim(hp)
    return hp


def _load_base(hp: LlamaHParams, keys: _Keys, rules: ArchRules) -> None:
    """llama_model_base::load_hparams: sizes, per-layer heads and FFN, head dimensions."""
    hp.n_ctx_train = keys.count("context_length")
    hp.n_embd = keys.count("embedding_length")
    hp.n_layer_all = keys.count("block_count")
    if hp.n_layer_all > LLAMA_MAX_LAYERS:
        raise GGUFError(f"{keys.key('block_count')} is {hp.n_layer_all}, more than llama.cpp's {LLAMA_MAX_LAYERS}")
    hp.n_layer_nextn = keys.count("nextn_predict_layers")
    if hp.n_layer_nextn > hp.n_layer_all:
        raise GGUFError(f"{keys.key('nextn_predict_layers')} ({hp.n_layer_nextn}) exceeds the block count")
    n = hp.n_layer_all
    zeros = [0] * LLAMA_MAX_LAYERS
    hp.n_expert = keys.count("expert_count")
    hp.n_expert_used = keys.per_layer("expert_used_count", n, list(zeros))
    if "experts_need_two" in rules.quirks and hp.n_expert <= 1:
        hp.n_expert, hp.n_expert_used = 0, list(zeros)
    hp.n_ff = keys.per_layer("feed_forward_length", n, list(zeros))
    hp.n_head = keys.per_layer("attention.head_count", n, list(zeros))
    hp.n_head_kv = keys.per_layer("attention.head_count_kv", n, list(hp.n_head))
    n_head0 = hp.n_head[0]
    if n_head0 > 0:
        hp.n_embd_head_k = keys.count("attention.key_length", hp.n_embd // n_head0)
        hp.n_embd_head_v = keys.count("attention.value_length", hp.n_embd // n_head0)
    if "reads_head_dims" in rules.quirks:
        hp.n_embd_head_k = keys.count("attention.key_length", hp.n_embd_head_k)
        hp.n_embd_head_v = keys.count("attention.value_length", hp.n_embd_head_v)
    hp.n_embd_head_k_swa = keys.count("attention.key_length_swa", hp.n_embd_head_k)
    hp.n_embd_head_v_swa = keys.count("attention.value_length_swa", hp.n_embd_head_v)
    hp.is_swa = [False] * LLAMA_MAX_LAYERS
    hp.is_recr = [rules.recurrent == "all"] * LLAMA_MAX_LAYERS


def _vocab_size(keys: _Keys, tensor_shapes: Mapping[str, tuple[int, ...]]) -> int:
    """The tokenizer's token count (llama_vocab::n_tokens, what sizes the logits), else {arch}.vocab_size,
    else the rows of token_embd."""
    tokens = keys.metadata.get("tokenizer.ggml.tokens")
    if isinstance(tokens, (list, ArraySummary)):
        return len(tokens)
    if keys.has("vocab_size"):
        return keys.count("vocab_size")
    shape = tensor_shapes.get("token_embd.weight")
    return shape[1] if shape and len(shape) >= 2 else 0


def _load_experts_and_mla(hp: LlamaHParams, keys: _Keys, rules: ArchRules) -> None:
    n = hp.n_layer_all
    hp.n_ff_exp = keys.per_layer("expert_feed_forward_length", n, [0] * LLAMA_MAX_LAYERS)
    hp.n_expert_shared = keys.count("expert_shared_count", 1 if "one_shared_expert" in rules.quirks else 0)
    hp.n_ff_shexp = keys.count("expert_shared_feed_forward_length")
    if hp.n_ff_shexp == 0 and "shexp_from_exp" in rules.quirks:
        hp.n_ff_shexp = hp.n_ff_exp[0] * max(1, hp.n_expert_shared)
    if hp.n_ff_shexp == 0 and "one_shared_expert" in rules.quirks:
        hp.n_ff_shexp = hp.n_ff_exp[0] * hp.n_expert_shared
    hp.n_layer_dense_lead = keys.count("leading_dense_block_count")
    if "all_layers_dense_lead" in rules.quirks:
        hp.n_layer_dense_lead = hp.n_layer
    hp.n_lora_kv = keys.count("attention.kv_lora_rank")
    hp.n_lora_q = keys.count("attention.q_lora_rank")
    if "lite_without_q_lora" in rules.quirks:
        # deepseek2.cpp reads vocab_size first here, then the token count
        tokens = keys.metadata.get("tokenizer.ggml.tokens")
        n_vocab = keys.count("vocab_size", len(tokens) if isinstance(tokens, (list, ArraySummary)) else 0)
        lite = hp.n_layer in (26, 27) or (hp.n_layer == 48 and n_vocab == 128256)
        if lite:
            hp.n_lora_q = 0
    hp.n_embd_head_k_mla = keys.count("attention.key_length_mla")
    hp.n_embd_head_v_mla = keys.count("attention.value_length_mla")
    if "v_head_is_kv_lora" in rules.quirks:
        hp.n_embd_head_v = hp.n_lora_kv  # the MLA cache holds the compressed latent


def _load_states(hp: LlamaHParams, keys: _Keys, rules: ArchRules) -> None:
    """Recurrent-state sizes: SSM (mamba and hybrids), RWKV, LFM2 short convolutions, delta attention."""
    hp.ssm_d_conv = keys.count("ssm.conv_kernel")
    hp.ssm_d_inner = keys.count("ssm.inner_size")
    hp.ssm_d_state = keys.count("ssm.state_size")
    hp.ssm_dt_rank = keys.count("ssm.time_step_rank")
    hp.ssm_n_group = keys.count("ssm.group_count")
    hp.wkv_head_size = keys.count("wkv.head_size")
    hp.token_shift_count = keys.count("token_shift_count", 2)
    hp.n_shortconv_l_cache = keys.count("shortconv.l_cache")
    hp.n_embd_head_kda = keys.count("kda.head_dim")
    if "linear_attention_heads" in rules.quirks:
        hp.n_embd_head_la = hp.n_embd_head_k


def _apply_recurrent(hp: LlamaHParams, keys: _Keys, rules: ArchRules) -> None:
    mode = rules.recurrent
    if mode in ("none", "all"):
        return  # set in _load_base
    if mode in ("kv_zero", "kv_zero_all", "kv_and_ff_zero"):
        # a layer without KV heads (and, for nemotron_h, without FFN) is a recurrent one
        layers = range(hp.n_layer_all) if mode == "kv_zero_all" else range(hp.n_layer)
        for il in layers:
            hp.is_recr[il] = hp.n_head_kv[il] == 0 and (mode != "kv_and_ff_zero" or hp.n_ff[il] == 0)
        return
    # "interval": an explicit per-layer list, else every layer but each interval-th
    if keys.has("attention.recurrent_layers"):
        flags = keys.per_layer("attention.recurrent_layers", hp.n_layer_all, [0] * LLAMA_MAX_LAYERS)
        hp.is_recr = [bool(f) for f in flags]
        return
    interval = keys.count("full_attention_interval", rules.recurrent_interval)
    if interval == 0:
        raise GGUFError(f"{keys.key('full_attention_interval')} must not be 0")
    for il in range(LLAMA_MAX_LAYERS):
        hp.is_recr[il] = il < hp.n_layer and (il + 1) % interval != 0


def _apply_swa(hp: LlamaHParams, keys: _Keys, rules: ArchRules) -> None:
    if rules.swa == "none":
        return
    window_key = keys.count("attention.sliding_window") if keys.has("attention.sliding_window") else None
    if rules.swa_when == "window_positive":
        on = window_key is not None and window_key > 0
    elif rules.swa_when == "window_not_zero":
        on = window_key != 0
    elif rules.swa_when.startswith("block_count="):
        on = hp.n_layer == int(rules.swa_when.split("=", 1)[1])
    else:
        on = True
    if not on:
        return
    window = rules.swa_default_window if window_key is None else window_key
    if rules.swa_fixed_window:
        window = rules.swa_fixed_window
    if window <= 0:
        return  # llama.cpp would mask every token; such a file does not load
    hp.swa_type, hp.n_swa = rules.swa_type, window
    if rules.swa == "pattern":
        flags = keys.layer_flags("attention.sliding_window_pattern")
        if flags is not None:
            hp.is_swa = flags + [False] * (LLAMA_MAX_LAYERS - len(flags))
        else:
            period = keys.count("attention.sliding_window_pattern", rules.swa_period)
            _set_swa_pattern(hp, period, rules.swa_dense_first)
    elif rules.swa == "array":
        flags = keys.layer_flags("attention.sliding_window_pattern") or []
        hp.is_swa = flags + [False] * (LLAMA_MAX_LAYERS - len(flags))
    elif rules.swa == "all":
        hp.is_swa = [True] * LLAMA_MAX_LAYERS
    elif rules.swa == "not_recurrent":
        for il in range(hp.n_layer):
            hp.is_swa[il] = not hp.is_recr[il]


def _set_swa_pattern(hp: LlamaHParams, n_pattern: int, dense_first: bool) -> None:
    """llama_hparams::set_swa_pattern: every n_pattern-th layer is dense, the others SWA; 0 = all SWA."""
    for il in range(hp.n_layer):
        if n_pattern == 0:
            hp.is_swa[il] = True
        elif dense_first:
            hp.is_swa[il] = il % n_pattern != 0
        else:
            hp.is_swa[il] = il % n_pattern < n_pattern - 1
    for il in range(hp.n_layer, hp.n_layer_all):
        hp.is_swa[il] = False


def _apply_kv_sharing(hp: LlamaHParams, keys: _Keys, rules: ArchRules) -> None:
    if rules.kv_from_start >= 0:
        hp.n_layer_kv_from_start = rules.kv_from_start
    if "shared_kv_layers" in rules.quirks:
        hp.n_layer_kv_from_start = hp.n_layer_all - keys.count("attention.shared_kv_layers")


def _apply_loops(hp: LlamaHParams, keys: _Keys) -> None:
    """nanbeige: the stack of physical layers runs ``num_loops`` times, each pass with its own KV cache."""
    loops = keys.count("num_loops", 1)
    if loops < 1:
        raise GGUFError(f"{keys.key('num_loops')} must be at least 1")
    physical = hp.n_layer
    if physical * loops > LLAMA_MAX_LAYERS:
        raise GGUFError(f"{physical} layers x {loops} loops exceeds llama.cpp's {LLAMA_MAX_LAYERS} layers")
    if loops == 1:
        return
    for counts in (hp.n_head, hp.n_head_kv, hp.n_ff):
        _repeat_layers(counts, physical, loops)
    for flags in (hp.is_swa, hp.is_recr):
        _repeat_layers(flags, physical, loops)
    hp.n_layer_all = physical * loops


def _trim(hp: LlamaHParams) -> None:
    n = hp.n_layer_all
    for name in ("n_head", "n_head_kv", "n_ff", "n_expert_used", "n_ff_exp", "is_swa", "is_recr"):
        setattr(hp, name, list(getattr(hp, name)[:n]))


def _repeat_layers(per_layer: list[_T], physical: int, loops: int) -> None:
    """Copy the first ``physical`` layers' values over the ``loops - 1`` repetitions that follow."""
    for j in range(1, loops):
        for il in range(physical):
            per_layer[il + j * physical] = per_layer[il]
