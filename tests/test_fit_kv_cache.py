"""KV cache and recurrent state sizes, hand-computed from llama.cpp's rules."""

from __future__ import annotations

import pytest

from tests.fit_models import make_anatomy
from tui.core.fit.kv_cache import cache_layout, kv_bytes_read_per_token, resolve_context, swa_cache_cells
from tui.core.fit.settings import LlamaSettings
from tui.core.gguf.ggml_types import ggml_type_named


def test_context_is_padded_to_256_cells():
    ctx = resolve_context(LlamaSettings(n_ctx=1000))
    assert ctx.n_ctx == 1024 and ctx.n_ctx_seq == 1024
    assert resolve_context(LlamaSettings(n_ctx=4096)).n_ctx == 4096
    # batch limited by the requested context, micro-batch by the batch; one output row per sequence
    small = resolve_context(LlamaSettings(n_ctx=300, n_batch=2048, n_ubatch=512))
    assert (small.n_batch, small.n_ubatch, small.n_tokens, small.n_outputs) == (300, 300, 300, 1)
    # several sequences: each gets its own padded share
    multi = resolve_context(LlamaSettings(n_ctx=1000, n_seq_max=3))
    assert multi.n_ctx_seq == 512 and multi.n_ctx == 1536 and multi.n_outputs == 3
    # 0 = the model's trained context
    assert resolve_context(LlamaSettings(n_ctx=0), n_ctx_train=2048).n_ctx == 2048


def test_dense_gqa_cache_bytes():
    a = make_anatomy(n_layer=4, n_embd=256, n_head=8, n_head_kv=2)  # head 32, K/V rows of 64 values
    layout = cache_layout(a, LlamaSettings(n_ctx=1000), flash_attn=True)
    # 4 layers x 1024 cells x 64 values x 2 bytes, for K and for V
    assert layout.k_bytes == (1024 * 64 * 2,) * 4
    assert layout.total_bytes == 4 * 2 * 1024 * 64 * 2


def test_quantized_k_and_v():
    a = make_anatomy(n_layer=2, n_embd=256, n_head=8, n_head_kv=2)
    layout = cache_layout(a, LlamaSettings(n_ctx=256, cache_type_k="q8_0", cache_type_v="q4_0"), flash_attn=True)
    q8, q4 = ggml_type_named("Q8_0"), ggml_type_named("Q4_0")
    assert layout.k_bytes[0] == 256 * 2 * q8.type_size  # 64 values = 2 blocks of 34 bytes
    assert layout.v_bytes[0] == 256 * 2 * q4.type_size
    with pytest.raises(ValueError, match="multiple of 32"):
        cache_layout(make_anatomy(n_embd=48, n_head=3, n_head_kv=1), LlamaSettings(cache_type_k="q8_0"), True)


def test_transposed_v_is_padded_to_the_widest_layer_without_flash_attention():
    a = make_anatomy(n_layer=3, n_embd=128, n_head=4, n_head_kv=(2, 4, 0))  # deci-like: 64, 128, 0 values
    with_fa = cache_layout(a, LlamaSettings(n_ctx=256), flash_attn=True)
    without = cache_layout(a, LlamaSettings(n_ctx=256), flash_attn=False)
    assert with_fa.v_bytes == (256 * 64 * 2, 256 * 128 * 2, 0)
    assert without.v_bytes == (256 * 128 * 2,) * 3  # even the layer without KV heads
    assert without.k_bytes == with_fa.k_bytes == (256 * 64 * 2, 256 * 128 * 2, 0)


def test_sliding_window_cache_size():
    a = make_anatomy(n_layer=6, sliding_window=1024, swa_period=3)  # layers 0,1,3,4 SWA
    s = LlamaSettings(n_ctx=32768, n_ubatch=512)
    ctx = resolve_context(s)
    assert swa_cache_cells(a, s, ctx) == 1536  # pad(1024 + 512, 256)
    layout = cache_layout(a, s, flash_attn=True)
    assert layout.cells == (1536, 1536, 32768, 1536, 1536, 32768)
    assert swa_cache_cells(a, LlamaSettings(n_ctx=1000), resolve_context(LlamaSettings(n_ctx=1000))) == 1024
    full = cache_layout(a, s.with_changes(swa_full=True), flash_attn=True)
    assert full.cells == (32768,) * 6
    odd = LlamaSettings(n_ctx=32768, n_ubatch=100)
    assert swa_cache_cells(a, odd, resolve_context(odd)) == 1280  # pad(1124, 256)


def test_mla_caches_only_the_compressed_latent():
    a = make_anatomy(n_layer=2, n_embd=512, n_head=16, mla=(512, 64, 192, 128))
    layout = cache_layout(a, LlamaSettings(n_ctx=4096), flash_attn=True)
    assert layout.is_mla
    assert layout.v_bytes == (0, 0)
    assert layout.k_bytes == (4096 * 576 * 2,) * 2  # kv_lora_rank + rope dims, one "head"


def test_recurrent_state_per_layer():
    a = make_anatomy(arch="mamba", n_layer=3, n_embd=64, recurrent=(128, 16, 4, 4))
    layout = cache_layout(a, LlamaSettings(n_ctx=4096), flash_attn=True)
    r = (4 - 1) * 128 * 4
    s = 16 * 128 * 4
    assert layout.state_bytes == ((r, s),) * 3
    assert layout.cells == (0, 0, 0)
    assert layout.total_bytes == 3 * (r + s)
    two = cache_layout(a, LlamaSettings(n_ctx=4096, n_seq_max=2), flash_attn=True)
    assert two.total_bytes == 2 * layout.total_bytes  # one state per sequence, whatever the context


def test_hybrid_gives_kv_only_to_attention_layers():
    flags = (True, True, True, False)  # qwen3next-like: every 4th layer attends
    a = make_anatomy(arch="qwen3next", n_layer=4, n_embd=64, n_head=4, n_head_kv=2, recurrent=(128, 16, 4, 4),
                     recurrent_layers=flags)
    layout = cache_layout(a, LlamaSettings(n_ctx=512), flash_attn=True)
    assert layout.cells == (0, 0, 0, 512)
    assert [st[0] > 0 for st in layout.state_bytes] == [True, True, True, False]


def test_layers_without_their_own_cache_and_nextn_layers():
    a = make_anatomy(n_layer=4, n_layer_kv_from_start=2)
    assert cache_layout(a, LlamaSettings(n_ctx=256), True).cells == (256, 256, 0, 0)
    b = make_anatomy(n_layer=4, n_nextn=1)
    assert cache_layout(b, LlamaSettings(n_ctx=256), True).cells == (256, 256, 256, 0)


def test_decode_reads_the_cache_up_to_the_window():
    a = make_anatomy(n_layer=3, n_embd=256, n_head=8, n_head_kv=2, sliding_window=256, swa_period=3)
    layout = cache_layout(a, LlamaSettings(n_ctx=4096, n_ubatch=256), flash_attn=True)
    per_cell = 2 * 64 * 2  # K + V, 64 f16 values each
    assert kv_bytes_read_per_token(layout, 1000) == [512 * per_cell, 512 * per_cell, 1000 * per_cell]
    assert kv_bytes_read_per_token(layout, 0) == [0, 0, 0]
