"""How the app writes sizes, rates, counts and contexts: one place, so every screen and command agrees.

Plain functions, no Textual: the command line (tui/commands) and the screens both use them. Where
the command line prints a figure people compare with llama.cpp's own output, ``precise=True``
gives llama.cpp's form (``4.58 GiB``, ``8.03 B``); screens use the short form.
"""

from __future__ import annotations

from tui.core.sizes import GiB, KiB, MiB


def format_gib(n_bytes: int | float) -> str:
    """Bytes as GiB with one decimal (``23.5``); tiny sizes keep two decimals so they do not read 0.0."""
    value = n_bytes / GiB
    if 0 < value < 0.1:
        return f"{value:.2f}"
    return f"{value:.1f}"


def format_size(n_bytes: int | float | None, *, precise: bool = False) -> str:
    """Bytes in the unit people expect: ``812 MiB``, ``4.37 GiB``, ``1.1 MiB`` (screens, narrow columns).

    ``precise``: llama.cpp's own form (``print_info``), two decimals from MiB up (``812.00 MiB``,
    ``1.13 MiB``, ``0.9 KiB``), for the command line, where the figures are compared with llama.cpp's.
    """
    if n_bytes is None:
        return "?"
    if precise:
        if n_bytes >= GiB:
            return f"{n_bytes / GiB:.2f} GiB"
        if n_bytes >= MiB:
            return f"{n_bytes / MiB:.2f} MiB"
        return f"{n_bytes / KiB:.1f} KiB"
    if n_bytes >= GiB:
        return f"{n_bytes / GiB:.2f} GiB"
    if n_bytes >= 10 * MiB:
        return f"{n_bytes / MiB:.0f} MiB"
    if n_bytes >= MiB:
        return f"{n_bytes / MiB:.1f} MiB"
    if n_bytes >= KiB:
        return f"{n_bytes / KiB:.0f} KiB"
    return f"{int(n_bytes)} B"


def format_rate(tokens_per_s: float | None) -> str:
    """Tokens per second: ``1234 t/s``, ``45.6 t/s``, ``0.82 t/s``; None reads ``-``."""
    if tokens_per_s is None:
        return "-"
    if tokens_per_s >= 100:
        return f"{tokens_per_s:.0f} t/s"
    if tokens_per_s >= 1:
        return f"{tokens_per_s:.1f} t/s"
    return f"{tokens_per_s:.2f} t/s"


def format_count(n: int | None, *, precise: bool = False) -> str:
    """A large count as people say it: ``1.2M``, ``34.5k``, ``812``; None reads ``-``.

    ``precise``: llama.cpp's form for parameter counts (``8.03 B``, ``494.0 M``, ``292.8 K``), for the
    command line.
    """
    if n is None:
        return "-"
    if precise:
        if n >= 1_000_000_000:
            return f"{n / 1e9:.2f} B"
        if n >= 1_000_000:
            return f"{n / 1e6:.1f} M"
        if n >= 1_000:
            return f"{n / 1e3:.1f} K"
        return str(n)
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f}B"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


def format_context(n_tokens: int, *, approximate: bool = False) -> str:
    """Context sizes the way llama.cpp users write them: ``512``, ``8k``, ``128k``, ``1M``.

    A size that is not a whole number of k stays exact (``5200``), or with ``approximate``
    reads ``5.1k`` (k = 1024 tokens; for tables where the column is narrow).
    """
    if n_tokens >= 1024 * 1024 and n_tokens % (1024 * 1024) == 0:
        return f"{n_tokens // (1024 * 1024)}M"
    if n_tokens >= 1024 and n_tokens % 1024 == 0:
        return f"{n_tokens // 1024}k"
    if approximate and n_tokens >= 1024:
        return f"{n_tokens / 1024:.1f}k"
    return str(n_tokens)


def format_duration(seconds: float | None) -> str:
    """``120 ms``, ``4.5 s``, ``45 s``, ``3 min 05 s``, ``1 h 02 min`` (ETAs, load times, time to first token)."""
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
