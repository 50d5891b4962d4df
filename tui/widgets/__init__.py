"""Reusable widgets: slider, memory bar, tokens/s meter, header."""
