"""What the network adds to each token when layers live on helper boxes (llama.cpp's RPC backend).

llama.cpp runs a layer split one device after another. When a device is remote, the head's
scheduler talks to its ``rpc-server`` over TCP (ggml/src/ggml-rpc/ggml-rpc.cpp, protocol 7):

* before the device's split runs, its inputs are written with ``RPC_CMD_SET_TENSOR`` (async:
  no reply): the hidden state coming from the previous device (``n_embd x n_tokens`` f32) and the
  graph inputs the split reads, chiefly the attention mask (``n_kv x n_tokens``, f16 with flash
  attention, else f32) and the positions;
* the split itself goes as ``RPC_CMD_GRAPH_COMPUTE`` (async; ``RPC_CMD_GRAPH_RECOMPUTE``, a few
  bytes, when the graph is reused, as it is token after token);
* the next device (or the head, for the logits) reads the result with ``RPC_CMD_GET_TENSOR``,
  which waits for the reply, and so for the remote compute: one round trip per visit. Devices on
  different boxes never talk to each other: a copy between them is a get from one and a set on
  the other, both through the head (``ggml_backend_tensor_copy``). Two devices of one box copy on
  the server (``RPC_CMD_COPY_TENSOR``, one more round trip, no data on the wire).

So a visit to a remote device costs its link's round trip plus the bytes it receives and sends
divided by the link's bandwidth; the output layer sends back ``n_vocab`` f32 logits per output
row instead of the hidden state. Decoding repeats this every token; prompt processing once per
micro-batch (``n_ubatch`` tokens). Link figures: ``tui.core.hardware.boxes.LINKS``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui.core.fit.placement import Placement
from tui.core.fit.speed import SpeedEstimate
from tui.core.fit.speed_prompt import PromptEstimate
from tui.core.hardware.devices import HardwareProfile, Link

F32 = 4
F16 = 2
#: llama.cpp pads the KV cells a graph attends over to 256 (``llama_kv_cache::get_padding``).
KV_PAD = 256


@dataclass(frozen=True)
class NetworkCost:
    """Network time and traffic for one forward pass over ``n_tokens`` tokens. Bytes and seconds."""

    n_tokens: int
    visits: int  # remote device visits (each one round trip)
    bytes_sent: float  # head -> boxes
    bytes_received: float  # boxes -> head
    seconds: float
    round_trip_seconds: float  # the latency share of ``seconds``

    def to_dict(self) -> dict[str, float | int]:
        return {"n_tokens": self.n_tokens, "visits": self.visits, "bytes_sent": round(self.bytes_sent),
                "bytes_received": round(self.bytes_received), "seconds": self.seconds,
                "round_trip_seconds": self.round_trip_seconds}


def _link_of(profile: HardwareProfile, box: str) -> Link | None:
    return next((b.link for b in profile.boxes if b.endpoint == box), None)


def forward_network_cost(profile: HardwareProfile, placement: Placement, *, n_embd: int, n_vocab: int,
                         n_tokens: int, n_outputs: int, n_kv: int, flash_attn: bool) -> NetworkCost:
    """Network cost of one forward pass of ``n_tokens`` tokens attending over ``n_kv`` cells."""
    devices = placement.devices
    cpu = placement.cpu
    # the hidden state's path: the head (embeddings), each layer's device in order, the output layer
    chain = [cpu]
    for dev in [*placement.layer_device, placement.output_device]:
        if dev != chain[-1]:
            chain.append(dev)
    hidden = F32 * n_embd * n_tokens
    logits = F32 * n_vocab * max(1, n_outputs)
    kv_cells = -(-max(1, n_kv) // KV_PAD) * KV_PAD
    inputs = (F16 if flash_attn else F32) * kv_cells * n_tokens + F32 * n_tokens  # mask + positions
    sent = received = seconds = rtt = 0.0
    visits = 0
    for i, dev in enumerate(chain):
        device = devices[dev]
        if not device.is_rpc:
            continue
        link = _link_of(profile, device.box)
        if link is None:
            continue
        prev = devices[chain[i - 1]]
        is_last = i == len(chain) - 1
        out = logits if (is_last and dev == placement.output_device) else hidden
        same_box_before = prev.is_rpc and prev.box == device.box
        incoming = inputs + (0 if same_box_before else hidden)
        visit_rtt = link.rtt_us * 1e-6 * (2 if same_box_before else 1)  # COPY_TENSOR on the server: one more
        following = devices[chain[i + 1]] if not is_last else None
        outgoing = 0 if (following is not None and following.is_rpc and following.box == device.box) else out
        seconds += visit_rtt + (incoming + outgoing) / link.bytes_per_s
        rtt += visit_rtt
        sent += incoming
        received += outgoing
        visits += 1
    return NetworkCost(n_tokens, visits, sent, received, seconds, rtt)


def with_network(speed: SpeedEstimate, cost: NetworkCost) -> SpeedEstimate:
    """``speed`` with the network's seconds per token added (decode: one token per pass)."""
    if cost.seconds <= 0 or speed.tokens_per_s <= 0:
        return speed
    seconds = speed.seconds_per_token + cost.seconds
    return replace(speed, seconds_per_token=seconds, tokens_per_s=1.0 / seconds)


def with_prompt_network(prompt: PromptEstimate, per_ubatch: NetworkCost) -> PromptEstimate:
    """``prompt`` with one network pass per micro-batch added (``ceil(n_tokens / n_ubatch)`` of them)."""
    if per_ubatch.seconds <= 0 or prompt.tokens_per_s <= 0 or prompt.n_tokens <= 0:
        return prompt
    batches = -(-prompt.n_tokens // max(1, per_ubatch.n_tokens))
    extra = batches * per_ubatch.seconds
    compute_s = prompt.n_tokens / prompt.tokens_per_s
    return replace(prompt, tokens_per_s=prompt.n_tokens / (compute_s + extra), ttft_s=prompt.ttft_s + extra)
