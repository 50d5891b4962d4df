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


def format_gib_pair(used: int, capacity: int, margin: int = 0) -> tuple[str, str]:
    """``used`` and ``capacity`` in GiB with as many decimals (1 to 3) as it takes for the figures
    shown to tell the same story as the bytes: whether ``used`` fits, and whether it leaves
    ``margin`` free (21.3 / 22.3 would read as 1.0 GiB free when 0.98 is: ``21.32 / 22.30``)."""
    for decimals in (1, 2, 3):
        shown_used = round(used / GiB, decimals)
        shown_cap = round(capacity / GiB, decimals)
        agrees = (shown_used <= shown_cap) == (used <= capacity)
        if margin:
            gap = round(shown_cap - shown_used, decimals)
            agrees = agrees and (gap >= round(margin / GiB, decimals)) == (used + margin <= capacity)
        if agrees or decimals == 3:
            if decimals == 1:
                return format_gib(used), format_gib(capacity)
            return f"{used / GiB:.{decimals}f}", f"{capacity / GiB:.{decimals}f}"
    raise AssertionError("unreachable")


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


def format_rate_compact(tokens_per_s: float | None) -> str:
    """Tokens per second in at most 4 characters, every digit kept: ``26k``, ``2596``, ``45.6``, ``4.56``."""
    if tokens_per_s is None or tokens_per_s <= 0:
        return "-"
    if tokens_per_s >= 9999.5:
        return f"{tokens_per_s / 1000:.0f}k"
    if tokens_per_s >= 99.95:
        return f"{tokens_per_s:.0f}"
    if tokens_per_s >= 9.995:
        return f"{tokens_per_s:.1f}"
    return f"{tokens_per_s:.2f}"


def ellipsize_middle(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut in the middle so both ends stay. For ``owner/name`` the owner
    stays whole while it takes at most half the room, and the name keeps more of its tail, where
    repos differ (``mradermacher/Qwe…ruct-i1-GGUF`` vs ``Qwen/Qwen2.5-0…ruct-GGUF``)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    owner, slash, name = text.partition("/")
    if slash and len(owner) + 1 <= width // 2:
        return f"{owner}/{ellipsize_middle(name, width - len(owner) - 1)}"
    head = (width - 1) // 3
    tail = width - 1 - head
    return f"{text[:head]}…{text[len(text) - tail:]}"


def format_count(n: int | None, *, precise: bool = False) -> str:
    """A large count as people say it: ``1.2M``, ``34.5k``, ``812``; None reads ``-``.

    ``precise``: llama.cpp's form for parameter counts (``8.03 B``, ``494.0 M``, ``292.8 K``), for the
    command line.
    """
    if n is None:
        return "-"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K" if precise else "k")):
        if n >= scale:
            if not precise:
                return f"{n / scale:.1f}{suffix}"
            return f"{n / scale:.{2 if suffix == 'B' else 1}f} {suffix}"
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
