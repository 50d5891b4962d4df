"""localai-tui: will this model fit, will it run fast, and then run it."""

__version__ = "0.1.0"
