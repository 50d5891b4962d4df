"""The in-process engine: llama.cpp through llama-cpp-python's ctypes bindings, no UI.

Modules, one job each:

- ``params``       LlamaSettings -> llama_model_params / llama_context_params (incl. tensor overrides)
- ``ggml_backend`` ggml devices and buffer types (what ``-ot ...=CPU`` points at)
- ``llama_log``    llama.cpp's log to a file and listeners, never the terminal
- ``loader``       load a GGUF / create a context, with progress, cancel and clear errors
- ``model``        handles on a loaded model (vocabulary, metadata) and a context
- ``runtime``      ``Engine``: model + context + what the KV cache holds
- ``template``     chat templates from the GGUF, plain-completion fallback
- ``sampling``     sampling settings and llama.cpp's sampler chain
- ``generate``     the token loop: stream, stop within one token, measure
- ``chat``         ``ChatSession``: history, trimming, streaming from a worker thread
- ``metrics``      per-reply measurements and llama.cpp's perf counters
- ``memory``       process RSS and NVML VRAM
- ``bench``        llama-bench style pp/tg throughput
- ``model_file``   MODEL argument -> a local GGUF path

Importing this package imports nothing: import the module that holds what you need
(``from tui.core.engine.runtime import Engine``); llama_cpp loads only when a model is loaded,
so ``localai-tui --help`` stays fast.
"""
