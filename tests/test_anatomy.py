"""Model anatomy from real files: stories260K (checked against llama.cpp itself), vocab headers, JSON."""

from __future__ import annotations

import json

import pytest

from tui.core.gguf.anatomy import anatomy_from_headers, anatomy_to_dict, load_anatomy
from tui.core.gguf.reader import FileSource, GGUFError, read_header


def test_stories260k_matches_its_readme(stories_model):
    a = load_anatomy(stories_model)
    assert (a.architecture, a.name, a.n_layer, a.n_embd) == ("llama", "llama", 5, 64)
    assert a.n_head == (8,) * 5 and a.n_head_kv == (4,) * 5
    assert (a.n_vocab, a.n_ctx_train, a.n_ff) == (512, 2048, (172,) * 5)
    assert (a.n_embd_head_k, a.n_embd_head_v) == (8, 8)
    assert set(a.bytes_by_type) == {"F32"}
    assert a.file_size == 1_185_376 and a.n_shards == 1
    assert a.bits_per_weight == 32.0
    assert not a.tied_embeddings and not a.is_moe and a.known_architecture
    assert a.sliding_window == 0 and not any(a.swa_layers) and not any(a.recurrent_layers)
    assert len(a.tensors) == 48 and a.metadata["llama.rope.dimension_count"] == 8


def test_stories260k_agrees_with_llama_cpp(stories_model):
    """The bundled llama.cpp loads the model and reports the same shape, parameters and bytes."""
    llama_cpp = pytest.importorskip("llama_cpp")
    a = load_anatomy(stories_model)
    model = llama_cpp.llama_model_load_from_file(str(stories_model).encode(), llama_cpp.llama_model_default_params())
    assert model
    try:
        vocab = llama_cpp.llama_model_get_vocab(model)
        assert llama_cpp.llama_model_n_layer(model) == a.n_layer
        assert llama_cpp.llama_model_n_embd(model) == a.n_embd
        assert llama_cpp.llama_model_n_head(model) == a.n_head[0]
        assert llama_cpp.llama_model_n_head_kv(model) == a.n_head_kv[0]
        assert llama_cpp.llama_model_n_ctx_train(model) == a.n_ctx_train
        assert llama_cpp.llama_model_n_swa(model) == a.sliding_window
        assert llama_cpp.llama_vocab_n_tokens(vocab) == a.n_vocab
        assert llama_cpp.llama_model_n_params(model) == a.n_params
        assert llama_cpp.llama_model_size(model) == a.tensor_bytes
    finally:
        llama_cpp.llama_model_free(model)


@pytest.mark.parametrize(
    ("fixture", "arch", "vocab", "kv_heads", "ctx"),
    [("vocab_qwen2", "qwen2", 151_936, 32, 32_768), ("vocab_llama_bpe", "llama", 128_256, 8, 8192)],
)
def test_vocabulary_only_headers(fixture, arch, vocab, kv_heads, ctx, request):
    a = load_anatomy(request.getfixturevalue(fixture))
    assert (a.architecture, a.n_vocab, a.n_ctx_train, a.n_layer) == (arch, vocab, ctx, 32)
    assert a.n_head_kv == (kv_heads,) * 32 and a.n_embd_head_k == 128
    assert (a.n_params, a.tensors, a.bytes_by_type, a.bits_per_weight) == (0, (), {}, 0.0)
    assert "tokenizer.ggml.tokens" not in a.metadata  # 100k+ strings are not carried around
    assert a.metadata["tokenizer.ggml.model"] == "gpt2"


def test_chat_template_is_kept(vocab_qwen2):
    a = load_anatomy(vocab_qwen2)
    assert a.metadata["tokenizer.chat_template"].startswith("{% for message in messages %}")


def test_anatomy_to_dict_is_json_without_tensors(stories_model):
    a = load_anatomy(stories_model)
    d = json.loads(json.dumps(anatomy_to_dict(a)))
    assert "tensors" not in d
    assert d["tensor_count"] == 48 and d["tensor_bytes"] == a.tensor_bytes == 1_171_200
    assert d["n_head_kv"] == [4] * 5 and d["swa_layers"] == [False] * 5
    assert d["bytes_by_type"] == {"F32": 1_171_200}
    assert d["metadata"]["tokenizer.ggml.tokens"] == {"array": "string", "length": 512}
    assert d["metadata"]["llama.block_count"] == 5
    with_tensors = anatomy_to_dict(a, include_tensors=True)
    assert with_tensors["tensors"][0] == {
        "name": "token_embd.weight",
        "shape": [64, 512],
        "type": "F32",
        "bytes": 131_072,
        "shard": 0,
    }


def test_anatomy_of_summarized_headers_equals_full_read(vocab_llama_bpe):
    full = anatomy_from_headers([read_header(FileSource(vocab_llama_bpe), max_array_items=None)])
    summarized = anatomy_from_headers([read_header(FileSource(vocab_llama_bpe))])
    assert full == summarized


def test_no_headers_is_an_error():
    with pytest.raises(GGUFError):
        anatomy_from_headers([])
