"""Sort a reply's tokens into thinking and answer, and keep the template's markers out of both.

A chat template speaks in marker tokens that are structure, not text: ``<|im_end|>``,
``<start_of_turn>``, Gemma's ``<start_of_image>``. llama.cpp's ``llama_token_to_piece`` with
``special=false`` hides CONTROL tokens but still prints USER_DEFINED ones (llama-vocab.cpp,
``token_to_piece``: only ``LLAMA_TOKEN_ATTR_CONTROL`` is skipped), which is how ``<start_of_image>``
reached a Gemma reply. So pieces are read with ``special=true`` and classified here: a CONTROL
token, or a USER_DEFINED one shaped like a marker (``<...>`` without spaces), is a marker.

Reasoning models mark their thinking with such markers:

- Qwen3, DeepSeek-R1 and kin: ``<think>`` ... ``</think>`` then the answer (some templates open
  ``<think>`` in the prompt, so the reply starts inside it: ``starts_thinking``);
- gpt-oss (the "harmony" format): ``<|channel|>analysis<|message|>`` ... ``<|end|>``
  ``<|start|>assistant<|channel|>final<|message|>`` then the answer.

Markers never reach either text; every token, marker or not, is counted (in thinking while the
model thinks), so the tokens/s figure counts every generated token.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: llama.cpp's ``llama_token_attr`` bits (include/llama.h).
TOKEN_ATTR_CONTROL = 1 << 3
TOKEN_ATTR_USER_DEFINED = 1 << 4

#: A user-defined token that is a template marker, not text: ``<start_of_image>``, ``<|tool|>``, ``</think>``.
_MARKER_SHAPE = re.compile(r"</?[|｜]?[^\s<>]{1,64}[|｜]?>")

THINK_OPEN = frozenset({"<think>", "<thinking>", "<|begin_of_thought|>"})
THINK_CLOSE = frozenset({"</think>", "</thinking>", "<|end_of_thought|>"})
#: gpt-oss channels whose text is reasoning rather than the answer.
THINKING_CHANNELS = ("analysis", "commentary")

_ANSWER, _THINKING, _HEADER, _CHANNEL_NAME = "answer", "thinking", "header", "channel"


def is_marker(attr: int, text: str) -> bool:
    """Whether a token with llama.cpp attributes ``attr`` and text ``text`` is template structure."""
    if attr & TOKEN_ATTR_CONTROL:
        return True
    return bool(attr & TOKEN_ATTR_USER_DEFINED) and _MARKER_SHAPE.fullmatch(text) is not None


def prompt_opens_thinking(prompt_text: str) -> bool:
    """The template put ``<think>`` at the end of the prompt: the reply starts inside the thinking."""
    tail = prompt_text.rstrip()
    return any(tail.endswith(marker) for marker in THINK_OPEN)


class ReplyChannels:
    """Feed every generated token (``token``); text goes to ``on_answer`` or ``on_thinking`` as it comes.

    Not thread-safe: the generating thread owns it. Times are ``time.perf_counter()`` seconds.
    """

    def __init__(self, on_answer: Callable[[str], object] | None = None,
                 on_thinking: Callable[[str], object] | None = None, *, starts_thinking: bool = False) -> None:
        self._on_answer = on_answer
        self._on_thinking = on_thinking
        self._mode = _THINKING if starts_thinking else _ANSWER
        self._channel: list[str] = []
        self.answer_parts: list[str] = []
        self.thinking_parts: list[str] = []
        self.n_thinking_tokens = 0
        self.n_answer_tokens = 0
        self._t_think_start: float | None = None
        self._t_think_end: float | None = None
        self._t_last = 0.0

    @property
    def answer(self) -> str:
        return "".join(self.answer_parts)

    @property
    def thinking(self) -> str:
        return "".join(self.thinking_parts)

    @property
    def thinking_now(self) -> bool:
        return self._mode == _THINKING

    @property
    def thinking_seconds(self) -> float:
        if self._t_think_start is None:
            return 0.0
        end = self._t_think_end if self._t_think_end is not None else self._t_last
        return max(0.0, end - self._t_think_start)

    def token(self, text: str, marker: bool, now: float) -> None:
        """One generated token: its text (maybe empty: half a UTF-8 character) and whether it is a marker."""
        self._t_last = now
        mode = self._mode
        if marker:
            self._marker(text.strip(), now)
            self._count(mode == _THINKING or self._mode == _THINKING, now)
            return
        self._count(mode == _THINKING, now)
        if not text:
            return
        if mode == _ANSWER:
            self.answer_parts.append(text)
            if self._on_answer is not None:
                self._on_answer(text)
        elif mode == _THINKING:
            self.thinking_parts.append(text)
            if self._on_thinking is not None:
                self._on_thinking(text)
        elif mode == _CHANNEL_NAME:
            self._channel.append(text)
        # _HEADER: the role after <|start|> is structure too

    def _count(self, thinking: bool, now: float) -> None:
        if thinking:
            self.n_thinking_tokens += 1
            if self._t_think_start is None:
                self._t_think_start = now
        else:
            self.n_answer_tokens += 1

    def _marker(self, marker: str, now: float) -> None:
        if marker in THINK_OPEN:
            self._enter_thinking(now)
        elif marker in THINK_CLOSE:
            self._leave_thinking(now)
        elif marker == "<|channel|>":
            self._mode, self._channel = _CHANNEL_NAME, []
        elif marker == "<|message|>":
            if self._mode == _CHANNEL_NAME and "".join(self._channel).strip().startswith(THINKING_CHANNELS):
                self._enter_thinking(now)
            else:
                if self._mode == _THINKING:
                    self._leave_thinking(now)
                self._mode = _ANSWER
        elif marker == "<|start|>":
            if self._mode == _THINKING:
                self._leave_thinking(now)
            self._mode = _HEADER
        elif marker == "<|end|>" and self._mode == _THINKING:
            self._leave_thinking(now)
            self._mode = _HEADER
        # any other marker (<start_of_image>, <|im_end|> ...) is dropped

    def _enter_thinking(self, now: float) -> None:
        self._mode = _THINKING
        if self._t_think_start is None:
            self._t_think_start = now
        self._t_think_end = None

    def _leave_thinking(self, now: float) -> None:
        if self._mode == _THINKING:
            self._t_think_end = now
        self._mode = _ANSWER
