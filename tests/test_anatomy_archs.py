"""Anatomy of generated headers, one architecture family at a time.

Each expectation is worked out by hand from the vendored llama.cpp (src/llama-model.cpp
``load_hparams``, src/llama-hparams.cpp, src/models/<arch>.cpp ``load_arch_hparams``); the
comment on each case says which rule it exercises. Headers are written by gguf.GGUFWriter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui.core.gguf.anatomy import ModelAnatomy, anatomy_from_headers
from tui.core.gguf.hparams import arch_rules, is_known_architecture, known_architectures
from tui.core.gguf.reader import FileSource, GGUFError, read_header

T, F = True, False


def write_header(path: Path, arch: str, kvs: dict[str, Any], tensors: dict[str, tuple[int, ...]] | None = None) -> Path:
    """A GGUF file with ``{arch}.KEY`` key/values (keys with a dot-prefix of their own kept as is)."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(path, arch)
    for key, value in kvs.items():
        full = key if key.startswith(("general.", "tokenizer.")) else f"{arch}.{key}"
        if isinstance(value, bool):
            writer.add_bool(full, value)
        elif isinstance(value, int):
            writer.add_uint32(full, value)
        elif isinstance(value, float):
            writer.add_float32(full, value)
        elif isinstance(value, str):
            writer.add_string(full, value)
        else:
            writer.add_array(full, list(value))
    for name, shape in (tensors or {}).items():
        writer.add_tensor(name, np.zeros(tuple(reversed(shape)), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def anatomy(tmp_path):
    counter = iter(range(1000))

    def make(arch: str, tensors: dict[str, tuple[int, ...]] | None = None, **kvs: Any) -> ModelAnatomy:
        path = write_header(tmp_path / f"m{next(counter)}.gguf", arch, kvs, tensors)
        return anatomy_from_headers([read_header(FileSource(path))])

    return make


def test_dense_gqa_llama_with_per_layer_kv_heads(anatomy):
    a = anatomy("llama", block_count=4, embedding_length=256, feed_forward_length=512, context_length=4096,
                **{"attention.head_count": 8, "attention.head_count_kv": [8, 4, 2, 1]})  # fmt: skip
    assert (a.n_layer, a.n_embd, a.n_ctx_train) == (4, 256, 4096)
    assert a.n_head == (8, 8, 8, 8) and a.n_head_kv == (8, 4, 2, 1) and a.n_ff == (512,) * 4
    assert (a.n_embd_head_k, a.n_embd_head_v) == (32, 32)  # n_embd / n_head
    assert (a.n_embd_head_k_swa, a.n_embd_head_v_swa) == (32, 32)
    assert a.swa_layers == (F,) * 4 and a.recurrent_layers == (F,) * 4 and a.swa_type == "none"


def test_explicit_head_sizes_win_over_n_embd_over_n_head(anatomy):
    a = anatomy("qwen3", block_count=2, embedding_length=1024,
                **{"attention.head_count": 16, "attention.key_length": 128, "attention.value_length": 96})  # fmt: skip
    assert (a.n_embd_head_k, a.n_embd_head_v) == (128, 96)


def test_deci_layers_without_attention_or_ffn(anatomy):
    a = anatomy("deci", block_count=3, embedding_length=128,
                feed_forward_length=[1024, 0, 1024], **{"attention.head_count": 4, "attention.head_count_kv": [4, 0, 4]})  # fmt: skip
    assert a.n_head_kv == (4, 0, 4) and a.n_ff == (1024, 0, 1024)


def _gemma3(anatomy, **extra):
    return anatomy("gemma3", block_count=12, embedding_length=640, context_length=32768,
                   **{"attention.head_count": 4, "attention.head_count_kv": 1, "attention.key_length": 256,
                      "attention.value_length": 256}, **extra)  # fmt: skip


def test_gemma3_default_pattern_is_five_sliding_one_full(anatomy):
    a = _gemma3(anatomy, **{"attention.sliding_window": 1024})
    assert (a.sliding_window, a.swa_type) == (1024, "standard")
    assert a.swa_layers == (T, T, T, T, T, F) * 2  # load_swa_pattern(ml, 6): il % 6 < 5
    assert (a.n_embd_head_k, a.n_embd_head_k_swa) == (256, 256)


def test_gemma3_pattern_key_as_period_and_as_array(anatomy):
    period = _gemma3(anatomy, **{"attention.sliding_window": 512, "attention.sliding_window_pattern": 3})
    assert period.swa_layers == (T, T, F) * 4
    flags = [T, F] * 6
    array = _gemma3(anatomy, **{"attention.sliding_window": 512, "attention.sliding_window_pattern": flags})
    assert array.swa_layers == tuple(flags)


def test_gemma3_without_a_window_has_no_swa(anatomy):
    for extra in ({}, {"attention.sliding_window": 0}):
        a = _gemma3(anatomy, **extra)
        assert (a.sliding_window, a.swa_type, a.swa_layers) == (0, "none", (F,) * 12)


def test_gemma2_window_defaults_to_4096_every_other_layer(anatomy):
    a = anatomy("gemma2", block_count=6, embedding_length=256, **{"attention.head_count": 4})
    assert (a.sliding_window, a.swa_layers) == (4096, (T, F) * 3)


def test_cohere2moe_pattern_starts_with_a_dense_layer(anatomy):
    a = anatomy("cohere2moe", block_count=8, embedding_length=256, **{"attention.head_count": 4,
                "attention.sliding_window": 4096})  # fmt: skip
    assert a.swa_layers == (F, T, T, T) * 2  # load_swa_pattern(ml, 4, true): il % 4 != 0


def test_llama4_chunked_attention(anatomy):
    base = {"block_count": 8, "embedding_length": 256, "attention.head_count": 4}
    default = anatomy("llama4", **base)
    assert (default.swa_type, default.sliding_window, default.swa_layers) == ("chunked", 8192, (T, T, T, F) * 2)
    assert anatomy("llama4", **base, **{"attention.sliding_window": 2048}).sliding_window == 8192
    off = anatomy("llama4", **base, **{"attention.sliding_window": 0})
    assert (off.swa_type, off.sliding_window, any(off.swa_layers)) == ("none", 0, False)


def test_gpt_oss_alternating_window_and_experts(anatomy):
    a = anatomy("gpt-oss", block_count=4, embedding_length=2880, expert_count=32, expert_used_count=4,
                expert_feed_forward_length=2880,
                **{"attention.head_count": 64, "attention.head_count_kv": 8, "attention.key_length": 64,
                   "attention.value_length": 64, "attention.sliding_window": 128})  # fmt: skip
    assert (a.sliding_window, a.swa_layers) == (128, (T, F, T, F))
    assert (a.n_expert, a.n_expert_used, a.n_ff_exp, a.is_moe) == (32, 4, 2880, True)


def test_qwen3moe_experts(anatomy):
    a = anatomy("qwen3moe", block_count=4, embedding_length=2048, feed_forward_length=6144, expert_count=128,
                expert_used_count=8, expert_feed_forward_length=768,
                **{"attention.head_count": 32, "attention.head_count_kv": 4, "attention.key_length": 128})  # fmt: skip
    assert (a.n_expert, a.n_expert_used, a.n_ff_exp, a.n_expert_shared, a.n_layer_dense_lead) == (128, 8, 768, 0, 0)
    assert (a.n_embd_head_k, a.n_embd_head_v) == (128, 64)  # value_length absent: 2048 / 32


def _deepseek2(anatomy, block_count: int):
    return anatomy("deepseek2", block_count=block_count, embedding_length=7168, nextn_predict_layers=1,
                   expert_count=256, expert_used_count=8, expert_shared_count=1, expert_feed_forward_length=2048,
                   leading_dense_block_count=3, vocab_size=129280,
                   **{"attention.head_count": 128, "attention.head_count_kv": 1, "attention.key_length": 576,
                      "attention.value_length": 512, "attention.key_length_mla": 192,
                      "attention.value_length_mla": 128, "attention.kv_lora_rank": 512,
                      "attention.q_lora_rank": 1536})  # fmt: skip


def test_deepseek2_mla_experts_and_mtp_layer(anatomy):
    a = _deepseek2(anatomy, 61)
    assert (a.n_layer, a.n_nextn_layers, a.n_layer_main) == (61, 1, 60)
    assert (a.kv_lora_rank, a.q_lora_rank, a.n_embd_head_k_mla, a.n_embd_head_v_mla) == (512, 1536, 192, 128)
    assert (a.n_embd_head_k, a.n_embd_head_v, a.n_head_kv[0]) == (576, 512, 1)
    assert (a.n_expert, a.n_expert_used, a.n_expert_shared, a.n_ff_exp, a.n_layer_dense_lead) == (256, 8, 1, 2048, 3)
    assert a.n_vocab == 129280


def test_deepseek2_lite_ignores_q_lora_rank(anatomy):
    assert _deepseek2(anatomy, 27).q_lora_rank == 0  # V2-Lite: 27 layers, no q compression


def test_mamba_state_sizes(anatomy):
    a = anatomy("mamba", block_count=4, embedding_length=768,
                **{"ssm.conv_kernel": 4, "ssm.inner_size": 1536, "ssm.state_size": 16, "ssm.time_step_rank": 48})  # fmt: skip
    assert a.recurrent_layers == (T,) * 4  # llm_arch_is_recurrent
    assert (a.n_embd_r, a.n_embd_s) == (3 * 1536, 16 * 1536)  # (d_conv - 1) * d_inner, d_state * d_inner
    assert (a.n_head, a.n_embd_head_k, a.ssm_dt_rank) == ((0,) * 4, 0, 48)


def test_mamba2_groups_widen_the_conv_state(anatomy):
    a = anatomy("mamba2", block_count=2, embedding_length=768,
                **{"ssm.conv_kernel": 4, "ssm.inner_size": 1536, "ssm.state_size": 128, "ssm.group_count": 8})  # fmt: skip
    assert (a.n_embd_r, a.n_embd_s) == (3 * (1536 + 2 * 8 * 128), 128 * 1536)


def test_jamba_attention_where_kv_heads_are_set(anatomy):
    a = anatomy("jamba", block_count=8, embedding_length=4096,
                **{"attention.head_count": 32, "attention.head_count_kv": [0, 0, 0, 8] * 2, "ssm.conv_kernel": 4,
                   "ssm.inner_size": 8192, "ssm.state_size": 16, "ssm.time_step_rank": 256})  # fmt: skip
    assert a.recurrent_layers == (T, T, T, F) * 2
    assert (a.n_embd_r, a.n_embd_s) == (3 * 8192, 16 * 8192)


def test_nemotron_h_recurrent_needs_no_attention_and_no_ffn(anatomy):
    a = anatomy("nemotron_h", block_count=4, embedding_length=1024, feed_forward_length=[0, 0, 4096, 0],
                **{"attention.head_count": 8, "attention.head_count_kv": [0, 8, 0, 0]})  # fmt: skip
    assert a.recurrent_layers == (T, F, F, T)


def test_qwen3next_interval_and_explicit_recurrent_layers(anatomy):
    base = {"block_count": 8, "embedding_length": 2048, "attention.head_count": 16}
    assert anatomy("qwen3next", **base).recurrent_layers == (T, T, T, F) * 2
    assert anatomy("qwen3next", **base, full_attention_interval=2).recurrent_layers == (T, F) * 4
    explicit = [T, F, F, T, F, F, F, F]
    assert anatomy("qwen3next", **base, **{"attention.recurrent_layers": explicit}).recurrent_layers == tuple(explicit)


def test_qwen35_mtp_layer_is_not_recurrent(anatomy):
    a = anatomy("qwen35", block_count=5, nextn_predict_layers=1, embedding_length=1024, **{"attention.head_count": 8})
    assert a.recurrent_layers == (T, T, T, F, F)  # 4 main layers, then the MTP layer


def test_lfm2_short_convolutions_and_windowed_attention_layers(anatomy):
    kvs = {"block_count": 6, "embedding_length": 1024, "feed_forward_length": 6912, "shortconv.l_cache": 3,
           "attention.head_count": 16, "attention.head_count_kv": [0, 0, 8, 0, 8, 0]}  # fmt: skip
    a = anatomy("lfm2", **kvs, **{"attention.sliding_window": 512})
    assert a.recurrent_layers == (T, T, F, T, F, T)
    assert (a.swa_layers, a.sliding_window) == ((F, F, T, F, T, F), 512)  # SWA on every attention layer
    assert (a.n_embd_r, a.n_embd_s, a.n_layer_dense_lead) == (1024 * 2, 0, 6)
    assert anatomy("lfm2", **kvs).swa_layers == (F,) * 6


def test_gemma3n_keeps_kv_for_the_first_20_layers(anatomy):
    a = anatomy("gemma3n", block_count=30, embedding_length=2048,
                **{"attention.head_count": 8, "attention.sliding_window": 512})  # fmt: skip
    assert a.swa_layers == (T, T, T, T, F) * 6 and a.n_layer_kv_from_start == 20


def test_gemma4_shared_kv_layers_and_swa_head_sizes(anatomy):
    pattern = [T, T, F, T, T, F]
    a = anatomy("gemma4", block_count=6, embedding_length=1536,
                **{"attention.head_count": 8, "attention.sliding_window": 1024,
                   "attention.sliding_window_pattern": pattern, "attention.shared_kv_layers": 2,
                   "attention.key_length": 512, "attention.value_length": 512,
                   "attention.key_length_swa": 256, "attention.value_length_swa": 256})  # fmt: skip
    assert a.swa_layers == tuple(pattern) and a.n_layer_kv_from_start == 4
    assert (a.n_embd_head_k, a.n_embd_head_v, a.n_embd_head_k_swa, a.n_embd_head_v_swa) == (512, 512, 256, 256)


def test_exaone4_windows_only_the_32b_model(anatomy):
    big = anatomy("exaone4", block_count=64, embedding_length=5120, **{"attention.head_count": 40})
    assert (big.sliding_window, big.swa_layers) == (4096, (T, T, T, F) * 16)
    small = anatomy("exaone4", block_count=30, embedding_length=2048,
                    **{"attention.head_count": 32, "attention.sliding_window": 4096})  # fmt: skip
    assert (small.sliding_window, any(small.swa_layers)) == (0, False)


def test_deepseek4_counts_mtp_layers_only_when_their_tensors_exist(anatomy):
    kvs = {"block_count": 5, "nextn_predict_layers": 1, "embedding_length": 64,
           "attention.head_count": 4, "attention.sliding_window": 128}  # fmt: skip
    without = anatomy("deepseek4", **kvs)
    assert (without.n_nextn_layers, without.swa_layers) == (0, (T,) * 5)
    with_mtp = anatomy("deepseek4", {"blk.4.nextn.eh_proj.weight": (8, 8)}, **kvs)
    assert (with_mtp.n_nextn_layers, with_mtp.swa_layers) == (1, (T,) * 5)


def test_nanbeige_loops_repeat_the_layer_stack(anatomy):
    a = anatomy("nanbeige", block_count=3, num_loops=2, embedding_length=256,
                **{"attention.head_count": 8, "attention.head_count_kv": [4, 2, 1]})  # fmt: skip
    assert (a.n_layer, a.n_head_kv) == (6, (4, 2, 1, 4, 2, 1))


def test_hunyuan_dense_with_one_expert_is_dense(anatomy):
    a = anatomy("hunyuan-dense", block_count=2, embedding_length=256, expert_count=1, expert_used_count=1,
                **{"attention.head_count": 8})  # fmt: skip
    assert (a.n_expert, a.n_expert_used, a.is_moe) == (0, 0, False)


def test_rwkv_token_shift_and_wkv_states(anatomy):
    a = anatomy("rwkv6", block_count=2, embedding_length=2048, **{"wkv.head_size": 64})
    assert (a.n_embd_r, a.n_embd_s, a.recurrent_layers) == (2 * 2048, 2048 * 64, (T, T))
    assert anatomy("rwkv7", block_count=1, embedding_length=512, token_shift_count=1,
                   **{"wkv.head_size": 64}).n_embd_r == 512  # fmt: skip


def test_kimi_linear_delta_attention_states(anatomy):
    a = anatomy("kimi-linear", block_count=4, embedding_length=2304,
                **{"attention.head_count": 32, "attention.head_count_kv": [0, 0, 0, 32], "kda.head_dim": 128,
                   "ssm.conv_kernel": 4, "attention.kv_lora_rank": 512, "attention.key_length_mla": 192,
                   "attention.value_length_mla": 128})  # fmt: skip
    assert a.recurrent_layers == (T, T, T, F)
    assert (a.n_embd_r, a.n_embd_s) == (3 * 3 * 32 * 128, 128 * 128 * 32)
    assert (a.kv_lora_rank, a.n_embd_head_k_mla) == (512, 192)


def test_minimax01_lightning_attention(anatomy):
    a = anatomy("minimax-01", block_count=8, embedding_length=6144,
                **{"attention.head_count": 64, "attention.key_length": 128})  # fmt: skip
    assert a.recurrent_layers == (T,) * 7 + (F,)  # full_attention_interval defaults to 8
    assert a.n_embd_s == 128 * 128 * 64


def test_glm5_next_value_head_is_the_latent(anatomy):
    a = anatomy("glm5-next", block_count=2, embedding_length=1024,
                **{"attention.head_count": 8, "attention.head_count_kv": [0, 1], "attention.kv_lora_rank": 512})  # fmt: skip
    assert (a.n_embd_head_v, a.recurrent_layers) == (512, (T, F))


def test_shared_expert_defaults(anatomy):
    laguna = anatomy("laguna", block_count=8, embedding_length=512, expert_count=8, expert_used_count=2,
                     expert_feed_forward_length=512, leading_dense_block_count=1,
                     **{"attention.head_count": 8, "attention.sliding_window": 512})  # fmt: skip
    assert (laguna.n_expert_shared, laguna.n_ff_shexp) == (1, 512)
    assert laguna.swa_layers == (F, T, T, T) * 2
    bailing = anatomy("bailingmoe3", block_count=2, embedding_length=512, expert_count=8, expert_used_count=2,
                      expert_feed_forward_length=512, expert_shared_count=2, **{"attention.head_count": 8})  # fmt: skip
    assert bailing.n_ff_shexp == 1024


def test_smallthinker_forces_a_4096_window(anatomy):
    a = anatomy("smallthinker", block_count=4, embedding_length=256,
                **{"attention.head_count": 4, "attention.sliding_window": 1024})  # fmt: skip
    assert (a.sliding_window, a.swa_layers) == (4096, (F, T, T, T))


def test_phi3_window_is_ignored(anatomy):
    a = anatomy("phi3", block_count=2, embedding_length=256, **{"attention.head_count": 4, "attention.sliding_window": 2047})
    assert (a.sliding_window, a.swa_layers) == (0, (F, F))


def test_unknown_architecture_still_gets_an_anatomy(anatomy):
    a = anatomy("mystery", block_count=2, embedding_length=64, context_length=1024, **{"attention.head_count": 4})
    assert (a.architecture, a.known_architecture) == ("mystery", False)
    assert (a.n_layer, a.n_head_kv, a.n_embd_head_k, a.n_ctx_train) == (2, (4, 4), 16, 1024)
    empty = anatomy("mystery")
    assert (empty.n_layer, empty.n_embd, empty.n_head, empty.n_vocab) == (0, 0, (), 0)


def test_tied_embeddings_and_vocab_from_token_embd(anatomy):
    a = anatomy("llama", {"token_embd.weight": (8, 100), "output_norm.weight": (8,)}, block_count=1, embedding_length=8,
                **{"attention.head_count": 2})  # fmt: skip
    assert (a.tied_embeddings, a.n_vocab, a.n_params) == (True, 100, 808)


def test_vocabulary_is_the_tokenizer_token_count_first(anatomy):
    """llama.cpp sizes logits by llama_vocab::n_tokens (the token list), not {arch}.vocab_size."""
    tokens = [f"t{i}" for i in range(10)]
    a = anatomy("llama", block_count=1, vocab_size=16, **{"tokenizer.ggml.tokens": tokens})
    assert a.n_vocab == 10
    assert anatomy("llama", block_count=1, vocab_size=16).n_vocab == 16


@pytest.mark.parametrize(
    ("kvs", "message"),
    [
        ({"block_count": 4, "attention.head_count_kv": [4, 4, 4]}, "has 3 entries but the model has 4 layers"),
        ({"block_count": 1000}, "more than llama.cpp's 512"),
        ({"block_count": 2, "context_length": "long"}, "should be a whole number"),
        ({"block_count": 2, "nextn_predict_layers": 3}, "exceeds the block count"),
    ],
)
def test_inconsistent_hyper_parameters_are_clear_errors(anatomy, kvs, message):
    with pytest.raises(GGUFError, match=message):
        anatomy("llama", **kvs)


def test_zero_full_attention_interval_is_an_error(anatomy):
    with pytest.raises(GGUFError, match="full_attention_interval must not be 0"):
        anatomy("qwen3next", block_count=4, full_attention_interval=0)


def test_rules_table_covers_llama_cpp_architectures():
    known = known_architectures()
    assert len(known) > 150 and {"llama", "qwen3moe", "gemma3", "gpt-oss", "deepseek2", "mamba"} <= known
    assert not is_known_architecture("gptj")  # named by llama.cpp but not loadable
    assert arch_rules("gemma3").swa_period == 6 and arch_rules("llama").swa == "none"
