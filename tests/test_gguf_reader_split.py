"""Split models: llama.cpp's PREFIX-0000i-of-0000N.gguf shards read back as one model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.make_gguf_corpus import STRING, UINT16, Tensor, build_gguf, gguf_kv
from tui.core.gguf.anatomy import anatomy_from_headers, load_anatomy
from tui.core.gguf.reader import BytesSource, FileSource, GGUFError, read_header
from tui.core.gguf.split import parse_split_name, read_model_headers, shard_paths, split_file_name


def write_llama(path: Path, *, split_max_tensors: int = 0) -> list[Path]:
    """A 2-layer llama with 9 tensors written by gguf.GGUFWriter; returns the files written."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(path, "llama", split_max_tensors=split_max_tensors)
    writer.add_name("split test")
    writer.add_block_count(2)
    writer.add_context_length(512)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_tensor("token_embd.weight", np.zeros((100, 64), dtype=np.float16))
    writer.add_tensor("output_norm.weight", np.zeros(64, dtype=np.float32))
    for i in range(2):
        writer.add_tensor(f"blk.{i}.attn_q.weight", np.zeros((64, 64), dtype=np.float16))
        writer.add_tensor(f"blk.{i}.attn_k.weight", np.zeros((32, 64), dtype=np.float16))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", np.zeros((128, 64), dtype=np.float32))
    writer.add_tensor("output.weight", np.zeros((100, 64), dtype=np.float16))
    files = writer.format_shard_names(path) if split_max_tensors else [path]
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return files


def test_split_names_follow_llama_split_path(tmp_path):
    assert split_file_name("qwen-7b", 0, 3) == "qwen-7b-00001-of-00003.gguf"
    assert parse_split_name("qwen-7b-00002-of-00003.gguf") == ("qwen-7b", 1, 3)
    assert parse_split_name("qwen-7b.gguf") is None
    assert parse_split_name("x-00004-of-00003.gguf") is None  # not a shard name: a plain file
    assert parse_split_name("x-00000-of-00003.gguf") is None
    shard = tmp_path / "m-00003-of-00003.gguf"
    assert shard_paths(shard) == [tmp_path / f"m-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert shard_paths(tmp_path / "plain.gguf") == [tmp_path / "plain.gguf"]


@pytest.mark.parametrize("given", [0, 1, 2])
def test_three_shards_read_back_as_one_model(tmp_path, given):
    whole = load_anatomy(write_llama(tmp_path / "whole.gguf")[0])
    files = write_llama(tmp_path / "model.gguf", split_max_tensors=3)
    assert [f.name for f in files] == [f"model-0000{i}-of-00003.gguf" for i in (1, 2, 3)]

    headers = read_model_headers(files[given])
    assert [h.name for h in headers] == [str(f) for f in files]
    assert [len(h.tensors) for h in headers] == [3, 3, 3]
    assert [{t.shard for t in h.tensors} for h in headers] == [{0}, {1}, {2}]

    split = anatomy_from_headers(headers)
    assert split.n_shards == 3
    assert split.file_size == sum(f.stat().st_size for f in files)
    assert [t.name for t in split.tensors] == [t.name for t in whole.tensors]
    assert (split.n_params, split.bytes_by_type, split.tensor_bytes) == (
        whole.n_params,
        whole.bytes_by_type,
        whole.tensor_bytes,
    )
    assert (split.n_layer, split.n_head_kv, split.n_embd, split.name) == (2, (2, 2), 64, "split test")
    assert load_anatomy(files[given]) == split


def test_missing_shard_is_named(tmp_path):
    files = write_llama(tmp_path / "model.gguf", split_max_tensors=3)
    files[1].unlink()
    with pytest.raises(GGUFError, match=r"shard 2 of 3 is missing: .*model-00002-of-00003\.gguf"):
        read_model_headers(files[0])


def _shard(no: int, count: int, tensors: list[str], *, tensors_count: int | None = None, name_count: int | None = None):
    kvs = [
        gguf_kv("general.architecture", STRING, "llama"),
        gguf_kv("split.no", UINT16, no),
        gguf_kv("split.count", UINT16, count),
        gguf_kv("split.tensors.count", UINT16, len(tensors) * 2 if tensors_count is None else tensors_count),
    ]
    name = split_file_name("m", no, name_count or count)
    return BytesSource(build_gguf(kvs, [Tensor(t, (8,)) for t in tensors]), name)


def test_sources_in_any_order_are_sorted_by_split_no():
    headers = read_model_headers([_shard(1, 2, ["b"]), _shard(0, 2, ["a"])])
    assert [h.name for h in headers] == ["m-00001-of-00002.gguf", "m-00002-of-00002.gguf"]
    assert [(t.name, t.shard) for h in headers for t in h.tensors] == [("a", 0), ("b", 1)]


def test_inconsistent_split_count_is_refused():
    with pytest.raises(GGUFError, match=r"m-00002-of-00002\.gguf: split\.count is 3, but the model has 2 shards"):
        read_model_headers([_shard(0, 2, ["a"]), _shard(1, 3, ["b"], name_count=2)])


def test_repeated_shard_is_refused():
    with pytest.raises(GGUFError, match="split.no is 0, expected 1"):
        read_model_headers([_shard(0, 2, ["a"]), _shard(0, 2, ["b"])])


def test_wrong_tensor_total_is_refused():
    with pytest.raises(GGUFError, match="split.tensors.count is 5, but the shards hold 2"):
        read_model_headers([_shard(0, 2, ["a"], tensors_count=5), _shard(1, 2, ["b"], tensors_count=5)])


def test_tensor_in_two_shards_is_refused():
    with pytest.raises(GGUFError, match="tensor 'a' is in both"):
        read_model_headers([_shard(0, 2, ["a"]), _shard(1, 2, ["a"])])


def test_renamed_shard_without_siblings_is_explained(tmp_path):
    files = write_llama(tmp_path / "model.gguf", split_max_tensors=3)
    lonely = files[0].rename(tmp_path / "renamed.gguf")
    with pytest.raises(GGUFError, match="is shard 1 of 3 of a split model, but the other shards were not found"):
        read_model_headers(lonely)


def test_single_file_model_is_one_header(stories_model):
    headers = read_model_headers(stories_model)
    assert len(headers) == 1 and headers[0] == read_header(FileSource(stories_model))
