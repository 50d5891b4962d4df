"""KV cache and recurrent state: how many cells llama.cpp allocates and what each layer costs.

Mirrors the vendored llama.cpp (llama-cpp-python 0.3.36):

* ``llama_context::llama_context`` (src/llama-context.cpp): the context is padded to a
  multiple of 256 cells (``GGML_PAD(n_ctx, 256)``); without a unified cache each of the
  ``n_seq_max`` sequences gets ``n_ctx_seq = GGML_PAD(n_ctx / n_seq_max, 256)`` cells and
  ``n_ctx`` becomes ``n_ctx_seq * n_seq_max``. ``n_batch`` is capped by the requested context
  (causal models) and ``n_ubatch`` by ``n_batch``.
* ``llama_model::create_memory`` (src/llama-model.cpp): plain ``llama_kv_cache``, the
  ``llama_kv_cache_iswa`` pair for sliding-window models, ``llama_memory_recurrent`` for
  mamba/rwkv, the hybrid memories for models mixing both; nextn (MTP) layers are filtered out.
* ``llama_kv_cache::llama_kv_cache`` (src/llama-kv-cache.cpp): per layer a K tensor of
  ``n_embd_k_gqa(il)`` x cells x streams and, unless the model uses MLA, a V tensor of
  ``n_embd_v_gqa(il)`` (or ``n_embd_v_gqa_max()`` when V is stored transposed, i.e. without
  flash attention) x cells x streams, in the ``-ctk``/``-ctv`` types; layers past
  ``n_layer_kv_from_start`` reuse earlier caches and store nothing.
* ``llama_kv_cache_iswa::llama_kv_cache_iswa`` (src/llama-kv-cache-iswa.cpp): the SWA
  cache holds ``GGML_PAD(min(n_ctx_seq, n_swa * (unified ? n_seq_max : 1) + n_ubatch), 256)``
  cells, or the full ``n_ctx_seq`` with ``--swa-full``.
* ``llama_memory_recurrent::llama_memory_recurrent`` (src/llama-memory-recurrent.cpp): per
  recurrent layer an F32 ``r`` state of ``n_embd_r`` and an F32 ``s`` state of ``n_embd_s``
  values for each of ``max(1, n_seq_max)`` sequences.

All sizes are bytes; cells are tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.fit.cache import cached_for
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.gguf.ggml_types import ggml_type_named

#: llama_context pads the context (and each sequence's share) to this many cells.
N_CTX_PAD = 256

#: ``llm_arch_is_recurrent`` (src/llama-arch.cpp): every layer keeps a recurrent state, no KV cache.
RECURRENT_ARCHS = frozenset({"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"})

#: Architectures whose context llama.cpp creates without any memory module (encoders, diffusion).
NO_MEMORY_ARCHS = frozenset({
    "bert", "jina-bert-v2", "jina-bert-v3", "nomic-bert", "nomic-bert-moe", "neo-bert", "eurobert",
    "wavtokenizer-dec", "modern-bert", "gemma-embedding", "dream", "llada", "llada-moe", "rnd1",
})

#: The state types ``llama_memory_recurrent`` is created with (``GGML_TYPE_F32`` for r and s).
RECURRENT_STATE_BYTES_PER_VALUE = 4


def pad(value: int, multiple: int) -> int:
    """``GGML_PAD``: ``value`` rounded up to a multiple of ``multiple``."""
    return (value + multiple - 1) // multiple * multiple


@dataclass(frozen=True)
class ContextSize:
    """What llama.cpp makes of the requested context and batch sizes (tokens).

    ``n_ctx`` is the KV cells over all sequences after padding, ``n_ctx_seq`` one sequence's
    share; ``n_tokens`` is the worst-case micro-batch the compute graph is reserved for and
    ``n_outputs`` the logits rows that graph produces (the app, like llama-server, asks for
    one output per sequence).
    """

    n_ctx: int
    n_ctx_seq: int
    n_seq_max: int
    n_batch: int
    n_ubatch: int
    n_tokens: int
    n_outputs: int


def resolve_context(settings: LlamaSettings, n_ctx_train: int = 0) -> ContextSize:
    """The context llama.cpp will really allocate for ``settings`` (``llama_context::llama_context``).

    A requested context of 0 means "the model's trained context", as in llama.cpp.
    """
    requested = settings.n_ctx or n_ctx_train
    if requested <= 0:
        raise ValueError("context size must be at least 1 token")
    n_seq_max = max(1, settings.n_seq_max)
    n_batch = min(requested, settings.n_batch)  # causal attention: the batch is limited by the context
    n_ubatch = min(n_batch, settings.n_ubatch or n_batch)
    n_ctx = pad(requested, N_CTX_PAD)
    n_ctx_seq = pad(n_ctx // n_seq_max, N_CTX_PAD)
    n_ctx = n_ctx_seq * n_seq_max
    n_tokens = min(n_ctx, n_ubatch)
    n_outputs = min(n_tokens, n_seq_max)  # n_outputs_max = n_seq_max (engine/params.py, llama-server)
    return ContextSize(n_ctx, n_ctx_seq, n_seq_max, n_batch, n_ubatch, n_tokens, n_outputs)


@dataclass(frozen=True)
class LayerCache:
    """One layer's share of the memory module. ``cells`` is 0 for layers without a KV cache."""

    k_bytes: int = 0
    v_bytes: int = 0
    r_bytes: int = 0  # recurrent rolling (conv / token-shift) state
    s_bytes: int = 0  # recurrent SSM / WKV state
    cells: int = 0  # KV cells (tokens) this layer keeps, over all sequences
    swa: bool = False
    k_row_bytes: int = 0  # one cell's K (and V below) in this layer: what decoding reads per cached token
    v_row_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.k_bytes + self.v_bytes + self.r_bytes + self.s_bytes


@dataclass(frozen=True)
class CacheLayout:
    """Every layer's cache for one context, plus the cell counts of the caches llama.cpp creates.

    Per-layer values are parallel tuples (``layer_bytes[il]`` = K + V + recurrent state of layer
    ``il``); ``layer(il)`` gives one layer as a ``LayerCache``.
    """

    context: ContextSize
    full_cells: int  # cells of the non-SWA cache (per sequence)
    swa_cells: int  # cells of the SWA cache per sequence (0 without one)
    v_transposed: bool  # V stored transposed (no flash attention): padded to the widest layer
    is_mla: bool
    layer_bytes: tuple[int, ...]
    k_bytes: tuple[int, ...]
    v_bytes: tuple[int, ...]
    state_bytes: tuple[tuple[int, int], ...]  # (r, s) recurrent state per layer
    cells: tuple[int, ...]  # KV cells per layer, all sequences (0: no KV cache)
    swa: tuple[bool, ...]
    row_bytes: tuple[tuple[int, int], ...]  # (K, V) bytes of one cell per layer

    @property
    def total_bytes(self) -> int:
        return sum(self.layer_bytes)

    @property
    def n_layer(self) -> int:
        return len(self.layer_bytes)

    def layer(self, il: int) -> LayerCache:
        (k_row, v_row), (r, s) = self.row_bytes[il], self.state_bytes[il]
        return LayerCache(self.k_bytes[il], self.v_bytes[il], r, s, self.cells[il], self.swa[il], k_row, v_row)

    @property
    def layers(self) -> tuple[LayerCache, ...]:
        return tuple(self.layer(il) for il in range(self.n_layer))


def is_mla(anatomy: ModelAnatomy) -> bool:
    """``llama_hparams::is_mla``: both MLA head sizes are set; only K (the compressed latent) is cached."""
    return anatomy.n_embd_head_k_mla > 0 and anatomy.n_embd_head_v_mla > 0


def is_recurrent_layer(anatomy: ModelAnatomy, il: int) -> bool:
    if anatomy.architecture in RECURRENT_ARCHS:
        return il < anatomy.n_layer - anatomy.n_nextn_layers
    return il < len(anatomy.recurrent_layers) and anatomy.recurrent_layers[il]


def is_swa_layer(anatomy: ModelAnatomy, il: int) -> bool:
    return anatomy.sliding_window > 0 and il < len(anatomy.swa_layers) and anatomy.swa_layers[il]


def head_k(anatomy: ModelAnatomy, il: int) -> int:
    """``llama_hparams::n_embd_head_k(il)``: the key head size (SWA layers may use their own)."""
    if is_swa_layer(anatomy, il) and anatomy.n_embd_head_k_swa:
        return anatomy.n_embd_head_k_swa
    return anatomy.n_embd_head_k


def head_v(anatomy: ModelAnatomy, il: int) -> int:
    if is_swa_layer(anatomy, il) and anatomy.n_embd_head_v_swa:
        return anatomy.n_embd_head_v_swa
    return anatomy.n_embd_head_v


def n_embd_k_gqa(anatomy: ModelAnatomy, il: int) -> int:
    return head_k(anatomy, il) * anatomy.n_head_kv[il]


def n_embd_v_gqa(anatomy: ModelAnatomy, il: int) -> int:
    return head_v(anatomy, il) * anatomy.n_head_kv[il]


def n_embd_v_gqa_max(anatomy: ModelAnatomy) -> int:
    """``llama_hparams::n_embd_v_gqa_max``: the widest V row over all layers (nextn included)."""
    return max((n_embd_v_gqa(anatomy, il) for il in range(anatomy.n_layer)), default=0)


def has_kv(anatomy: ModelAnatomy, il: int) -> bool:
    """``llama_hparams::has_kv``: layers past ``n_layer_kv_from_start`` reuse an earlier layer's cache."""
    start = anatomy.n_layer_kv_from_start
    return start < 0 or il < start


def is_hybrid(anatomy: ModelAnatomy) -> bool:
    """A model mixing attention and recurrent layers (``llm_arch_is_hybrid``): jamba, qwen3next, lfm2 ..."""
    return anatomy.architecture not in RECURRENT_ARCHS and any(anatomy.recurrent_layers)


def has_attention_cache(anatomy: ModelAnatomy, il: int, hybrid: bool) -> bool:
    """Whether layer ``il`` gets K/V tensors (``create_memory``'s layer filters).

    A plain ``llama_kv_cache`` has no filter: every main layer gets tensors, even one with no
    KV heads (deci), whose K is then empty but whose transposed V is padded to the widest
    layer. Hybrids give K/V only to attention layers: the non-recurrent ones (nemotron-h:
    those with neither a recurrent state nor an FFN; falcon-h1: every layer).
    """
    if anatomy.architecture in RECURRENT_ARCHS:
        return False
    if not hybrid:
        return True
    if anatomy.architecture == "falcon-h1":
        return True
    if is_recurrent_layer(anatomy, il):
        return False
    if anatomy.architecture in ("nemotron_h", "nemotron_h_moe"):
        return anatomy.n_ff[il] == 0
    return True


def swa_cache_cells(anatomy: ModelAnatomy, settings: LlamaSettings, context: ContextSize) -> int:
    """Cells per sequence of the SWA cache (``llama_kv_cache_iswa``); 0 when the model has no SWA layers."""
    if anatomy.sliding_window <= 0 or not any(anatomy.swa_layers):
        return 0
    if settings.swa_full:
        return context.n_ctx_seq
    unified = False  # the app and llama-cpp-python create non-unified caches (kv_unified = false)
    window = anatomy.sliding_window * (context.n_seq_max if unified else 1) + context.n_ubatch
    return pad(min(context.n_ctx_seq, window), N_CTX_PAD)


#: Kinds of layer in the memory module (``_layer_geometry``).
NO_CACHE, FULL_KV, SWA_KV = 0, 1, 2


def _layer_geometry(anatomy: ModelAnatomy, cache_type_k: str, cache_type_v: str, v_trans: bool
                    ) -> tuple[tuple[int, int, int, int, int], ...]:
    """Per layer: (kind, K bytes per cell, V bytes per cell, r values, s values) for one sequence.

    Depends on the model and the cache types only, so it is computed once per combination.
    """
    type_k = ggml_type_named(cache_type_k)
    type_v = ggml_type_named(cache_type_v)
    n_main = anatomy.n_layer - anatomy.n_nextn_layers
    mla = is_mla(anatomy)
    v_max = n_embd_v_gqa_max(anatomy) if v_trans else 0
    no_memory = anatomy.architecture in NO_MEMORY_ARCHS
    hybrid = is_hybrid(anatomy)
    swa_model = anatomy.sliding_window > 0 and any(anatomy.swa_layers)
    out = []
    for il in range(anatomy.n_layer):
        if no_memory or il >= n_main:  # nextn (MTP) layers are filtered out of the cache
            out.append((NO_CACHE, 0, 0, 0, 0))
            continue
        r = s = 0
        if is_recurrent_layer(anatomy, il):
            r, s = anatomy.n_embd_r, anatomy.n_embd_s
        if not (has_kv(anatomy, il) and has_attention_cache(anatomy, il, hybrid)):
            out.append((NO_CACHE, 0, 0, r, s))
            continue
        k_width = n_embd_k_gqa(anatomy, il)
        v_width = 0 if mla else (v_max if v_trans else n_embd_v_gqa(anatomy, il))
        for width, t in ((k_width, type_k), (v_width, type_v)):
            if width % t.block_size:
                raise ValueError(f"a {t.name} KV cache needs rows that are a multiple of {t.block_size} "
                                 f"values; layer {il} has {width}")
        kind = SWA_KV if swa_model and is_swa_layer(anatomy, il) else FULL_KV
        out.append((kind, type_k.row_bytes(k_width), type_v.row_bytes(v_width), r, s))
    return tuple(out)


def cache_layout(anatomy: ModelAnatomy, settings: LlamaSettings, flash_attn: bool,
                 context: ContextSize | None = None) -> CacheLayout:
    """Every layer's KV cache / recurrent state for ``settings`` (bytes), as llama.cpp allocates them.

    ``flash_attn`` is the resolved flash-attention flag: without it V is stored transposed
    and every layer's V rows are padded to the widest one (``[TAG_V_CACHE_VARIABLE]``).
    Raises ValueError for a quantized cache type whose blocks do not divide a layer's rows.
    """
    context = context or resolve_context(settings, anatomy.n_ctx_train)
    v_trans = not flash_attn
    key = f"kv_geometry:{settings.cache_type_k}:{settings.cache_type_v}:{v_trans}"
    geometry = cached_for(anatomy, key, lambda: _layer_geometry(anatomy, settings.cache_type_k,
                                                                settings.cache_type_v, v_trans))
    streams = context.n_seq_max  # non-unified cache: one stream per sequence
    full_cells = context.n_ctx_seq
    swa_cells = swa_cache_cells(anatomy, settings, context)
    rs_rows = max(1, context.n_seq_max)  # mem_size * (1 + n_rs_seq), n_rs_seq = 0
    state_unit = RECURRENT_STATE_BYTES_PER_VALUE * rs_rows
    cells_of = (0, full_cells * streams, (swa_cells or full_cells) * streams)
    k_bytes, v_bytes, layer_bytes, states, cells, swa, rows = [], [], [], [], [], [], []
    for kind, k_row, v_row, r, s in geometry:
        c = cells_of[kind]
        kb, vb, rb, sb = k_row * c, v_row * c, r * state_unit, s * state_unit
        k_bytes.append(kb)
        v_bytes.append(vb)
        layer_bytes.append(kb + vb + rb + sb)
        states.append((rb, sb))
        cells.append(c)
        swa.append(kind == SWA_KV)
        rows.append((k_row, v_row))
    return CacheLayout(context, full_cells, swa_cells, v_trans, is_mla(anatomy), tuple(layer_bytes),
                       tuple(k_bytes), tuple(v_bytes), tuple(states), tuple(cells), tuple(swa), tuple(rows))


def kv_bytes_read_per_token(layout: CacheLayout, n_past: int) -> list[int]:
    """Bytes of cache each layer reads to decode one token with ``n_past`` tokens already cached.

    Attention reads K and V for every cached cell it attends to (at most the layer's cells:
    a sliding-window layer never looks further back than its cache); a recurrent layer reads
    and rewrites its whole state.
    """
    n_seq = layout.context.n_seq_max
    out = []
    for (k_row, v_row), (r, s), cells in zip(layout.row_bytes, layout.state_bytes, layout.cells, strict=True):
        attended = min(n_past, cells // n_seq) if cells else 0
        out.append((k_row + v_row) * attended + (r + s) // n_seq)
    return out
