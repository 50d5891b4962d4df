"""The catalog's bits per weight and display names, reproduced with the real llama.cpp.

``llama_model_quantize`` has a dry-run mode (``llama-quantize --dry-run``) that picks every
tensor's target type with llama.cpp's own rules (src/llama-quant.cpp) and adds up the sizes
without reading tensor data. A GGUF with a reference model's exact header and a sparse, all-zero
data section (no disk space used) is therefore enough to measure every file type on
Meta-Llama-3-8B and gpt-oss-120b in well under a second each.
"""

from __future__ import annotations

import ctypes
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.core.gguf.ggml_types import GGML_TYPES_BY_NAME
from tui.core.gguf.labels import load_label_catalog
from tui.core.sizes import MiB

llama_cpp = pytest.importorskip("llama_cpp")

ALIGNMENT = 32  # GGUF default data alignment (bytes)


@dataclass(frozen=True)
class ShapeSpec:
    """A published model's tensors: (name, ne in ggml order, "BF16" | "F32") and its hparams."""

    architecture: str
    tensors: tuple[tuple[str, tuple[int, ...], str], ...]
    metadata: tuple[tuple[str, object], ...]

    @property
    def n_params(self) -> int:
        total = 0
        for _, ne, _ in self.tensors:
            count = 1
            for n in ne:
                count *= n
            total += count
        return total


def llama3_8b() -> ShapeSpec:
    """Meta-Llama-3-8B: 32 layers, n_embd 4096, 32/8 heads, n_ff 14336, vocab 128256, untied output."""
    n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff = 128256, 4096, 32, 32, 8, 14336
    n_embd_kv = n_embd * n_head_kv // n_head
    tensors = [("token_embd.weight", (n_embd, n_vocab), "BF16")]
    for i in range(n_layer):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", (n_embd,), "F32"),
            (b + "attn_q.weight", (n_embd, n_embd), "BF16"),
            (b + "attn_k.weight", (n_embd, n_embd_kv), "BF16"),
            (b + "attn_v.weight", (n_embd, n_embd_kv), "BF16"),
            (b + "attn_output.weight", (n_embd, n_embd), "BF16"),
            (b + "ffn_norm.weight", (n_embd,), "F32"),
            (b + "ffn_gate.weight", (n_embd, n_ff), "BF16"),
            (b + "ffn_up.weight", (n_embd, n_ff), "BF16"),
            (b + "ffn_down.weight", (n_ff, n_embd), "BF16"),
        ]
    tensors += [("output_norm.weight", (n_embd,), "F32"), ("output.weight", (n_embd, n_vocab), "BF16")]
    metadata = (
        ("context_length", 8192), ("embedding_length", n_embd), ("block_count", n_layer),
        ("feed_forward_length", n_ff), ("head_count", n_head), ("head_count_kv", n_head_kv),
        ("layer_norm_rms_eps", 1e-5), ("rope_freq_base", 500000.0), ("vocab_size", n_vocab),
        ("rope_dimension_count", n_embd // n_head),
    )
    return ShapeSpec("llama", tuple(tensors), metadata)


def gpt_oss_120b() -> ShapeSpec:
    """openai/gpt-oss-120b: 36 layers, n_embd 2880, 64/8 heads of 64, 128 experts of 2880, vocab 201088."""
    n_vocab, n_embd, n_layer, n_head, n_head_kv, head, n_ff, n_exp = 201088, 2880, 36, 64, 8, 64, 2880, 128
    tensors = [("token_embd.weight", (n_embd, n_vocab), "BF16")]
    for i in range(n_layer):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", (n_embd,), "F32"),
            (b + "post_attention_norm.weight", (n_embd,), "F32"),
            (b + "attn_q.weight", (n_embd, n_head * head), "BF16"),
            (b + "attn_q.bias", (n_head * head,), "F32"),
            (b + "attn_k.weight", (n_embd, n_head_kv * head), "BF16"),
            (b + "attn_k.bias", (n_head_kv * head,), "F32"),
            (b + "attn_v.weight", (n_embd, n_head_kv * head), "BF16"),
            (b + "attn_v.bias", (n_head_kv * head,), "F32"),
            (b + "attn_output.weight", (n_head * head, n_embd), "BF16"),
            (b + "attn_output.bias", (n_embd,), "F32"),
            (b + "attn_sinks.weight", (n_head,), "F32"),
            (b + "ffn_gate_inp.weight", (n_embd, n_exp), "BF16"),
            (b + "ffn_gate_inp.bias", (n_exp,), "F32"),
            (b + "ffn_gate_exps.weight", (n_embd, n_ff, n_exp), "BF16"),
            (b + "ffn_gate_exps.bias", (n_ff, n_exp), "F32"),
            (b + "ffn_up_exps.weight", (n_embd, n_ff, n_exp), "BF16"),
            (b + "ffn_up_exps.bias", (n_ff, n_exp), "F32"),
            (b + "ffn_down_exps.weight", (n_ff, n_embd, n_exp), "BF16"),
            (b + "ffn_down_exps.bias", (n_embd, n_exp), "F32"),
        ]
    tensors += [("output_norm.weight", (n_embd,), "F32"), ("output.weight", (n_embd, n_vocab), "BF16")]
    metadata = (
        ("context_length", 131072), ("embedding_length", n_embd), ("block_count", n_layer),
        ("feed_forward_length", n_ff), ("expert_feed_forward_length", n_ff), ("head_count", n_head),
        ("head_count_kv", n_head_kv), ("key_length", head), ("value_length", head),
        ("layer_norm_rms_eps", 1e-5), ("rope_freq_base", 150000.0), ("vocab_size", n_vocab),
        ("sliding_window", 128), ("expert_count", n_exp), ("expert_used_count", 4),
    )
    return ShapeSpec("gpt-oss", tuple(tensors), metadata)


def write_shape_only_gguf(path: Path, spec: ShapeSpec) -> Path:
    """A GGUF whose header describes ``spec``; the data section is a sparse hole of zeros."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), spec.architecture)
    for key, value in spec.metadata:
        getattr(writer, f"add_{key}")(value)
    data_bytes = 0
    for name, ne, type_name in spec.tensors:
        n_elements = 1
        for n in ne:
            n_elements *= n
        n_bytes = n_elements * (2 if type_name == "BF16" else 4)
        dtype = np.float16 if type_name == "BF16" else np.float32
        writer.add_tensor_info(name, list(reversed(ne)), np.dtype(dtype), n_bytes,
                               raw_dtype=gguf.GGMLQuantizationType[type_name])
        data_bytes += -(-n_bytes // ALIGNMENT) * ALIGNMENT
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header = os.path.getsize(path)
    os.truncate(path, -(-header // ALIGNMENT) * ALIGNMENT + data_bytes)
    return path


class LlamaLog:
    """llama.cpp's log captured into a list; llama-cpp-python's own logger is restored after."""

    def __init__(self) -> None:
        self.lines: list[str] = []

        @llama_cpp.llama_log_callback
        def _callback(level, text, user_data):
            self.lines.append(text.decode("utf-8", errors="replace"))

        self._callback = _callback  # llama.cpp keeps only the pointer

    def __enter__(self) -> LlamaLog:
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))
        return self

    def __exit__(self, *exc) -> None:
        from llama_cpp._logger import llama_log_callback

        llama_cpp.llama_log_set(llama_log_callback, ctypes.c_void_p(0))

    def text(self) -> str:
        return "".join(self.lines)


def dry_run_bytes(model: Path, ftype: int, log: LlamaLog, *, embed_output_type: int | None = None) -> int:
    """Tensor bytes after ``llama-quantize --dry-run --imatrix ...`` to ``ftype``.

    A one-entry importance matrix is enough to switch on llama.cpp's ``has_imatrix`` rules, as
    Hub quants are made. ``embed_output_type``: a ggml type id for token_embd and output
    (``--token-embedding-type`` / ``--output-tensor-type``), as in bartowski's _L variants.
    llama.cpp reports MiB with two decimals; returned as bytes.
    """
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.dry_run = True
    params.nthread = 1
    values = (ctypes.c_float * 4096)(*([1.0] * 4096))
    entries = (llama_cpp.llama_model_imatrix_data * 2)()
    entries[0].name = b"blk.0.attn_q.weight"
    entries[0].data = values
    entries[0].size = 4096
    entries[1].name = None
    params.imatrix = entries
    if embed_output_type is not None:
        params.token_embedding_type = embed_output_type
        params.output_tensor_type = embed_output_type
    log.lines.clear()
    rc = llama_cpp.llama_model_quantize(str(model).encode(), str(model.with_suffix(".out.gguf")).encode(),
                                        ctypes.byref(params))
    match = re.search(r"quant size\s*=\s*([\d.]+) MiB", log.text())
    if rc != 0 or match is None:
        raise AssertionError(f"llama.cpp dry run for file type {ftype} failed: {log.text()[-400:]}")
    return round(float(match.group(1)) * MiB)


# Two-decimal MiB from llama.cpp, three-decimal bits in the data file.
TOLERANCE = 0.0006


@pytest.fixture(scope="module")
def llama3_model(tmp_path_factory) -> tuple[Path, ShapeSpec]:
    spec = llama3_8b()
    return write_shape_only_gguf(tmp_path_factory.mktemp("shapes") / "llama3-8b.gguf", spec), spec


def test_reference_parameter_counts_match_the_shapes():
    catalog = load_label_catalog()
    assert catalog.references["llama3-8b"].n_params == llama3_8b().n_params == 8_030_261_248
    assert catalog.references["gpt-oss-120b"].n_params == gpt_oss_120b().n_params


def test_shape_only_file_takes_no_disk_space(llama3_model):
    path, _ = llama3_model
    assert path.stat().st_size > 16 * 10**9
    if hasattr(os.stat_result, "st_blocks"):
        assert path.stat().st_blocks * 512 < 64 * MiB


def test_every_file_type_bits_per_weight_is_what_llama_cpp_produces(llama3_model):
    path, spec = llama3_model
    catalog = load_label_catalog()
    measured = [q for q in catalog.file_types.values() if q.reference == "llama3-8b" and not q.retired]
    assert len(measured) == 34
    with LlamaLog() as log:
        for quant in measured:
            bits = dry_run_bytes(path, quant.ftype, log) * 8 / spec.n_params
            assert quant.bits_per_weight == pytest.approx(bits, abs=TOLERANCE), quant.label


def test_bartowski_variants_are_the_base_with_q8_0_embeddings_and_output(llama3_model):
    path, spec = llama3_model
    catalog = load_label_catalog()
    q8_0 = GGML_TYPES_BY_NAME["Q8_0"].id
    variants = [v for v in catalog.variants.values() if not v.bits_per_weight_approximate]
    assert {v.label for v in variants} == {"Q2_K_L", "Q3_K_XL", "Q4_K_L", "Q5_K_L", "Q6_K_L"}
    with LlamaLog() as log:
        for variant in variants:
            bits = dry_run_bytes(path, variant.ftype, log, embed_output_type=q8_0) * 8 / spec.n_params
            assert variant.bits_per_weight == pytest.approx(bits, abs=TOLERANCE), variant.label


def test_mxfp4_moe_on_gpt_oss_120b(tmp_path):
    spec = gpt_oss_120b()
    path = write_shape_only_gguf(tmp_path / "gpt-oss-120b.gguf", spec)
    quant = load_label_catalog().file_types["MXFP4_MOE"]
    with LlamaLog() as log:
        n_bytes = dry_run_bytes(path, quant.ftype, log)
    assert quant.bits_per_weight == pytest.approx(n_bytes * 8 / spec.n_params, abs=TOLERANCE)
    assert 60e9 < n_bytes < 66e9  # gpt-oss-120b's MXFP4 GGUF is about 63 GB


def test_llama_quantize_cannot_make_nvfp4_and_the_estimate_is_recomputed(llama3_model):
    path, spec = llama3_model
    quant = load_label_catalog().file_types["NVFP4"]
    with LlamaLog() as log:
        with pytest.raises(AssertionError, match="failed"):
            dry_run_bytes(path, quant.ftype, log)
    # the data file's method: layer matrices NVFP4, embeddings and output BF16, norms F32
    bits = 0.0
    for name, ne, _ in spec.tensors:
        n = 1
        for dim in ne:
            n *= dim
        if len(ne) == 1:
            bits += n * GGML_TYPES_BY_NAME["F32"].bits_per_weight
        elif name.startswith(("token_embd", "output")):
            bits += n * GGML_TYPES_BY_NAME["BF16"].bits_per_weight
        else:
            bits += n * GGML_TYPES_BY_NAME["NVFP4"].bits_per_weight
    assert quant.bits_per_weight == pytest.approx(bits / spec.n_params, abs=TOLERANCE)


def test_llama_names_are_what_llama_cpp_logs_as_file_type(stories_model):
    """Load the stories model (vocab only) claiming each file type; llama.cpp logs its name."""
    catalog = load_label_catalog()
    checked = 0
    with LlamaLog() as log:
        llama_cpp.llama_backend_init()
        for quant in catalog.file_types.values():
            overrides = (llama_cpp.llama_model_kv_override * 2)()
            overrides[0].key = b"general.file_type"
            overrides[0].tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_INT
            overrides[0].value.val_i64 = quant.ftype
            overrides[1].key = b""
            params = llama_cpp.llama_model_default_params()
            params.vocab_only = True
            params.kv_overrides = overrides
            log.lines.clear()
            model = llama_cpp.llama_model_load_from_file(str(stories_model).encode(), params)
            assert model, log.text()[-300:]
            try:
                logged = re.findall(r"file type\s*=\s*(.+)", log.text())
            finally:
                llama_cpp.llama_model_free(model)
            assert logged, log.text()[-300:]
            expected = "unknown, may not work" if quant.retired else quant.llama_name
            assert logged[-1].strip() == expected, quant.label
            checked += 1
    assert checked == len(catalog.file_types)
