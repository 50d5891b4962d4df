"""Threads for an engine that streams into the live UI: one core is left to the UI on a small box,
for a model fast enough that the UI's interruptions cost more than the core."""

from __future__ import annotations

from tui.core.engine.params import (
    FAST_DECODE_TOKENS_PER_S,
    FEW_CORES,
    default_thread_count,
    interactive_thread_count,
)

FAST = FAST_DECODE_TOKENS_PER_S * 10
SLOW = FAST_DECODE_TOKENS_PER_S / 10


def test_a_small_box_leaves_one_core_to_the_ui_for_a_fast_model_only():
    assert interactive_thread_count(1, FAST) == 1
    assert interactive_thread_count(2, FAST) == 1
    assert interactive_thread_count(FEW_CORES, FAST) == FEW_CORES - 1
    assert interactive_thread_count(FEW_CORES + 1, FAST) == FEW_CORES + 1
    assert interactive_thread_count(16, FAST) == 16
    # a model that takes tens of ms a token needs every core more than the UI does
    assert interactive_thread_count(2, SLOW) == 2
    assert interactive_thread_count(2, None) == 2  # no estimate: llama.cpp's default


def test_by_default_it_follows_the_cores_this_process_may_use():
    assert interactive_thread_count(est_tokens_per_s=FAST) == interactive_thread_count(default_thread_count(), FAST)
