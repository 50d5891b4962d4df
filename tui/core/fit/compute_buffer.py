"""Compute buffers: the scratch memory llama.cpp reserves for one forward pass, per device.

``llama_context::sched_reserve`` (src/llama-context.cpp) builds the worst-case graph, a
micro-batch of ``n_tokens = min(n_ctx, n_ubatch)`` tokens attending to the whole cache with
``n_outputs = n_seq_max`` logits rows, and lets ggml-alloc size a buffer for it on every
backend. This module rebuilds that graph from the model's anatomy, op by op as the
architectures' builders emit it (src/models/llama.cpp, ``llm_graph_context::build_attn``,
``build_attn_mha``, ``build_ffn``, ``build_moe_ffn``, ``build_inp_embd``,
``build_inp_out_ids`` in src/llama-graph.cpp), and replays ggml-alloc over it
(``tui.core.fit.graph_alloc``). What drives the size:

* the graph inputs: token ids, positions, K/V row indices (``n_tokens * n_embd_v_gqa_max``
  of them when V is stored transposed), the KQ mask (``n_kv x n_tokens``, F16 with flash
  attention, F32 without) per cache, and an unused ``n_tokens x n_embd`` embeddings input;
* attention without flash attention materialises ``KQ``: ``n_kv x n_tokens x n_head`` F32,
  the term that grows with the context; with flash attention only ``n_tokens x n_head x
  head_v`` comes out;
* the FFN's ``n_tokens x n_ff`` activations (gate, up, their product), or for MoE
  ``n_tokens x n_expert_used x n_ff_exp`` each;
* the logits, ``n_vocab x n_outputs`` F32, and the last layer's output-row gathers.

Devices: on the CPU alone the whole graph is one buffer. With GPUs, each GPU holds the part
of the graph for its layers; the graph inputs live in a host buffer (``CUDA_Host``) and are
copied over. During prompt processing (micro-batches of 32+ tokens) ggml's scheduler also
runs the matrix multiplications of CPU-resident weights on the first GPU (``op_offload``,
``ggml_backend_sched`` + the backends' ``offload_op`` batch threshold), copying one weight at a
time, and with them the CPU layers' attention, which reads those layers' K/V cache: so with
partial offload the first GPU's buffer holds the whole graph's activations plus the largest
such copy (``host_copy_bytes``). With several GPUs holding the whole model llama.cpp turns
on pipeline parallelism, and the scheduler keeps 4 copies of every split's inputs
(``pipeline_copies``). The GPU figures are derived from these rules, not
measured (no GPU here); CPU figures are checked against llama.cpp in the tests.

Fidelity: the op sequences are those of llama (and its many look-alikes: qwen2/3, mistral,
gemma2/3 with sliding windows, deci), qwen3moe/mixtral-style MoE with or without shared
experts, gpt-oss, deepseek2's MLA and mamba, and match llama.cpp's buffers to the byte on
those (tests/test_fit_vs_llama*.py). Other architectures reuse the closest of these blocks
(hybrids: the mamba block for their recurrent layers), an approximation.

Sizes are bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.fit.backends import cpu_traits, device_traits, gpu_traits
from tui.core.fit.cache import cached_for
from tui.core.fit.graph_alloc import AllocatorState, GraphBuilder, replay
from tui.core.fit.kv_cache import CacheLayout, head_k, head_v, is_mla, is_recurrent_layer, n_embd_v_gqa_max
from tui.core.fit.placement import Placement
from tui.core.gguf.anatomy import ModelAnatomy
from tui.core.gguf.ggml_types import ggml_type_named

F32 = 4
#: ``ggml_backend_*_device_offload_op`` (CUDA, Vulkan, Metal, SYCL): ops on batches of at least
#: this many tokens are moved to the GPU even when their weights live in host memory.
OP_OFFLOAD_MIN_BATCH = 32
#: Architectures with multi-section RoPE: ``inp_pos`` holds 4 positions per token (n_pos_per_embd).
MROPE_ARCHS = frozenset({"qwen2vl", "qwen25vl", "qwen3vl", "qwen3vlmoe", "glm4v", "glm4vmoe"})


@dataclass(frozen=True)
class LayerShape:
    """What one block computes, as far as activation sizes go (elements, not bytes)."""

    attention: str  # "std" | "mla" | "none"
    recurrent: bool
    n_head: int
    q_dim: int  # n_head * head_k
    k_dim: int  # n_head_kv * head_k
    v_dim: int  # n_head_kv * head_v
    head_v: int
    fused_qkv: bool
    ffn: str  # "glu" | "plain" | "moe" | "none"
    n_ff: int
    n_ff_exp: int
    n_expert: int
    n_expert_used: int
    n_ff_shexp: int
    probs_bias: bool
    swa: bool


@dataclass(frozen=True)
class ModelShape:
    """The anatomy reduced to what the compute graph needs; built once per anatomy."""

    n_embd: int
    n_vocab: int
    n_pos_per_token: int
    layers: tuple[LayerShape, ...]
    period: int  # from layer ``period_start`` on, the layer pattern repeats with this period (0: never)
    period_start: int
    mla_rank: int
    mla_rope: int
    mla_v: int
    q_lora: int
    ssm_inner: int
    ssm_state: int
    ssm_groups: int
    ssm_conv: int
    ssm_dt_rank: int


def _layer_tensor_shapes(anatomy: ModelAnatomy) -> list[dict[str, tuple[int, ...]]]:
    per_layer: list[dict[str, tuple[int, ...]]] = [dict() for _ in range(anatomy.n_layer)]
    for t in anatomy.tensors:
        if t.name.startswith("blk."):
            parts = t.name.split(".")
            try:
                il = int(parts[1])
            except ValueError:
                continue
            if 0 <= il < anatomy.n_layer and parts[-1] == "weight" and len(parts) > 3:
                per_layer[il][".".join(parts[2:-1])] = t.shape  # "ffn_up_exps" -> its weight's shape
    return per_layer


def model_shape(anatomy: ModelAnatomy) -> ModelShape:
    return cached_for(anatomy, "compute_shape", lambda: _build_model_shape(anatomy))


def _build_model_shape(anatomy: ModelAnatomy) -> ModelShape:
    tensors = _layer_tensor_shapes(anatomy)
    n_main = anatomy.n_layer - anatomy.n_nextn_layers
    mla = is_mla(anatomy)
    layers = []
    for il in range(n_main):
        names = tensors[il]
        recurrent = is_recurrent_layer(anatomy, il) or any(n.startswith(("ssm_", "time_mix", "shortconv")) for n in names)
        n_head = anatomy.n_head[il] if il < len(anatomy.n_head) else 0
        n_head_kv = anatomy.n_head_kv[il] if il < len(anatomy.n_head_kv) else 0
        if mla:
            attention = "mla"
        elif n_head_kv > 0 and n_head > 0 and any(n.startswith("attn_") for n in names):
            attention = "std"
        else:
            attention = "none"
        hk, hv = head_k(anatomy, il), head_v(anatomy, il)
        if "ffn_gate_exps" in names or "ffn_up_exps" in names or "ffn_gate_up_exps" in names:
            ffn = "moe"
        elif "ffn_gate" in names:
            ffn = "glu"
        elif "ffn_up" in names:
            ffn = "plain"
        else:
            ffn = "none"
        shexp = names.get("ffn_up_shexp") or names.get("ffn_gate_shexp")
        n_ff_exp = 0
        exp = names.get("ffn_up_exps") or names.get("ffn_gate_exps")
        if exp and len(exp) >= 2:
            n_ff_exp = exp[1]
        elif "ffn_gate_up_exps" in names:
            n_ff_exp = names["ffn_gate_up_exps"][1] // 2
        layers.append(LayerShape(
            attention=attention,
            recurrent=recurrent,
            n_head=n_head,
            q_dim=n_head * (anatomy.n_embd_head_k_mla if mla else hk),
            k_dim=n_head_kv * hk,
            v_dim=n_head_kv * hv,
            head_v=hv,
            fused_qkv="attn_qkv" in names,
            ffn=ffn,
            n_ff=anatomy.n_ff[il] if il < len(anatomy.n_ff) else 0,
            n_ff_exp=n_ff_exp or anatomy.n_ff_exp,
            n_expert=anatomy.n_expert,
            n_expert_used=anatomy.n_expert_used,
            n_ff_shexp=shexp[1] if shexp and len(shexp) >= 2 else 0,
            probs_bias="exp_probs_b" in names,
            swa=anatomy.sliding_window > 0 and il < len(anatomy.swa_layers) and anatomy.swa_layers[il],
        ))
    return ModelShape(
        n_embd=anatomy.n_embd,
        n_vocab=anatomy.n_vocab,
        n_pos_per_token=4 if anatomy.architecture in MROPE_ARCHS else 1,
        layers=tuple(layers),
        period=_period(layers)[1],
        period_start=_period(layers)[0],
        mla_rank=anatomy.kv_lora_rank,
        mla_rope=max(0, anatomy.n_embd_head_k - anatomy.kv_lora_rank) if mla else 0,
        mla_v=anatomy.n_embd_head_v_mla,
        q_lora=anatomy.q_lora_rank,
        ssm_inner=anatomy.ssm_d_inner,
        ssm_state=anatomy.ssm_d_state,
        ssm_groups=anatomy.ssm_n_group,
        ssm_conv=anatomy.ssm_d_conv,
        ssm_dt_rank=anatomy.ssm_dt_rank,
    )


def _period(layers: list[LayerShape]) -> tuple[int, int]:
    """(start, p): from layer ``start`` on, layers[i] == layers[i + p]; (0, 0) when there is no pattern."""
    for skip in (0, 1, 2, 3):
        rest = layers[skip:]
        for p in range(1, min(16, len(rest)) + 1):
            if all(rest[i] == rest[i + p] for i in range(len(rest) - p)):
                return skip, p
    return 0, 0


@dataclass(frozen=True)
class GraphParams:
    """Everything besides the anatomy that changes the reserved graph."""

    n_tokens: int
    n_outputs: int
    n_kv_full: int  # cells each full-attention layer attends to (per sequence)
    n_kv_swa: int
    flash_attn: bool
    v_trans: bool
    v_idx_width: int  # V row indices per token (n_embd_v_gqa_max when V is transposed)
    rot_k: bool  # Hadamard rotation of Q/K (quantized K cache)
    rot_v: bool
    v_cont_row: int = 0  # MLA without flash attention: bytes per cell of the transposed V copy
    cast_k: bool = False  # flash attention over an F32 cache: K and V views are cast to F16 first
    cast_v: bool = False


class _GraphWriter:
    """Emits a model's reserve graph into a ``GraphBuilder`` (one device's share of it)."""

    def __init__(self, shape: ModelShape, p: GraphParams) -> None:
        self.s = shape
        self.p = p
        self.g = GraphBuilder()
        self.inputs: dict[str, int] = {}

    def input(self, name: str, size: int) -> int:
        if name not in self.inputs:
            self.inputs[name] = self.g.leaf(size)
        return self.inputs[name]

    def declare_inputs(self, layers: range | list[int], with_output: bool) -> None:
        """Graph inputs in the order the builders first use them (leafs are allocated first)."""
        p, s = self.p, self.s
        t = p.n_tokens
        self.input("pos", F32 * t * s.n_pos_per_token)
        if any(s.layers[il].attention != "none" for il in layers):
            mask_bytes = 2 if p.flash_attn else 4
            if any(not s.layers[il].swa for il in layers if s.layers[il].attention != "none"):
                self.input("k_idxs", 8 * t)
                self.input("v_idxs", 8 * t * p.v_idx_width)
                self.input("mask", mask_bytes * p.n_kv_full * t)
            if any(s.layers[il].swa for il in layers if s.layers[il].attention != "none"):
                self.input("k_idxs_swa", 8 * t)
                self.input("v_idxs_swa", 8 * t * p.v_idx_width)
                self.input("mask_swa", mask_bytes * p.n_kv_swa * t)
            if p.rot_k:
                self.input("k_rot", F32 * 64 * 64)  # Hadamard matrices (build_input_k_rot / _v_rot)
            if p.rot_v:
                self.input("v_rot", F32 * 64 * 64)
        if any(s.layers[il].recurrent for il in layers):
            self.input("rs_ids", 4 * 1)
        if with_output:
            self.input("out_ids", 4 * p.n_outputs)

    # --- blocks ------------------------------------------------------------------------------

    def norm(self, x: int, n: int) -> int:
        g = self.g
        y = g.node(F32 * n, x, inplace=True)  # rms_norm / norm
        return g.node(F32 * n, y, inplace=True)  # * weight (+ bias)

    def attention(self, x: int, layer: LayerShape, t: int) -> int:
        g, p = self.g, self.p
        e = self.s.n_embd
        cur = self.norm(x, t * e)
        swa = "_swa" if layer.swa else ""
        pos = self.inputs.get("pos", -1)
        # graph order: build_attn expands Q, then V, then K (each after its RoPE and, for a quantized
        # cache, its Hadamard rotation); RoPE on a reshaped view cannot run in place
        if layer.fused_qkv:
            qkv = g.node(F32 * t * (layer.q_dim + 2 * layer.k_dim), cur)
            q = g.node(F32 * t * layer.q_dim, g.view(qkv), pos)
        else:
            q = g.node(F32 * t * layer.q_dim, g.view(g.node(F32 * t * layer.q_dim, cur)), pos)
        if p.rot_k:
            q = g.node(F32 * t * layer.q_dim, g.view(q))
        v = g.node(F32 * t * layer.v_dim, g.view(qkv)) if layer.fused_qkv else g.node(F32 * t * layer.v_dim, cur)
        if p.rot_v:
            v = g.node(F32 * t * layer.v_dim, g.view(v))
        if layer.fused_qkv:
            k = g.node(F32 * t * layer.k_dim, g.view(qkv), pos)
        else:
            k = g.node(F32 * t * layer.k_dim, g.view(g.node(F32 * t * layer.k_dim, cur)), pos)
        if p.rot_k:
            k = g.node(F32 * t * layer.k_dim, g.view(k))
        g.sink(k, self.inputs.get("k_idxs" + swa, -1))
        g.sink(g.view(v), self.inputs.get("v_idxs" + swa, -1))
        out = self._mha(q, layer.n_head, layer.head_v, t, swa, k_dim=layer.k_dim, v_dim=layer.v_dim)
        if p.rot_v:
            out = g.node(F32 * t * layer.n_head * layer.head_v, g.view(out))
        return g.node(F32 * t * e, g.view(out))  # wo

    def _mha(self, q: int, n_head: int, head_v: int, t: int, swa: str, mla_v: int = 0,
             k_dim: int = 0, v_dim: int = 0) -> int:
        g, p = self.g, self.p
        n_kv = p.n_kv_swa if swa else p.n_kv_full
        mask = self.inputs.get("mask" + swa, -1)
        qp = g.view(q)  # permute
        if p.flash_attn:
            casts = []
            if p.cast_k:  # build_attn_mha: an F32 cache is cast to F16 for the kernel
                casts.append(g.node(2 * n_kv * k_dim))
            if p.cast_v:
                casts.append(g.node(2 * n_kv * v_dim))
            out = g.node(F32 * t * n_head * head_v, qp, *casts, mask)
            if mla_v:
                out = g.node(F32 * t * n_head * mla_v, g.view(out))
                out = g.node(F32 * t * n_head * mla_v, g.view(out))  # cont
        else:
            kq = g.node(F32 * n_kv * t * n_head, qp)
            kq = g.node(F32 * n_kv * t * n_head, kq, mask, inplace=True)  # soft_max_ext
            if mla_v and p.v_cont_row:  # V is a plain view of the K cache: cont(transpose(v))
                kqv = g.node(F32 * t * n_head * head_v, kq, g.node(p.v_cont_row * n_kv))
            else:
                kqv = g.node(F32 * t * n_head * head_v, kq)
            if mla_v:
                kqv = g.node(F32 * t * n_head * mla_v, kqv)
                head_v = mla_v
            out = g.node(F32 * t * n_head * head_v, g.view(kqv))  # permute + cont_2d
        return out

    def attention_mla(self, x: int, layer: LayerShape, t: int) -> int:
        """DeepSeek-V2-style MLA with the absorption optimisation (src/models/deepseek2.cpp)."""
        g, s = self.g, self.s
        e = s.n_embd
        rank, rope, n_head = s.mla_rank, s.mla_rope, layer.n_head
        pos = self.inputs.get("pos", -1)
        cur = self.norm(x, t * e)
        if s.q_lora:
            q = g.node(F32 * t * layer.q_dim, self.norm(g.node(F32 * t * s.q_lora, cur), t * s.q_lora))
        else:
            q = g.node(F32 * t * layer.q_dim, cur)
        q_abs = g.node(F32 * t * n_head * rank, g.view(q))  # wk_b x q_nope
        q_pe = g.node(F32 * t * n_head * rope, g.view(q), pos)  # RoPE on a strided view: a new tensor
        q_cat = g.node(F32 * t * n_head * (rank + rope), g.view(q_abs), q_pe)  # concat
        kv = g.node(F32 * t * (rank + rope), cur)  # wkv_a_mqa
        kv_c = g.node(F32 * t * rank, g.node(F32 * t * rank, g.view(kv)), inplace=True)  # rms_norm (view), * weight
        k_pe = g.node(F32 * t * rope, g.view(kv), pos)
        k_cat = g.node(F32 * t * (rank + rope), g.view(kv_c), k_pe)  # concat
        g.sink(k_cat, self.inputs.get("k_idxs", -1))
        out = self._mha(q_cat, n_head, rank, t, "", mla_v=s.mla_v, k_dim=rank + rope, v_dim=rank)
        return g.node(F32 * t * e, g.view(out))  # wo

    def recurrent(self, x: int, t: int) -> int:
        """A Mamba-style block (``llm_build_mamba_base::build_mamba_layer``): in-projection, conv, scan, gate.

        Other recurrent mixers (Mamba-2, gated delta nets, RWKV) are sized with the same
        shapes from their ``ssm.*`` dimensions: an approximation.
        """
        g, s = self.g, self.s
        e = s.n_embd
        d_inner = s.ssm_inner or 2 * e
        d_state = s.ssm_state or 16
        bc = 2 * s.ssm_groups * d_state  # Mamba-2 carries B and C through the conv
        d_conv = max(1, s.ssm_conv)
        dt_rank = s.ssm_dt_rank or max(1, e // 16)
        cur = self.norm(x, t * e)
        xz = g.node(F32 * t * (2 * d_inner + bc), cur)  # ssm_in
        conv_in = g.node(F32 * (d_conv - 1 + t) * (d_inner + bc), g.view(xz))  # concat(conv state, x)
        conv = g.node(F32 * t * (d_inner + bc), conv_in)  # ssm_conv
        conv = g.node(F32 * t * (d_inner + bc), conv, inplace=True)  # + bias
        conv = g.node(F32 * t * (d_inner + bc), conv, inplace=True)  # silu
        if bc:
            x_db = g.node(F32 * t * max(1, s.n_embd // 64), cur)  # dt from the in-projection (heads)
            dt = x_db
        else:
            x_db = g.node(F32 * t * (dt_rank + 2 * d_state), conv)  # ssm_x
            dt = g.node(F32 * t * dt_rank, g.view(x_db))  # cont
            dt = g.node(F32 * t * d_inner, dt)  # ssm_dt
            dt = g.node(F32 * t * d_inner, dt, inplace=True)  # + bias
        y = g.node(F32 * (t * d_inner + d_state * d_inner), g.view(conv), dt, g.view(x_db),
                   self.inputs.get("rs_ids", -1))  # ssm_scan: outputs and the last state
        g.sink(g.view(y))  # the new state goes back to the cache
        z = g.node(F32 * t * d_inner, g.view(xz))  # cont
        x_d = g.node(F32 * t * d_inner, conv, inplace=True)  # x * D
        y = g.node(F32 * t * d_inner, g.view(y), x_d, inplace=True)  # y + x * D
        y = g.node(F32 * t * d_inner, z, y)  # y * silu(z)
        return g.node(F32 * t * e, y)  # ssm_out

    def ffn(self, ffn_inp: int, layer: LayerShape, t: int) -> int:
        g = self.g
        e = self.s.n_embd
        cur = self.norm(ffn_inp, t * e)
        if layer.ffn == "moe":
            out = self._moe(cur, layer, t)
            if layer.n_ff_shexp:
                sh = self._dense(cur, layer.n_ff_shexp, True, t)
                out = g.node(F32 * t * e, out, sh, inplace=True)
            return out
        if layer.ffn == "none" or layer.n_ff == 0:
            return cur
        return self._dense(cur, layer.n_ff, layer.ffn == "glu", t)

    def _dense(self, cur: int, n_ff: int, gated: bool, t: int) -> int:
        g = self.g
        if gated:
            gate = g.node(F32 * t * n_ff, cur)
            up = g.node(F32 * t * n_ff, cur)
            h = g.node(F32 * t * n_ff, gate, up)  # swiglu_split / geglu_split: not in place
        else:
            up = g.node(F32 * t * n_ff, cur)
            h = g.node(F32 * t * n_ff, up, inplace=True)
        return g.node(F32 * t * self.s.n_embd, h)

    def _moe(self, cur: int, layer: LayerShape, t: int) -> int:
        g = self.g
        e = self.s.n_embd
        n_exp, used, ff = layer.n_expert, max(1, layer.n_expert_used), layer.n_ff_exp
        logits = g.node(F32 * t * n_exp, cur)
        probs = g.node(F32 * t * n_exp, logits, inplace=True)  # soft_max / sigmoid
        selection = g.node(F32 * t * n_exp, probs, inplace=True) if layer.probs_bias else probs
        order = g.node(4 * t * n_exp, selection)  # argsort
        selected = g.view(order)  # top-k view
        weights = g.node(F32 * t * used, g.view(probs), selected)  # get_rows
        total = g.node(F32 * t, g.view(weights))  # sum_rows
        total = g.node(F32 * t, total, inplace=True)  # clamp
        weights = g.node(F32 * t * used, g.view(weights), total, inplace=True)  # div
        x3 = g.view(cur)
        gate = g.node(F32 * t * used * ff, x3, selected)  # mul_mat_id
        up = g.node(F32 * t * used * ff, x3, selected)
        h = g.node(F32 * t * used * ff, gate, up)
        experts = g.node(F32 * t * used * e, h, selected)
        experts = g.node(F32 * t * used * e, experts, weights, inplace=True)
        views = [g.view(experts) for _ in range(used)]
        out = views[0] if used == 1 else g.node(F32 * t * e, views[0], views[1], inplace=True)
        if used == 1:
            out = g.node(F32 * t * e, out)  # cont
        for v in views[2:]:
            out = g.node(F32 * t * e, out, v, inplace=True)
        return out

    def block(self, x: int, il: int, last: bool) -> int:
        g, p = self.g, self.p
        layer = self.s.layers[il]
        t = p.n_tokens
        e = self.s.n_embd
        if layer.recurrent and layer.attention == "none":
            a = self.recurrent(x, t)
        elif layer.attention == "mla":
            a = self.attention_mla(x, layer, t)
        elif layer.attention == "std":
            a = self.attention(x, layer, t)
        else:
            a = self.norm(x, t * e)
        if last:
            out_ids = self.inputs.get("out_ids", -1)
            t = p.n_outputs
            a = g.node(F32 * t * e, a, out_ids)  # get_rows(cur, out_ids)
            x = g.node(F32 * t * e, x, out_ids)  # get_rows(inpSA, out_ids)
        ffn_inp = g.node(F32 * t * e, a, x, inplace=True)
        f = self.ffn(ffn_inp, layer, t)
        return g.node(F32 * t * e, f, ffn_inp, inplace=True)

    def output(self, x: int) -> None:
        g, p = self.g, self.p
        cur = self.norm(x, p.n_outputs * self.s.n_embd)
        g.node(F32 * p.n_outputs * self.s.n_vocab, cur, output=True)  # lm_head: the logits


#: Longest allocator-state cycle looked for, in layer-pattern periods (deepseek2's alternates every 2).
MAX_STATE_CYCLE = 4


def _replay(shape: ModelShape, p: GraphParams, layers: list[int], *, with_embd: bool, with_output: bool,
            alignment: int, extra_leaf: int = 0, input_layers: list[int] | None = None, input_copies: int = 1) -> int:
    """Buffer size for the graph of ``layers`` (plus the embeddings lookup / output head), in bytes.

    Replaying 80 identical blocks is wasted time: once the allocator's state (free list and
    high-water mark) at a block boundary recurs a whole number of pattern periods later, the
    blocks in between keep repeating it. So only a prefix of the blocks is replayed (grown
    until its state cycles), joined in phase to the last pattern period plus the last block,
    where inputs are freed and the output rows gathered. The result equals a full replay.
    """
    n = len(layers)
    per = shape.period
    contiguous = n > 0 and layers[-1] - layers[0] == n - 1
    extras = (extra_leaf, input_layers, input_copies)

    def full() -> int:
        return _replay_layers(shape, p, layers, with_embd, with_output, alignment, *extras)[0]

    if per <= 0 or not contiguous:
        return full()
    first = max(0, shape.period_start - layers[0])  # index in ``layers`` where the pattern starts
    tail = per + 1
    m = first + 2 * per
    while True:
        m += (n - tail - m) % per  # the tail must start in phase with the prefix
        if m + tail >= n:
            return full()
        peak, snaps = _replay_layers(shape, p, layers[:m] + layers[n - tail:], with_embd, with_output,
                                     alignment, *extras)
        realign = 0
        for k in range(1, MAX_STATE_CYCLE + 1):
            cycle = k * per
            if m - cycle >= first and snaps[m] == snaps[m - cycle]:
                realign = (n - tail - m) % cycle
                if realign == 0:
                    return peak
                break
        m += realign if realign else max(per, m - first)


def _replay_layers(shape: ModelShape, p: GraphParams, layers: list[int], with_embd: bool, with_output: bool,
                   alignment: int, extra_leaf: int, input_layers: list[int] | None, input_copies: int
                   ) -> tuple[int, list[AllocatorState]]:
    w = _GraphWriter(shape, p)
    g = w.g
    t = p.n_tokens
    e = shape.n_embd
    n_main = len(shape.layers)
    if with_embd:
        tokens = w.input("tokens", 4 * t)
        w.input("embd", F32 * t * e)  # the unused vector-embeddings input (build_inp_embd)
    w.declare_inputs(layers if input_layers is None else input_layers, with_output)
    if extra_leaf:
        g.leaf(extra_leaf)
    x = g.node(F32 * t * e, tokens) if with_embd else g.leaf(F32 * t * e)  # get_rows, or the stream copied in
    if input_copies > 1:
        # pipeline parallelism: every input also has its other copies allocated up front, never freed
        # (ggml_backend_sched_split_graph adds n_copies input copies as leafs)
        inputs = [g.size[i] for i in range(len(g)) if g.kind[i] == 1]
        for size in inputs * (input_copies - 1):
            g.leaf(size)
    for il in layers:
        g.mark()
        x = w.block(x, il, last=with_output and il == n_main - 1)
    if with_output:
        if not layers or layers[-1] != n_main - 1:
            x = g.node(F32 * p.n_outputs * e, x, w.inputs.get("out_ids", -1))
        w.output(x)
    return replay(g, alignment)


def graph_params(anatomy: ModelAnatomy, layout: CacheLayout, flash_attn: bool, cache_type_k: str,
                 cache_type_v: str) -> GraphParams:
    ctx = layout.context
    k_quant = ggml_type_named(cache_type_k).block_size > 1
    v_quant = ggml_type_named(cache_type_v).block_size > 1
    return GraphParams(
        n_tokens=ctx.n_tokens,
        n_outputs=ctx.n_outputs,
        n_kv_full=layout.full_cells,
        n_kv_swa=layout.swa_cells or layout.full_cells,
        flash_attn=flash_attn,
        v_trans=layout.v_transposed,
        v_idx_width=n_embd_v_gqa_max(anatomy) if layout.v_transposed else 1,
        rot_k=k_quant and anatomy.n_embd_head_k % 64 == 0 and not layout.is_mla,
        rot_v=v_quant and anatomy.n_embd_head_v % 64 == 0 and not layout.is_mla,
        v_cont_row=ggml_type_named(cache_type_k).row_bytes(anatomy.kv_lora_rank)
        if layout.is_mla and not flash_attn else 0,
        cast_k=flash_attn and cache_type_k == "f32",
        cast_v=flash_attn and (cache_type_k if layout.is_mla else cache_type_v) == "f32",
    )


#: ``GGML_SCHED_MAX_COPIES``: input copies the scheduler keeps with pipeline parallelism.
SCHED_MAX_COPIES = 4
#: Backends whose devices support async compute and events, as pipeline parallelism requires.
PIPELINE_BACKENDS = frozenset({"CUDA", "ROCM", "HIP", "SYCL", "VULKAN"})


def pipeline_copies(placement: Placement, n_layer: int, has_overrides: bool) -> int:
    """Input copies per split (``GGML_SCHED_MAX_COPIES``) when llama.cpp enables pipeline parallelism, else 1.

    ``llama_context::llama_context``: several GPUs, every layer and the output layer offloaded,
    layer split, KV offloaded, no tensor overrides (``-ot``, ``--cpu-moe``, ``--n-cpu-moe``), and
    devices with async compute and events.
    """
    gpus = [d for d in placement.devices if d.is_gpu]
    # RPC devices report async compute and events (ggml_backend_rpc_device_get_props), whatever is remote
    if (len(gpus) > 1 and placement.n_gpu_layers > n_layer and not has_overrides
            and all(d.is_rpc or d.backend.upper() in PIPELINE_BACKENDS for d in gpus)):
        return SCHED_MAX_COPIES
    return 1


def host_copy_bytes(placement: Placement, layer_cache_bytes: tuple[int, ...] | list[int]) -> int:
    """The largest tensor the first GPU copies in at once while processing a prompt with layers on the CPU.

    Either a CPU-resident weight (each offloaded matrix multiplication is its own split, whose
    input copies are freed when it ends) or a CPU layer's K and V cache, which that layer's
    attention reads on the GPU.
    """
    cpu = placement.cpu
    kv = max((b for il, b in enumerate(layer_cache_bytes) if placement.layer_device[il] == cpu), default=0)
    return max(placement.largest_host_matmul, kv)


def compute_buffer_bytes(anatomy: ModelAnatomy, placement: Placement, params: GraphParams,
                         host_copy: int = 0, input_copies: int = 1) -> tuple[int, ...]:
    """Compute buffer per device of ``placement`` (bytes), as ``sched_reserve`` would size it.

    ``host_copy``: see ``host_copy_bytes`` (only used with GPUs and layers left on the CPU).
    ``input_copies``: ``pipeline_copies`` (several GPUs holding the whole model).
    """
    key = ("compute", params, placement.layer_device, placement.output_device, host_copy, placement.devices,
           input_copies)
    cache: dict[tuple[object, ...], tuple[int, ...]] = cached_for(anatomy, "compute_cache", dict)
    hit = cache.get(key)
    if hit is not None:
        return hit
    result = _compute_buffer_bytes(model_shape(anatomy), placement, params, host_copy, input_copies)
    if len(cache) > 512:
        cache.clear()
    cache[key] = result
    return result


def _compute_buffer_bytes(shape: ModelShape, placement: Placement, p: GraphParams, host_copy: int = 0,
                          input_copies: int = 1) -> tuple[int, ...]:
    devices = placement.devices
    cpu = len(devices) - 1
    n_main = len(shape.layers)
    sizes = [0] * len(devices)
    layer_dev = placement.layer_device[:n_main]
    cpu_alignment = cpu_traits().alignment
    if cpu == 0:  # CPU only: one graph, one buffer
        sizes[cpu] = _replay(shape, p, list(range(n_main)), with_embd=True, with_output=True,
                             alignment=cpu_alignment)
        return tuple(sizes)

    # op offload goes to the first device whose backend implements offload_op: never an RPC device
    # (ggml_backend_rpc_device_i.offload_op is NULL), so with only helper boxes nothing is offloaded
    first_gpu = next((i for i, d in enumerate(devices[:cpu]) if not d.is_rpc), -1)
    offload = p.n_tokens >= OP_OFFLOAD_MIN_BATCH and first_gpu >= 0
    runs_on = [first_gpu if (d == cpu and offload) else d for d in layer_dev]
    output_on = first_gpu if (placement.output_device == cpu and offload) else placement.output_device
    for dev in range(len(devices)):
        layers = [il for il in range(n_main) if runs_on[il] == dev]
        with_output = output_on == dev
        if dev == cpu:
            # host buffer: the graph inputs, the token-embedding lookup and any layers left on the CPU
            # the first device's host buffer type; an RPC device has none, so plain CPU memory
            host_alignment = cpu_alignment if devices[0].is_rpc else gpu_traits(devices[0].backend).alignment
            inputs = _replay(shape, p, [], with_embd=True, with_output=False, alignment=host_alignment,
                             input_layers=list(range(n_main)), input_copies=input_copies)
            layers_cpu = _replay(shape, p, layers, with_embd=True, with_output=with_output,
                                 alignment=cpu_alignment) if (layers or with_output) else 0
            sizes[dev] = max(inputs, layers_cpu) if layers or with_output else inputs
            continue
        if not layers and not with_output:
            continue
        weight_copy = host_copy if (offload and dev == first_gpu) else 0
        alignment = device_traits(devices[dev].backend).alignment
        sizes[dev] = _replay(shape, p, layers, with_embd=False, with_output=with_output,
                             alignment=alignment, extra_leaf=weight_copy, input_copies=input_copies)
        if input_copies > 1:
            first_in_chain = not any(runs_on[il] < dev for il in range(n_main) if runs_on[il] != cpu)
            sizes[dev] += pipeline_stream_bytes(shape.n_embd, p.n_tokens, alignment, input_copies, first_in_chain)
    return tuple(sizes)


def pipeline_stream_bytes(n_embd: int, n_tokens: int, alignment: int, input_copies: int, first: bool) -> int:
    """What pipeline parallelism adds to a device's compute buffer for the hidden state passed between devices.

    ``ggml_backend_sched_split_graph`` (ggml-backend.cpp) gives every split input ``n_copies``
    copies on the consuming device, marked input and output so ggml-alloc never reuses them, and
    allocates them as leafs ahead of the graph; the producing device's last node, whose only
    consumer is in another split, is never freed either. Measured against llama.cpp with
    ``scripts/bench_rpc.py`` (2 and 3 devices, dense and MoE, ubatch 256 and 512): the first device
    in the chain holds one more ``n_embd x n_tokens`` f32 tensor than the one-stream replay, each
    later device ``1 + n_copies`` more.
    """
    stream = -(-(F32 * n_embd * n_tokens) // alignment) * alignment
    return stream * (1 if first else 1 + input_copies)
