"""The anatomy agrees with what the bundled llama.cpp reports after loading the same model.

Small models of several architectures (tests/gguf_factory.py writes ones llama.cpp really
loads) are loaded with llama-cpp-python's low-level API; llama.cpp's own getters for layers,
heads, window, vocabulary, parameters and bytes must equal the anatomy read from the header.
"""

from __future__ import annotations

import pytest

from tui.core.gguf.anatomy import load_anatomy

llama_cpp = pytest.importorskip("llama_cpp")
factory = pytest.importorskip("tests.gguf_factory")

SPECS = {
    "llama": dict(),
    "deci": dict(arch="deci", n_layer=3, n_head_kv=(2, 0, 4), n_ff=(128, 0, 64)),
    "gemma3": dict(arch="gemma3", n_layer=7, sliding_window=32, swa_pattern=6),
    "qwen3moe": dict(arch="qwen3moe", n_expert=4, n_expert_used=2, n_ff_exp=32),
    "gpt-oss": dict(arch="gpt-oss", n_layer=4, sliding_window=16, swa_pattern=2, n_expert=4, n_expert_used=2,
                    n_ff_exp=32),  # fmt: skip
    "deepseek2": dict(arch="deepseek2", n_layer=3, n_head=4, n_head_kv=1, kv_lora_rank=32, q_lora_rank=48, rope_dim=16,
                      head_dim_k_mla=48, head_dim_v_mla=32, n_expert=4, n_expert_used=2, n_ff_exp=32,
                      n_expert_shared=1, n_layer_dense_lead=1),  # fmt: skip
    "mamba": dict(arch="mamba", n_head=0, n_head_kv=0, n_ff=0),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_anatomy_equals_llama_cpp_view(name, tmp_path):
    built = factory.make_model(tmp_path / f"{name}.gguf", factory.ModelSpec(**SPECS[name]))
    a = load_anatomy(built.path)
    model = llama_cpp.llama_model_load_from_file(str(built.path).encode(), llama_cpp.llama_model_default_params())
    assert model, f"llama.cpp could not load the {name} model"
    try:
        vocab = llama_cpp.llama_model_get_vocab(model)
        theirs = {
            "n_layer": llama_cpp.llama_model_n_layer(model),
            "n_embd": llama_cpp.llama_model_n_embd(model),
            "n_head": llama_cpp.llama_model_n_head(model),
            "n_head_kv": llama_cpp.llama_model_n_head_kv(model),
            "n_ctx_train": llama_cpp.llama_model_n_ctx_train(model),
            "n_swa": llama_cpp.llama_model_n_swa(model),
            "n_vocab": llama_cpp.llama_vocab_n_tokens(vocab),
            "n_params": llama_cpp.llama_model_n_params(model),
            "bytes": llama_cpp.llama_model_size(model),
            "recurrent": llama_cpp.llama_model_is_recurrent(model),
        }
    finally:
        llama_cpp.llama_model_free(model)
    ours = {
        "n_layer": a.n_layer_main,
        "n_embd": a.n_embd,
        "n_head": a.n_head[0],
        "n_head_kv": a.n_head_kv[0],
        "n_ctx_train": a.n_ctx_train,
        "n_swa": a.sliding_window,
        "n_vocab": a.n_vocab,
        "n_params": a.n_params,
        "bytes": a.tensor_bytes,
        "recurrent": a.n_layer > 0 and all(a.recurrent_layers),
    }
    assert ours == theirs
    assert a.swa_layers == factory.ModelSpec(**SPECS[name]).swa_layers
