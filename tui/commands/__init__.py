"""Command-line subcommands: one module each, with ``register(subparsers)``.

Each module keeps heavy imports (llama_cpp, huggingface_hub, textual) inside its
``run`` function so that ``localai-tui --help`` stays instant.
"""
