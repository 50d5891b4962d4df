"""Domain logic: GGUF anatomy, quant labels, fit arithmetic, hardware, hub, engine.

Nothing in this package imports Textual (a test checks it), so every answer the
app shows can be computed, tested and scripted without a terminal.
"""
