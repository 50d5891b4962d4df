"""Binary size units, defined once: sizes are bytes everywhere, and these turn them into what people read.

llama.cpp prints memory in MiB (``llama_memory_breakdown_print``) and vendors quote VRAM in GiB,
so both are powers of 1024. Bandwidths are different: GB/s, 10**9 bytes per second.
"""

from __future__ import annotations

from typing import Final

KiB: Final = 1024
MiB: Final = 1024**2
GiB: Final = 1024**3
