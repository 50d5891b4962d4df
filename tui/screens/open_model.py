"""Reading a model spec in a worker: the one way Fit, Chat and Browse open what a person names.

The spec (a local path, ``OWNER/REPO:LABEL``, ``OWNER/REPO/PATH.gguf``) is resolved by the core
through ``Services.choose_model_spec`` in a thread (it reads a GGUF header, maybe over HTTP);
the answer comes back to ``screen`` as ``ModelOpened``, which each screen shows its own way.
"""

from __future__ import annotations

from textual.worker import Worker

from tui.messages import ModelOpened, deliver
from tui.screens.base import AppScreen


def open_model_spec(screen: AppScreen, spec: str) -> Worker[None]:
    """Start reading ``spec``; a newer spec opened on the same screen replaces this one."""
    services = screen.app.services

    def read() -> None:
        deliver(screen, ModelOpened, lambda: services.choose_model_spec(spec))

    return screen.run_worker(read, thread=True, exclusive=True, exit_on_error=False, group="open-model",
                             name=f"open {spec}")
