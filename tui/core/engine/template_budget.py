"""A time, size and stop budget for rendering a model's chat template (Jinja from the GGUF).

Jinja's sandbox stops attribute escapes, not loops or big strings: a template that loops
10^10 times hangs the app, one that builds a 100 MB string 30 times takes GBs and then
llama.cpp's tokenizer aborts the process. The render therefore runs under:

* a deadline and a stop event, checked from a trace function on the rendering thread
  (Jinja compiles templates to Python: every loop iteration runs traced lines), so a stuck
  render ends with ``TemplateBudgetError`` and Escape stops it;
* a size limit on what ``*``, ``**`` and ``+`` build (the sandbox's intercepted operators)
  and on the rendered prompt;
* a cap on memory growth during the render, read from ``/proc/self/statm`` every few
  thousand traced lines, for what the operators cannot see (``~`` concatenation).

Real templates render in a millisecond or two, tracing included.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from tui.core.engine.errors import ChatTemplateError

#: Seconds a render may take (``LOCALAI_TUI_TEMPLATE_TIMEOUT_S`` overrides: tests use less).
RENDER_TIMEOUT_S = 10.0
#: Characters (or list items) any one value built by the template, and the prompt, may have.
MAX_TEXT_CHARS = 4 * 1024 * 1024
#: Resident memory a render may add before it is stopped.
MAX_RSS_GROWTH_BYTES = 256 * 1024 * 1024
_CHECK_EVERY = 64  # traced events between clock checks
_RSS_EVERY = 8  # clock checks between memory checks


class TemplateBudgetError(ChatTemplateError):
    """The chat template ran too long, built too much text, or was stopped."""


class TemplateStopped(TemplateBudgetError):
    """The person stopped the reply while its template was rendering."""


def render_timeout_s() -> float:
    try:
        value = float(os.environ.get("LOCALAI_TUI_TEMPLATE_TIMEOUT_S", ""))
    except ValueError:
        return RENDER_TIMEOUT_S
    return value if math.isfinite(value) and value > 0 else RENDER_TIMEOUT_S


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _too_big(what: str) -> TemplateBudgetError:
    return TemplateBudgetError(f"the model's chat template built {what} larger than {MAX_TEXT_CHARS:,} characters; "
                               "stopped", hint="the template in this GGUF is broken or hostile")


def limit_operators(environment: Any) -> None:
    """Make the sandbox call ``call_binop`` for ``*``, ``**`` and ``+`` and refuse results past the size limit.

    Takes effect for templates compiled after this call.
    """
    base = type(environment).call_binop

    def call_binop(context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 1024:
            raise _too_big("a number")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_TEXT_CHARS:
                    raise _too_big("a string")
        result = base(environment, context, operator, left, right)
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_TEXT_CHARS:
            raise _too_big("a string")
        return result

    environment.intercepted_binops = frozenset({"*", "**", "+"})
    environment.call_binop = call_binop
    environment.concat = _limited_join(environment.concat)  # the rendered output, before it is joined


def limit_concatenation(template: Any) -> None:
    """Size-check ``~`` in a compiled template: Jinja compiles it to calls of ``str_join`` / ``markup_join``,
    names looked up in the template module's globals (shared by its blocks and macros)."""
    render = getattr(template, "root_render_func", None)
    namespace = getattr(render, "__globals__", None)
    if not isinstance(namespace, dict):
        return
    for name in ("str_join", "markup_join"):
        if callable(namespace.get(name)):
            namespace[name] = _limited_join(namespace[name])


def _limited_join(join: Any) -> Any:
    def checked(seq: Any) -> Any:
        items = list(seq)
        if sum(len(item) for item in items if isinstance(item, str)) > MAX_TEXT_CHARS:
            raise _too_big("a string")
        return join(items)

    return checked


@contextlib.contextmanager
def render_budget(stop: threading.Event | None = None, timeout_s: float | None = None) -> Iterator[None]:
    """Run the block (a render) on this thread under the deadline, the stop event and the memory cap."""
    limit = timeout_s if timeout_s is not None else render_timeout_s()
    deadline = time.monotonic() + limit
    rss_start = _rss_bytes()
    state = {"events": 0, "checks": 0}

    def check() -> None:
        if stop is not None and stop.is_set():
            raise TemplateStopped("stopped while the chat template was rendering")
        if time.monotonic() > deadline:
            raise TemplateBudgetError(f"the model's chat template took longer than {limit:g} s to render; stopped",
                                      hint="the template in this GGUF loops too long; use another file")
        state["checks"] += 1
        if rss_start is not None and state["checks"] % _RSS_EVERY == 0:
            now = _rss_bytes()
            if now is not None and now - rss_start > MAX_RSS_GROWTH_BYTES:
                raise TemplateBudgetError("the model's chat template used more than "
                                          f"{MAX_RSS_GROWTH_BYTES // (1024 * 1024)} MiB while rendering; stopped",
                                          hint="the template in this GGUF is broken or hostile")

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        state["events"] += 1
        if state["events"] % _CHECK_EVERY == 0:
            check()
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)
