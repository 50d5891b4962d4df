"""GGUF anatomy: the header reader, split files, ggml types, hyperparameters,
the per-layer anatomy, Hub file names and quant labels.
"""
