"""ModelAnatomy objects built by hand for the fit-engine tests: exact shapes, no files.

The tensor names and shapes follow llama.cpp's ``load_arch_tensors`` (ggml order, ``ne0``
first), so the fit engine sees what it would read from a real header. Sizes follow from the
ggml type of each tensor (``TensorInfo.n_bytes``).
"""

from __future__ import annotations

from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.gguf.ggml_types import ggml_type_named
from tui.core.gguf.reader import TensorInfo

F32 = ggml_type_named("F32").id
F16 = ggml_type_named("F16").id
Q8_0 = ggml_type_named("Q8_0").id
Q4_K = ggml_type_named("Q4_K").id


def _t(name: str, shape: tuple[int, ...], type_id: int) -> TensorInfo:
    return TensorInfo(name, shape, type_id, 0)


def tensor_bytes(tensors: list[TensorInfo], predicate) -> int:
    return sum(t.n_bytes for t in tensors if predicate(t.name))


def make_anatomy(
    *,
    arch: str = "llama",
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int | tuple[int, ...] = 4,
    head_dim: int | None = None,
    n_ff: int = 512,
    n_vocab: int = 1000,
    n_ctx_train: int = 8192,
    tied: bool = False,
    wtype: int = F16,
    n_expert: int = 0,
    n_expert_used: int = 0,
    n_ff_exp: int = 0,
    n_shexp_ff: int = 0,
    sliding_window: int = 0,
    swa_period: int = 0,
    n_nextn: int = 0,
    mla: tuple[int, int, int, int] | None = None,  # (kv_lora_rank, rope dim, key_length_mla, value_length_mla)
    n_dense_lead: int = 0,
    recurrent: tuple[int, int, int, int] | None = None,  # mamba (d_inner, d_state, d_conv, dt_rank)
    recurrent_layers: tuple[bool, ...] | None = None,
    n_layer_kv_from_start: int = -1,
) -> ModelAnatomy:
    """A model anatomy with llama.cpp-shaped tensors; per-layer ``n_head_kv`` may be a tuple."""
    hd = head_dim or n_embd // max(1, n_head)
    kv_heads = n_head_kv if isinstance(n_head_kv, tuple) else (n_head_kv,) * n_layer
    tensors = [_t("token_embd.weight", (n_embd, n_vocab), wtype), _t("output_norm.weight", (n_embd,), F32)]
    if not tied:
        tensors.append(_t("output.weight", (n_embd, n_vocab), wtype))
    n_head_k = hd
    n_head_v = hd
    kv_lora = q_lora = k_mla = v_mla = 0
    if mla:
        kv_lora, rope, k_mla, v_mla = mla
        n_head_k, n_head_v = kv_lora + rope, kv_lora
    swa_layers = tuple(swa_period > 0 and sliding_window > 0 and (il % swa_period) < swa_period - 1
                       and il < n_layer - n_nextn for il in range(n_layer))
    rec = recurrent_layers or ((True,) * n_layer if recurrent else ())
    for il in range(n_layer):
        p = f"blk.{il}."
        tensors.append(_t(p + "attn_norm.weight", (n_embd,), F32))
        if recurrent and rec[il]:
            d_inner, d_state, d_conv, dt_rank = recurrent
            tensors += [
                _t(p + "ssm_in.weight", (n_embd, 2 * d_inner), wtype),
                _t(p + "ssm_conv1d.weight", (d_conv, d_inner), F32),
                _t(p + "ssm_x.weight", (d_inner, dt_rank + 2 * d_state), wtype),
                _t(p + "ssm_dt.weight", (dt_rank, d_inner), wtype),
                _t(p + "ssm_a", (d_state, d_inner), F32),
                _t(p + "ssm_out.weight", (d_inner, n_embd), wtype),
            ]
            continue
        if mla:
            tensors += [
                _t(p + "attn_q.weight", (n_embd, n_head * k_mla), wtype),
                _t(p + "attn_kv_a_mqa.weight", (n_embd, kv_lora + mla[1]), wtype),
                _t(p + "attn_kv_a_norm.weight", (kv_lora,), F32),
                _t(p + "attn_k_b.weight", (k_mla - mla[1], kv_lora, n_head), wtype),
                _t(p + "attn_v_b.weight", (kv_lora, v_mla, n_head), wtype),
                _t(p + "attn_output.weight", (n_head * v_mla, n_embd), wtype),
            ]
        elif kv_heads[il] > 0:
            tensors += [
                _t(p + "attn_q.weight", (n_embd, n_head * hd), wtype),
                _t(p + "attn_k.weight", (n_embd, kv_heads[il] * hd), wtype),
                _t(p + "attn_v.weight", (n_embd, kv_heads[il] * hd), wtype),
                _t(p + "attn_output.weight", (n_head * hd, n_embd), wtype),
            ]
        tensors.append(_t(p + "ffn_norm.weight", (n_embd,), F32))
        if n_expert and il >= n_dense_lead:
            tensors += [
                _t(p + "ffn_gate_inp.weight", (n_embd, n_expert), F32),
                _t(p + "ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert), wtype),
                _t(p + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert), wtype),
                _t(p + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert), wtype),
            ]
            if n_shexp_ff:
                tensors += [
                    _t(p + "ffn_gate_shexp.weight", (n_embd, n_shexp_ff), wtype),
                    _t(p + "ffn_up_shexp.weight", (n_embd, n_shexp_ff), wtype),
                    _t(p + "ffn_down_shexp.weight", (n_shexp_ff, n_embd), wtype),
                ]
        elif n_ff:
            tensors += [
                _t(p + "ffn_gate.weight", (n_embd, n_ff), wtype),
                _t(p + "ffn_up.weight", (n_embd, n_ff), wtype),
                _t(p + "ffn_down.weight", (n_ff, n_embd), wtype),
            ]
    d_inner, d_state, d_conv, dt_rank = recurrent or (0, 0, 0, 0)
    heads = (0,) * n_layer if recurrent and not recurrent_layers else tuple(
        0 if (rec and rec[il]) else (1 if mla else kv_heads[il]) for il in range(n_layer))
    return ModelAnatomy(
        architecture=arch,
        name=f"test-{arch}",
        file_type=1,
        n_params=sum(t.n_elements for t in tensors),
        n_layer=n_layer,
        n_embd=n_embd,
        n_ff=(n_ff,) * n_layer,
        n_head=(n_head,) * n_layer,
        n_head_kv=heads,
        n_embd_head_k=n_head_k,
        n_embd_head_v=n_head_v,
        n_vocab=n_vocab,
        n_ctx_train=n_ctx_train,
        sliding_window=sliding_window if swa_period else 0,
        swa_layers=swa_layers if swa_period else (),
        n_layer_kv_from_start=n_layer_kv_from_start,
        n_expert=n_expert,
        n_expert_used=n_expert_used,
        n_ff_exp=n_ff_exp,
        n_layer_dense_lead=n_dense_lead,
        kv_lora_rank=kv_lora,
        q_lora_rank=q_lora,
        n_embd_head_k_mla=k_mla,
        n_embd_head_v_mla=v_mla,
        ssm_d_conv=d_conv,
        ssm_d_inner=d_inner,
        ssm_d_state=d_state,
        ssm_dt_rank=dt_rank,
        n_embd_r=(d_conv - 1) * d_inner if recurrent else 0,
        n_embd_s=d_state * d_inner if recurrent else 0,
        recurrent_layers=tuple(rec),
        n_nextn_layers=n_nextn,
        tied_embeddings=tied,
        file_size=sum(t.n_bytes for t in tensors),
        tensors=tuple(tensors),
    )
