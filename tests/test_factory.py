"""The GGUF factory writes models llama.cpp really loads, with exactly the tensors planned."""

from __future__ import annotations

import ctypes
import math
import re

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
llama_cpp = pytest.importorskip("llama_cpp")

from tests.gguf_factory import (  # noqa: E402
    ARCHITECTURES,
    PRESETS,
    SMALL_SPECS,
    ModelSpec,
    make_header_only,
    make_model,
    q4_k_m_rules,
    tensor_plan,
)
from tests.llama_truth import LlamaLoadError, measure_llama  # noqa: E402
from tui.core.fit.cpu_amx import cpu_extra_buffers_safe, host_has_amx  # noqa: E402
from tui.core.fit.settings import LlamaSettings  # noqa: E402


def _read_tensors(path) -> dict[str, tuple[tuple[int, ...], str]]:
    reader = gguf.GGUFReader(path)
    return {t.name: (tuple(int(d) for d in t.shape), t.tensor_type.name) for t in reader.tensors}


def _decode(path, tokens: list[int]) -> np.ndarray:
    """Run ``tokens`` through llama.cpp and return the last position's logits."""
    from tests.llama_truth import _LogCapture

    with _LogCapture():
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        mparams.use_extra_bufts = cpu_extra_buffers_safe(host_has_amx())  # as the engine loads it
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        assert model, "llama.cpp refused the model"
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = 256
        cparams.n_threads = cparams.n_threads_batch = 1
        ctx = llama_cpp.llama_init_from_model(model, cparams)
        try:
            array = (llama_cpp.llama_token * len(tokens))(*tokens)
            assert llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(array, len(tokens))) == 0
            n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
            logits = llama_cpp.llama_get_logits_ith(ctx, -1)
            return np.ctypeslib.as_array(ctypes.cast(logits, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,)).copy()
        finally:
            llama_cpp.llama_free(ctx)
            llama_cpp.llama_model_free(model)


@pytest.mark.parametrize("arch", sorted(SMALL_SPECS))
def test_small_model_loads_with_the_planned_tensors(tmp_path, arch):
    spec = SMALL_SPECS[arch]
    built = make_model(tmp_path / f"{arch}.gguf", spec)

    on_disk = _read_tensors(built.path)
    planned = {t.name: (t.shape, t.type_name) for t in built.tensors}
    assert on_disk == planned
    assert built.path.stat().st_size < 4 * 1024 * 1024

    memory = measure_llama(built.path, LlamaSettings(n_ctx=512))  # its load time: scripts/bench_reader.py
    # llama_model_size sums ggml_nbytes over the file's tensors: the factory's own byte count
    assert memory.model_size_bytes == built.tensor_bytes
    assert memory.mode == "load"
    assert memory.weights_bytes >= built.tensor_bytes


@pytest.mark.parametrize("arch", ["llama", "gemma3", "qwen3moe", "gpt-oss", "deepseek2", "mamba", "deci"])
def test_small_model_runs_and_gives_finite_logits(tmp_path, arch):
    built = make_model(tmp_path / f"{arch}.gguf", SMALL_SPECS[arch])
    logits = _decode(built.path, [1, 300, 301, 302])
    assert logits.shape == (SMALL_SPECS[arch].n_vocab,)
    assert np.isfinite(logits).all()
    assert float(np.abs(logits).max()) > 0  # random weights: not a degenerate all-zero model


def test_every_architecture_has_a_small_spec():
    assert set(SMALL_SPECS) == set(ARCHITECTURES)


@pytest.mark.parametrize("type_name", ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "MXFP4"])
def test_weight_types_are_written_as_asked(tmp_path, type_name):
    spec = SMALL_SPECS["llama"].with_changes(n_embd=256, n_ff=512, weight_type=type_name)
    built = make_model(tmp_path / "m.gguf", spec)
    types = {name: t for name, (_, t) in _read_tensors(built.path).items()}
    assert types["blk.0.attn_q.weight"] == type_name
    assert types["blk.0.attn_norm.weight"] == "F32"
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[type_name]]
    q = next(t for t in built.tensors if t.name == "blk.0.attn_q.weight")
    assert q.n_bytes == math.prod(q.shape) // block * size
    memory = measure_llama(built.path, LlamaSettings(n_ctx=256))
    assert memory.model_size_bytes == built.tensor_bytes


def test_rows_that_are_not_whole_blocks_fall_back(tmp_path):
    # n_embd 96 is not a multiple of 256: a K-quant matrix falls back to Q8_0; 80 is not even
    # a multiple of 32: F16
    plans = {t.name: t.type_name for t in tensor_plan(SMALL_SPECS["llama"].with_changes(n_embd=96, weight_type="Q4_K"))}
    assert plans["blk.0.attn_q.weight"] == "Q8_0"
    plans = {t.name: t.type_name for t in tensor_plan(SMALL_SPECS["llama"].with_changes(n_embd=80, n_head=4,
                                                                                          n_head_kv=2, weight_type="Q4_0"))}
    assert plans["blk.0.attn_q.weight"] == "F16"
    built = make_model(tmp_path / "odd.gguf", SMALL_SPECS["llama"].with_changes(n_embd=96, weight_type="Q4_K"))
    assert measure_llama(built.path, LlamaSettings(n_ctx=256)).model_size_bytes == built.tensor_bytes


def test_tied_embeddings_write_no_output_tensor(tmp_path):
    tied = make_model(tmp_path / "tied.gguf", SMALL_SPECS["llama"].with_changes(tied_embeddings=True))
    untied = make_model(tmp_path / "untied.gguf", SMALL_SPECS["llama"])
    assert "output.weight" not in _read_tensors(tied.path)
    assert "output.weight" in _read_tensors(untied.path)
    spec = SMALL_SPECS["llama"]
    output_bytes = spec.n_embd * spec.n_vocab * 2  # F16
    assert untied.tensor_bytes - tied.tensor_bytes == output_bytes
    # llama.cpp reuses token_embd for the output layer: the tied model needs that much less
    t, u = (measure_llama(m.path, LlamaSettings(n_ctx=256)) for m in (tied, untied))
    assert u.weights_bytes - t.weights_bytes == pytest.approx(output_bytes, abs=64)


def test_per_layer_heads_and_ffn_need_deci(tmp_path):
    with pytest.raises(ValueError, match="deci"):
        tensor_plan(SMALL_SPECS["llama"].with_changes(n_head_kv=(2, 4, 2)))
    spec = SMALL_SPECS["deci"]
    tensors = _read_tensors(make_model(tmp_path / "deci.gguf", spec).path)
    hd = spec.head_dim_
    assert tensors["blk.1.attn_k.weight"][0] == (spec.n_embd, hd * 4)
    assert "blk.2.attn_k.weight" not in tensors  # n_head_kv 0: no KV for that layer
    assert tensors["blk.3.ffn_up.weight"][0] == (spec.n_embd, 64)
    no_ffn = make_model(tmp_path / "no_ffn.gguf", spec.with_changes(n_ff=(256, 128, 256, 0)))
    assert "blk.3.ffn_up.weight" not in _read_tensors(no_ffn.path)  # n_ff 0: no FFN
    assert measure_llama(no_ffn.path, LlamaSettings(n_ctx=256)).model_size_bytes == no_ffn.tensor_bytes


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unsupported architecture"):
        tensor_plan(ModelSpec(arch="nonesuch"))


def test_synthetic_vocabulary_size_is_what_llama_cpp_sees(tmp_path):
    built = make_model(tmp_path / "v.gguf", SMALL_SPECS["qwen3moe"].with_changes(n_vocab=1000))
    memory = measure_llama(built.path, LlamaSettings(n_ctx=256))
    assert re.search(r"print_info: n_vocab\s+= 1000\n", memory.log)
    reader = gguf.GGUFReader(built.path)
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == 1000
    with pytest.raises(ValueError, match="260 tokens"):
        make_model(tmp_path / "tiny.gguf", SMALL_SPECS["llama"].with_changes(n_vocab=100))


def test_split_model_loads_from_its_first_shard(tmp_path):
    spec = SMALL_SPECS["llama"]
    split = make_model(tmp_path / "split.gguf", spec, split_max_tensors=10)
    whole = make_model(tmp_path / "whole.gguf", spec)
    assert len(split.shards) > 1
    assert split.path.name == f"split-00001-of-{len(split.shards):05d}.gguf"
    assert all(p.exists() for p in split.shards)
    a = measure_llama(split.path, LlamaSettings(n_ctx=512))
    b = measure_llama(whole.path, LlamaSettings(n_ctx=512))
    assert a.model_size_bytes == b.model_size_bytes == whole.tensor_bytes
    assert a.kv_bytes == b.kv_bytes
    assert a.compute_bytes == b.compute_bytes


def test_q4_k_m_rules_match_llama_quantize_layer_choice():
    # src/llama-quant.cpp use_more_bits for 32 layers: 0-3, 28-31 and every third from 6
    rules = q4_k_m_rules(32)
    pattern = rules[0][0]
    more = [i for i in range(32) if re.search(pattern, f"blk.{i}.attn_v.weight")]
    assert more == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
    assert re.search(pattern, "blk.6.ffn_down.weight") and not re.search(pattern, "blk.6.ffn_up.weight")


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_header_only_preset_is_full_size_sparse_and_loads_without_weights(tmp_path, preset):
    built = make_header_only(tmp_path / f"{preset}.gguf", preset)
    st = built.path.stat()
    assert st.st_size > built.tensor_bytes > 1_000_000_000  # real-size
    assert st.st_blocks * 512 < 16 * 1024 * 1024  # ... yet only the header is on disk
    memory = measure_llama(built.path, LlamaSettings(n_ctx=4096))
    assert memory.mode == "no_alloc"
    assert memory.model_size_bytes == built.tensor_bytes
    # every tensor llama.cpp uses is counted once (tied embeddings are shared, not copied)
    assert memory.weights_bytes == pytest.approx(built.tensor_bytes, rel=0.002)
    assert memory.kv_bytes > 0 and memory.compute_bytes > 0


def test_header_only_split_model_loads(tmp_path):
    built = make_header_only(tmp_path / "big.gguf", "llama-3.1-8b-q4_k_m", split_max_tensors=120)
    assert len(built.shards) == 3
    memory = measure_llama(built.path, LlamaSettings(n_ctx=2048))
    assert memory.model_size_bytes == built.tensor_bytes


def test_llama_refuses_a_file_with_a_missing_tensor(tmp_path):
    # the factory's tensor lists are what llama.cpp requires: drop one and it no longer loads
    from tests import gguf_factory

    spec = SMALL_SPECS["gemma3"]
    plans = [t for t in tensor_plan(spec) if t.name != "blk.1.post_ffw_norm.weight"]
    writer = gguf_factory._new_writer(tmp_path / "broken.gguf", spec, 0)
    rng = np.random.default_rng(0)
    for plan in plans:
        writer.add_tensor(plan.name, gguf_factory._tensor_data(plan, rng), raw_dtype=plan.qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(LlamaLoadError, match="post_ffw_norm"):
        measure_llama(tmp_path / "broken.gguf", LlamaSettings(n_ctx=256))
