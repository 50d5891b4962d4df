"""Threads for an engine that streams into the live UI: one core is left to the UI on a small box."""

from __future__ import annotations

from tui.core.engine.params import FEW_CORES, default_thread_count, interactive_thread_count


def test_a_small_box_leaves_one_core_to_the_ui_and_a_big_one_uses_them_all():
    assert interactive_thread_count(1) == 1
    assert interactive_thread_count(2) == 1
    assert interactive_thread_count(FEW_CORES) == FEW_CORES - 1
    assert interactive_thread_count(FEW_CORES + 1) == FEW_CORES + 1
    assert interactive_thread_count(16) == 16


def test_by_default_it_follows_the_cores_this_process_may_use():
    assert interactive_thread_count() == interactive_thread_count(default_thread_count())
