"""Turn a conversation into the prompt text a model expects.

Models carry their own chat template in the GGUF (``tokenizer.chat_template``, Jinja);
it is rendered with llama-cpp-python's ``Jinja2ChatFormatter`` (the same sandboxed
environment and Transformers-compatible filters). Models without one, such as the tiny
stories model, are plain text continuers: their "conversation" is one growing text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from tui.core.engine.errors import ChatTemplateError

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage

    from tui.core.engine.model import LoadedModel

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatMessage:
    role: str  # system | user | assistant
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown chat role '{self.role}'")


class PromptFormat(Protocol):
    """How messages become prompt text, and how that text must be tokenized."""

    name: str
    parse_special: bool  # template markers such as <|im_start|> are special tokens

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt, ending where the assistant's reply begins."""


class JinjaChatFormat:
    """The model's own Jinja chat template."""

    parse_special = True

    def __init__(self, template: str, *, bos_token: str, eos_token: str, name: str = "chat template (GGUF)") -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = name
        self.bos_token = bos_token
        try:
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token,
                                                  add_generation_prompt=True)
        except Exception as exc:  # jinja2.TemplateSyntaxError and friends
            raise ChatTemplateError(f"the model's chat template does not parse: {exc}") from None

    def render(self, messages: Sequence[ChatMessage]) -> str:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        try:
            return self._formatter(messages=_request_messages(payload)).prompt
        except Exception as first_error:
            # Some templates (Gemma 2, Mistral v1) refuse a system role: fold it into the first user turn.
            if payload and payload[0]["role"] == "system" and len(payload) > 1:
                folded = [dict(payload[1], content=f"{payload[0]['content']}\n\n{payload[1]['content']}")] + payload[2:]
                try:
                    return self._formatter(messages=_request_messages(folded)).prompt
                except Exception:
                    pass
            raise ChatTemplateError(f"the model's chat template failed: {first_error}") from None


def _request_messages(payload: list[dict[str, str]]) -> list[ChatCompletionRequestMessage]:
    """``{"role", "content"}`` dicts as llama-cpp-python's formatter types them (``ChatMessage`` checks the roles)."""
    return cast("list[ChatCompletionRequestMessage]", payload)


class PlainCompletionFormat:
    """No template: the prompt is the running text, and the model continues it.

    The system prompt opens the text; the model's reply continues the user's text
    directly; a following user turn starts on a new line.
    """

    name = "plain completion (the model has no chat template)"
    parse_special = False

    def render(self, messages: Sequence[ChatMessage]) -> str:
        parts: list[str] = []
        previous = None
        for message in messages:
            if message.role == "system":
                if message.content:
                    parts.append(message.content.rstrip() + "\n\n")
            elif message.role == "user":
                if previous == "assistant":
                    parts.append("\n")
                parts.append(message.content)
            else:
                parts.append(message.content)
            previous = message.role
        return "".join(parts)


def prompt_format_for(model: LoadedModel) -> PromptFormat:
    """The model's own template when its GGUF has one, plain completion otherwise."""
    template = model.chat_template
    if not template:
        return PlainCompletionFormat()
    return JinjaChatFormat(template, bos_token=model.token_text(model.bos_token), eos_token=model.token_text(model.eos_token))
