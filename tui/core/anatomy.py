"""What a model is made of, read from its GGUF header: the input to every fit estimate.

``ModelAnatomy`` is a plain record of sizes (tokens, elements, bytes); ``anatomy_from_headers``
derives it from one header per shard. Field meanings follow llama.cpp's ``llama_hparams``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.core.gguf_reader import TensorInfo


@dataclass(frozen=True)
class ModelAnatomy:
    """A model's shape as llama.cpp sees it. Per-layer tuples have ``n_layer`` entries."""

    architecture: str                  # general.architecture, e.g. "llama", "qwen3moe"
    name: str | None                   # general.name
    file_type: int | None              # general.file_type (llama_ftype), None if absent
    n_params: int                      # sum of all tensor elements
    n_layer: int                       # {arch}.block_count
    n_embd: int                        # {arch}.embedding_length
    n_ff: tuple[int, ...]              # {arch}.feed_forward_length, per layer (0 = no dense FFN)
    n_head: tuple[int, ...]            # {arch}.attention.head_count, per layer
    n_head_kv: tuple[int, ...]         # {arch}.attention.head_count_kv, per layer (0 = no attention)
    n_embd_head_k: int                 # {arch}.attention.key_length, else n_embd / n_head
    n_embd_head_v: int                 # {arch}.attention.value_length, else n_embd / n_head
    n_vocab: int                       # {arch}.vocab_size, else len(tokenizer.ggml.tokens), else token_embd rows
    n_ctx_train: int                   # {arch}.context_length (tokens)
    sliding_window: int = 0            # {arch}.attention.sliding_window (tokens); 0 = none
    swa_layers: tuple[bool, ...] = ()  # per layer: True where attention is sliding-window
    n_expert: int = 0                  # {arch}.expert_count
    n_expert_used: int = 0             # {arch}.expert_used_count
    n_expert_shared: int = 0           # {arch}.expert_shared_count
    n_ff_exp: int = 0                  # {arch}.expert_feed_forward_length
    n_ff_shexp: int = 0                # {arch}.expert_shared_feed_forward_length
    n_layer_dense_lead: int = 0        # {arch}.leading_dense_block_count (DeepSeek-style)
    kv_lora_rank: int = 0              # MLA: {arch}.attention.kv_lora_rank
    q_lora_rank: int = 0               # MLA: {arch}.attention.q_lora_rank
    n_embd_head_k_mla: int = 0         # MLA: {arch}.attention.key_length_mla
    n_embd_head_v_mla: int = 0         # MLA: {arch}.attention.value_length_mla
    ssm_d_conv: int = 0                # recurrent: {arch}.ssm.conv_kernel
    ssm_d_inner: int = 0               # recurrent: {arch}.ssm.inner_size
    ssm_d_state: int = 0               # recurrent: {arch}.ssm.state_size
    ssm_n_group: int = 0               # recurrent: {arch}.ssm.group_count
    ssm_dt_rank: int = 0               # recurrent: {arch}.ssm.time_step_rank
    recurrent_layers: tuple[bool, ...] = ()  # per layer: True where the layer keeps recurrent state
    n_nextn_layers: int = 0            # {arch}.nextn_predict_layers (MTP layers llama.cpp does not run)
    tied_embeddings: bool = False      # no output.weight: the output layer reuses token_embd
    file_size: int = 0                 # bytes, all shards
    n_shards: int = 1
    bytes_by_type: dict[str, int] = field(default_factory=dict)  # ggml type name -> tensor bytes
    tensors: tuple[TensorInfo, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)  # key/values, large arrays left out

    @property
    def tensor_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)

    @property
    def bits_per_weight(self) -> float:
        """Whole-model bits per weight: tensor bytes * 8 / parameters."""
        return self.tensor_bytes * 8 / self.n_params if self.n_params else 0.0

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 0
