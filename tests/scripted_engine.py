"""A scripted engine for chat tests that need a behaviour the tiny real model does not have (a
reasoning model's thinking, a context that fills in three turns).

Only the token source is scripted: ``ScriptedChatSession`` replaces ``ChatSession._generate`` (the
llama.cpp token loop) with a preset sequence of (text, is_marker) tokens fed through the real
``ReplyChannels``; templating, trimming, the context policy, saving and the screen are the app's own.
The "tokenizer" gives one token per character, so context use is easy to reason about.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.engine_models import TEST_CHAT_TEMPLATE
from tui.core.engine.chat import ChatSession
from tui.core.engine.generate import Generation
from tui.core.engine.metrics import FINISH_CANCELLED, FINISH_CONTEXT_FULL, FINISH_STOP, ReplyStats
from tui.core.engine.reply_channels import ReplyChannels
from tui.core.engine.runtime import EngineInfo
from tui.core.fit.settings import LlamaSettings
from tui.services import Services

#: Qwen3-style: thinking between <think> markers, then the answer, then the end-of-turn marker.
THINKING_SCRIPT = (
    [("<think>", True)] + [(w, False) for w in ("Two", " plus", " two", " is", " four", ".")] + [("</think>", True)]
    + [(w, False) for w in ("\n\n", "The", " answer", " is", " **4**", ".")] + [("<|im_end|>", True)]
)


class ScriptedModel:
    chat_template = TEST_CHAT_TEMPLATE
    bos_token = 1
    eos_token = 2
    path = Path("scripted.gguf")

    def token_text(self, token: int) -> str:
        return {1: "<s>", 2: "</s>"}.get(token, "")

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> list[int]:
        return ([1] if add_special else []) + [ord(ch) for ch in text]


@dataclass
class ScriptedEngine:
    n_ctx: int = 4096
    model: ScriptedModel = field(default_factory=ScriptedModel)
    kv_tokens: list[int] = field(default_factory=list)
    settings: LlamaSettings = field(default_factory=LlamaSettings)
    load_seconds: float = 0.01
    closed: bool = False

    def info(self) -> EngineInfo:
        return EngineInfo(path="scripted.gguf", architecture="scripted", description="scripted", n_params=0,
                          size_bytes=0, n_layer=1, n_ctx_train=self.n_ctx, n_ctx=self.n_ctx, n_batch=512, n_ubatch=512,
                          n_threads=1, flash_attn=None, n_overridden_tensors=0, has_chat_template=True,
                          load_seconds=self.load_seconds, log_file=None)

    def close(self) -> None:
        self.closed = True


class ScriptedChatSession(ChatSession):
    """A ChatSession whose tokens come from ``script`` (one list of (text, is_marker) per reply, cycled)."""

    script: list[tuple[str, bool]] = THINKING_SCRIPT
    #: Set to hold every reply after its first token until released (a reply "in flight").
    gate: threading.Event | None = None

    def _generate(self, tokens: list[int], stop: threading.Event | None, channels: ReplyChannels,
                  t_request: float) -> Generation:
        engine = self.engine
        engine.kv_tokens = list(tokens)
        self.live.reset()
        finish = FINISH_STOP
        sampled: list[int] = []
        t_first = time.perf_counter()
        for index, (text, marker) in enumerate(self.script):
            if stop is not None and stop.is_set():
                finish = FINISH_CANCELLED
                break
            if len(engine.kv_tokens) >= engine.n_ctx:
                finish = FINISH_CONTEXT_FULL
                break
            now = time.perf_counter()
            self.live.mark(now)
            channels.token(text, marker, now)
            sampled.append(index)
            engine.kv_tokens.append(index)
            if index == 0 and self.gate is not None:
                self.gate.wait(30)
        t_last = time.perf_counter()
        stats = ReplyStats(n_prompt_tokens=len(tokens), n_cached_tokens=0, prompt_seconds=0.001,
                           ttft_s=t_first - t_request, n_gen_tokens=len(sampled), n_decoded_tokens=len(sampled) - 1,
                           decode_seconds=max(t_last - t_first, 1e-6), stream_seconds=max(t_last - t_first, 1e-6),
                           total_seconds=t_last - t_request, finish_reason=finish, n_ctx=engine.n_ctx,
                           n_ctx_used=len(engine.kv_tokens), n_thinking_tokens=channels.n_thinking_tokens,
                           thinking_seconds=channels.thinking_seconds)
        return Generation(text=channels.answer, tokens=tuple(sampled), stats=stats, thinking=channels.thinking)


@dataclass
class ScriptedServices(Services):
    """FixedServices with a scripted engine of ``n_ctx`` tokens."""

    n_ctx: int = 4096

    def detect_profile(self):
        from tests.tui_fixtures import FIXED_BOX

        return FIXED_BOX

    def load_selected_profile(self):
        return self.detect_profile()

    def load_engine(self, path, settings, *, on_progress=None, cancel=None):
        return ScriptedEngine(n_ctx=self.n_ctx)

    def chat_session(self, engine, system_prompt, sampling):
        if sampling is None:
            return ScriptedChatSession(engine, system_prompt=system_prompt)
        return ScriptedChatSession(engine, system_prompt=system_prompt, sampling=sampling)

    def memory_use(self):
        from tui.core.engine.memory import memory_use

        return memory_use()
