"""Finding 12: at 80 columns numbers are never cut and names keep what tells them apart."""

from __future__ import annotations

from tui.units import ellipsize_middle, format_rate_compact


def test_compact_rates_keep_every_digit_in_four_cells():
    assert format_rate_compact(25962) == "26k"
    assert format_rate_compact(2596.2) == "2596"
    assert format_rate_compact(45.64) == "45.6"
    assert format_rate_compact(4.561) == "4.56"
    assert format_rate_compact(None) == "-"
    assert all(len(format_rate_compact(v)) <= 4 for v in (0.01, 9.996, 99.96, 999.6, 9999.6, 123456))


def test_repo_names_keep_the_owner_and_the_distinct_tail():
    a = ellipsize_middle("Qwen/Qwen2.5-0.5B-Instruct-GGUF", 24)
    b = ellipsize_middle("mradermacher/Qwen2.5-0.5B-Instruct-i1-GGUF", 24)
    assert len(a) == len(b) == 24 and a != b
    assert a.startswith("Qwen/") and b.startswith("mraderm") and b.endswith("i1-GGUF")
    assert ellipsize_middle("short/name", 24) == "short/name"
