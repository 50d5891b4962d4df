"""Reading real Hugging Face GGUF file names: model, size, label, shard, kind."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.gguf.filenames import KINDS, parse_gguf_filename
from tui.core.gguf.labels import all_labels

# (path, kind, base_name, label, base_label, shard_index, shard_count, size_label)
CORPUS = [
    # ggml-org / Qwen / unsloth / lmstudio-community: Name-LABEL.gguf
    ("Qwen3-8B-Q4_K_M.gguf", "model", "Qwen3-8B", "Q4_K_M", "Q4_K_M", None, None, "8B"),
    ("Qwen3-0.6B-BF16.gguf", "model", "Qwen3-0.6B", "BF16", "BF16", None, None, "0.6B"),
    ("Qwen3-30B-A3B-Q4_0.gguf", "model", "Qwen3-30B-A3B", "Q4_0", "Q4_0", None, None, "30B-A3B"),
    ("Qwen3-30B-A3B-IQ4_NL.gguf", "model", "Qwen3-30B-A3B", "IQ4_NL", "IQ4_NL", None, None, "30B-A3B"),
    ("gemma-3-4b-it-Q8_0.gguf", "model", "gemma-3-4b-it", "Q8_0", "Q8_0", None, None, "4B"),
    ("gemma-3n-E4B-it-Q4_K_M.gguf", "model", "gemma-3n-E4B-it", "Q4_K_M", "Q4_K_M", None, None, "E4B"),
    ("SmolLM2-135M-Instruct-Q8_0.gguf", "model", "SmolLM2-135M-Instruct", "Q8_0", "Q8_0", None, None, "135M"),
    ("DeepSeek-R1-Distill-Qwen-1.5B-Q8_0.gguf", "model", "DeepSeek-R1-Distill-Qwen-1.5B", "Q8_0", "Q8_0",
     None, None, "1.5B"),
    ("Llama-3.2-1B-Instruct-F16.gguf", "model", "Llama-3.2-1B-Instruct", "F16", "F16", None, None, "1B"),
    ("Qwen3-8B-IQ2_M.gguf", "model", "Qwen3-8B", "IQ2_M", "IQ2_M", None, None, "8B"),
    # bartowski: org_ prefix, _L / _XL variants, retired ARM layouts
    ("Meta-Llama-3.1-8B-Instruct-Q4_K_L.gguf", "model", "Meta-Llama-3.1-8B-Instruct", "Q4_K_L", "Q4_K_M",
     None, None, "8B"),
    ("Qwen_Qwen3-8B-Q6_K_L.gguf", "model", "Qwen_Qwen3-8B", "Q6_K_L", "Q6_K", None, None, "8B"),
    ("google_gemma-3-27b-it-Q3_K_XL.gguf", "model", "google_gemma-3-27b-it", "Q3_K_XL", "Q3_K_L",
     None, None, "27B"),
    ("Meta-Llama-3.1-8B-Instruct-Q4_0_4_4.gguf", "model", "Meta-Llama-3.1-8B-Instruct", "Q4_0_4_4", "Q4_0_4_4",
     None, None, "8B"),
    ("Meta-Llama-3.1-8B-Instruct-IQ3_XS.gguf", "model", "Meta-Llama-3.1-8B-Instruct", "IQ3_XS", "IQ3_XS",
     None, None, "8B"),
    ("Qwen_Qwen3-235B-A22B-Q4_K_M/Qwen_Qwen3-235B-A22B-Q4_K_M-00002-of-00004.gguf", "model",
     "Qwen_Qwen3-235B-A22B", "Q4_K_M", "Q4_K_M", 2, 4, "235B-A22B"),
    # unsloth: UD- dynamic quants, folder per quant
    ("gemma-3-27b-it-UD-Q4_K_XL.gguf", "model", "gemma-3-27b-it", "UD-Q4_K_XL", "Q4_K_M", None, None, "27B"),
    ("UD-Q4_K_XL/Qwen3-235B-A22B-UD-Q4_K_XL-00001-of-00003.gguf", "model", "Qwen3-235B-A22B", "UD-Q4_K_XL",
     "Q4_K_M", 1, 3, "235B-A22B"),
    ("BF16/Qwen3-30B-A3B-BF16-00001-of-00002.gguf", "model", "Qwen3-30B-A3B", "BF16", "BF16", 1, 2, "30B-A3B"),
    ("Qwen3-Coder-480B-A35B-Instruct-UD-Q2_K_XL-00001-of-00004.gguf", "model", "Qwen3-Coder-480B-A35B-Instruct",
     "UD-Q2_K_XL", "Q2_K", 1, 4, "480B-A35B"),
    ("DeepSeek-R1-0528-GGUF/UD-IQ1_S/DeepSeek-R1-0528-UD-IQ1_S-00003-of-00004.gguf", "model",
     "DeepSeek-R1-0528", "UD-IQ1_S", "IQ1_S", 3, 4, None),
    ("DeepSeek-R1-0528-UD-TQ1_0.gguf", "model", "DeepSeek-R1-0528", "UD-TQ1_0", "TQ1_0", None, None, None),
    ("Llama-4-Scout-17B-16E-Instruct-UD-Q4_K_XL.gguf", "model", "Llama-4-Scout-17B-16E-Instruct", "UD-Q4_K_XL",
     "Q4_K_M", None, None, "17B-16E"),
    ("gpt-oss-20b-F16.gguf", "model", "gpt-oss-20b", "F16", "F16", None, None, "20B"),
    ("Qwen3-30B-A3B-UD-Q8_K_XL.gguf", "model", "Qwen3-30B-A3B", "UD-Q8_K_XL", "Q8_0", None, None, "30B-A3B"),
    # mradermacher: dots, i1- imatrix quants, .partNofM
    ("Qwen3-8B.i1-Q4_K_M.gguf", "model", "Qwen3-8B", "i1-Q4_K_M", "Q4_K_M", None, None, "8B"),
    ("Qwen3-8B.i1-IQ1_S.gguf", "model", "Qwen3-8B", "i1-IQ1_S", "IQ1_S", None, None, "8B"),
    ("Model.Q4_K_S.gguf", "model", "Model", "Q4_K_S", "Q4_K_S", None, None, None),
    ("Qwen3-8B.f16.gguf", "model", "Qwen3-8B", "F16", "F16", None, None, "8B"),
    ("Qwen3-235B-A22B.i1-Q4_K_M.gguf.part1of3", "model", "Qwen3-235B-A22B", "i1-Q4_K_M", "Q4_K_M", 1, 3,
     "235B-A22B"),
    ("Llama-3.3-70B-Instruct.Q8_0.gguf.part2of2", "model", "Llama-3.3-70B-Instruct", "Q8_0", "Q8_0", 2, 2, "70B"),
    # Qwen's own lower-case names
    ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "model", "qwen2.5-7b-instruct", "Q4_K_M", "Q4_K_M",
     1, 2, "7B"),
    ("qwen2.5-0.5b-instruct-fp16.gguf", "model", "qwen2.5-0.5b-instruct", "FP16", "F16", None, None, "0.5B"),
    ("qwen2.5-coder-32b-instruct-q4_0.gguf", "model", "qwen2.5-coder-32b-instruct", "Q4_0", "Q4_0",
     None, None, "32B"),
    # TheBloke and friends
    ("llama-2-7b.Q4_K_M.gguf", "model", "llama-2-7b", "Q4_K_M", "Q4_K_M", None, None, "7B"),
    ("mixtral-8x7b-instruct-v0.1.Q5_K_M.gguf", "model", "mixtral-8x7b-instruct-v0.1", "Q5_K_M", "Q5_K_M",
     None, None, "8x7B"),
    ("tinyllama-1.1b-chat-v1.0.Q2_K.gguf", "model", "tinyllama-1.1b-chat-v1.0", "Q2_K", "Q2_K", None, None, "1.1B"),
    ("falcon-180b-chat.Q4_K_M.gguf-split-b", "model", "falcon-180b-chat", "Q4_K_M", "Q4_K_M", 2, None, "180B"),
    ("Meta-Llama-3-8B-Instruct-Q4_K_M-imat.gguf", "model", "Meta-Llama-3-8B-Instruct", "Q4_K_M-imat", "Q4_K_M",
     None, None, "8B"),
    ("nomic-embed-text-v1.5.f16.gguf", "model", "nomic-embed-text-v1.5", "F16", "F16", None, None, None),
    # OpenAI gpt-oss (MXFP4), ternary, llama.cpp's own defaults
    ("gpt-oss-120b-MXFP4-00001-of-00002.gguf", "model", "gpt-oss-120b", "MXFP4", "MXFP4_MOE", 1, 2, "120B"),
    ("gpt-oss-20b-mxfp4.gguf", "model", "gpt-oss-20b", "MXFP4", "MXFP4_MOE", None, None, "20B"),
    ("bitnet-b1.58-2B-4T-TQ2_0.gguf", "model", "bitnet-b1.58-2B-4T", "TQ2_0", "TQ2_0", None, None, "2B"),
    ("ggml-model-f16.gguf", "model", "ggml-model", "F16", "F16", None, None, None),
    ("ggml-model-Q8_0.gguf", "model", "ggml-model", "Q8_0", "Q8_0", None, None, None),
    ("Q4_K_M/model-00001-of-00002.gguf", "model", "model", "Q4_K_M", "Q4_K_M", 1, 2, None),
    # no label at all
    ("stories260K.gguf", "model", "stories260K", None, None, None, None, None),
    ("Phi-3-mini-4k-instruct-q4.gguf", "model", "Phi-3-mini-4k-instruct-q4", None, None, None, None, None),
    ("some-model-00002-of-00005.gguf", "model", "some-model", None, None, 2, 5, None),
    # vision projectors
    ("mmproj-model-f16.gguf", "mmproj", "model", "F16", "F16", None, None, None),
    ("mmproj-BF16.gguf", "mmproj", None, "BF16", "BF16", None, None, None),
    ("mmproj-F32.gguf", "mmproj", None, "F32", "F32", None, None, None),
    ("mmproj-gemma-3-27b-it-f16.gguf", "mmproj", "gemma-3-27b-it", "F16", "F16", None, None, "27B"),
    ("mmproj-google_gemma-3-4b-it-Q8_0.gguf", "mmproj", "google_gemma-3-4b-it", "Q8_0", "Q8_0", None, None, "4B"),
    ("Qwen2.5-VL-7B-Instruct.mmproj-f16.gguf", "mmproj", "Qwen2.5-VL-7B-Instruct", "F16", "F16", None, None, "7B"),
    # multi-token prediction heads
    ("mtp-GLM-4.5-Air-Q8_0.gguf", "mtp", "GLM-4.5-Air", "Q8_0", "Q8_0", None, None, None),
    ("mtp-Qwen3-Next-80B-A3B-BF16.gguf", "mtp", "Qwen3-Next-80B-A3B", "BF16", "BF16", None, None, "80B-A3B"),
    # importance matrices
    ("imatrix.dat", "imatrix", None, None, None, None, None, None),
    ("imatrix.gguf", "imatrix", None, None, None, None, None, None),
    ("Qwen3-8B.imatrix", "imatrix", "Qwen3-8B", None, None, None, None, "8B"),
    ("Qwen3-8B-imatrix.gguf", "imatrix", "Qwen3-8B", None, None, None, None, "8B"),
    ("Meta-Llama-3.1-8B-Instruct.imatrix.gguf", "imatrix", "Meta-Llama-3.1-8B-Instruct", None, None, None, None,
     "8B"),
    ("imatrix_unsloth.dat", "imatrix", "unsloth", None, None, None, None, None),
    # not model files
    ("README.md", "other", "README", None, None, None, None, None),
    ("config.json", "other", "config", None, None, None, None, None),
    (".gitattributes", "other", "gitattributes", None, None, None, None, None),
    ("Qwen3-8B-Q4_K_M.gguf.part0of2", "other", "Qwen3-8B-Q4_K_M.gguf", None, None, None, None, None),
]


@pytest.mark.parametrize("row", CORPUS, ids=[row[0] for row in CORPUS])
def test_real_hub_names(row):
    path, kind, base_name, label, base_label, shard_index, shard_count, size_label = row
    parsed = parse_gguf_filename(path)
    assert (parsed.kind, parsed.base_name, parsed.label, parsed.base_label, parsed.shard_index,
            parsed.shard_count, parsed.size_label) == (kind, base_name, label, base_label, shard_index,
                                                        shard_count, size_label)
    assert parsed.path == path
    assert parsed.filename == path.rpartition("/")[2]
    assert parsed.kind in KINDS
    if label:
        assert parsed.quant() is not None and parsed.quant().base == base_label


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 40
    assert {row[1] for row in CORPUS} == set(KINDS)


def test_folder_and_group_key():
    first = parse_gguf_filename("UD-Q4_K_XL/Qwen3-235B-A22B-UD-Q4_K_XL-00001-of-00003.gguf")
    assert first.folder == "UD-Q4_K_XL"
    assert first.group_key == "UD-Q4_K_XL/Qwen3-235B-A22B-UD-Q4_K_XL.gguf"
    assert first.is_sharded and first.is_first_shard
    third = parse_gguf_filename("UD-Q4_K_XL/Qwen3-235B-A22B-UD-Q4_K_XL-00003-of-00003.gguf")
    assert third.group_key == first.group_key and not third.is_first_shard
    other_label = parse_gguf_filename("UD-Q2_K_XL/Qwen3-235B-A22B-UD-Q2_K_XL-00001-of-00003.gguf")
    assert other_label.group_key != first.group_key
    single = parse_gguf_filename("Qwen3-8B-Q4_K_M.gguf")
    assert single.folder == "" and single.group_key == "Qwen3-8B-Q4_K_M.gguf" and single.is_first_shard
    parts = [parse_gguf_filename(f"Big.Q8_0.gguf.part{i}of2") for i in (1, 2)]
    assert parts[0].group_key == parts[1].group_key == "Big.Q8_0.gguf"
    letters = [parse_gguf_filename(f"falcon-180b.Q4_K_M.gguf-split-{c}") for c in "ab"]
    assert letters[0].group_key == letters[1].group_key == "falcon-180b.Q4_K_M.gguf"
    windows = parse_gguf_filename("BF16\\Qwen3-30B-A3B-BF16-00002-of-00002.gguf")
    assert windows.folder == "BF16" and windows.shard_index == 2


def test_label_from_the_folder_only_when_the_name_has_none():
    assert parse_gguf_filename("Q4_K_M/model-00001-of-00002.gguf").label == "Q4_K_M"
    assert parse_gguf_filename("Q8_0/Model-Q4_K_M.gguf").label == "Q4_K_M"
    assert parse_gguf_filename("snapshots/abc123/Model.gguf").label is None


def test_imatrix_quants_are_models_and_imatrix_files_are_not():
    assert parse_gguf_filename("Model-Q4_K_M-imatrix.gguf").kind == "model"
    assert parse_gguf_filename("Model-Q4_K_M-imatrix.gguf").label == "Q4_K_M-imat"
    assert parse_gguf_filename("Model-BF16-imatrix.gguf").kind == "imatrix"  # computed on the BF16 model


def test_invalid_shard_numbers_are_not_shards():
    assert parse_gguf_filename("Model-Q8_0-00000-of-00002.gguf").shard_index is None
    assert parse_gguf_filename("Model-Q8_0-00003-of-00002.gguf").shard_index is None


# --- properties ------------------------------------------------------------------------------

_WORDS = st.sampled_from(["Qwen3", "Llama", "gemma", "Mistral", "Instruct", "it", "Coder", "chat", "v0.1",
                          "2507", "Distill", "Small", "Next", "GLM", "phi"])
_SIZES = st.sampled_from(["8B", "0.6B", "30B-A3B", "E2B", "70B", "8x7B", "135M", "480B-A35B"])
_LABELS = st.sampled_from([q.label for q in all_labels()] + ["i1-Q4_K_M", "UD-IQ1_S", "MXFP4", "FP16"])


@settings(max_examples=150, deadline=None)
@given(words=st.lists(_WORDS, min_size=1, max_size=3), size=_SIZES, label=_LABELS,
       separator=st.sampled_from(["-", "."]), shards=st.integers(min_value=1, max_value=12),
       folder=st.booleans(), data=st.data())
def test_composed_names_round_trip(words, size, label, separator, shards, folder, data):
    base = "-".join([words[0], size, *words[1:]])
    stem = f"{base}{separator}{label}"
    if shards > 1:
        index = data.draw(st.integers(min_value=1, max_value=shards))
        name = f"{stem}-{index:05d}-of-{shards:05d}.gguf"
    else:
        index = None
        name = f"{stem}.gguf"
    path = f"{label}/{name}" if folder else name
    parsed = parse_gguf_filename(path)
    assert parsed.kind == "model"
    assert parsed.base_name == base
    assert parsed.size_label == size
    assert parsed.label == label
    assert parsed.quant() is not None
    assert parsed.shard_index == index
    assert parsed.shard_count == (shards if shards > 1 else None)
    if shards > 1:
        sibling = parse_gguf_filename(path.replace(f"-{index:05d}-of-", f"-{shards:05d}-of-"))
        assert sibling.group_key == parsed.group_key


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_text_parses_without_error(text):
    parsed = parse_gguf_filename(text)
    assert parsed.kind in KINDS
    assert parsed.shard_index is None or parsed.shard_index >= 1
