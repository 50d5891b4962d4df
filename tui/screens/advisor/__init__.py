"""The Advisor (F7): which model for my box, which box for my model, and the context sweep.

Three tabs over ``tui.core.advisor`` (reached through ``tui.advisor_services``), one pane widget each:

* **Which model** (``recommend_pane``): Hub GGUF repos ranked for the current profile at the
  current context (the Fit screen's), with their best label, tokens/s, faster runner-ups, tasks
  and license flags. Enter opens the best label on the Fit screen. ``/`` searches, ``m`` changes
  the slowest acceptable speed.
* **Which box** (``compare_pane``): the chosen model on the current profile and the catalog picks,
  each with its best placement, memory and tokens/s. The highlighted box is the one the sweep shows.
* **Context sweep** (``sweep_pane``): tokens/s and memory from 512 tokens to the model's trained context.

``screen`` holds them together; ``cells`` words the core's answers.
"""

from tui.screens.advisor.screen import AdvisorScreen

__all__ = ["AdvisorScreen"]
