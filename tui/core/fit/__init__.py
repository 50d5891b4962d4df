"""Will it fit? The estimate and what it is made of: placement, KV cache, compute
buffers (graph allocator), speed, auto-fit, backends, llama.cpp arguments, settings, and
``verdict`` (the one "will it run here?" vocabulary every layer shares).
"""
