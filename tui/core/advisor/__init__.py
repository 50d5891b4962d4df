"""The Advisor: "which model for my box?" and "which box for my model?", from the fit engine.

Modules, one job each:

* ``placement``: the best way to run one model on one box (llama.cpp ``--fit``'s preferences);
* ``recommend``: rank Hub GGUF repos by the best quant label that fits and reaches a speed;
* ``compare``: one model side by side over several boxes (catalog cards, CPU-only, Apple);
* ``sweep``: tokens/s and memory as the context grows, on one box;
* ``model_card`` and ``data``: task tags and license kinds from the model card, the Hub's tags
  and ``tui/data/advisor.toml``.

Everything here is plain Python over ``tui.core`` (no UI import): the CLI commands
``recommend`` and ``compare`` and the TUI's Advisor screen only present it.
"""
