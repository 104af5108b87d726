"""The coalescing window: the configured one while the process keeps up, wider while behind."""

from __future__ import annotations

from conversations.chat.coalescing import WIDEST_WINDOW, LoopLag


def test_a_process_that_keeps_up_uses_the_configured_window():
    lag = LoopLag()
    for _ in range(10):
        lag.note(0.0005)
    assert 0.025 <= lag.window(0.025) < 0.03


def test_a_process_that_wakes_late_widens_every_window_up_to_a_bound():
    lag = LoopLag()
    lag.note(0.050)
    widened = lag.window(0.025)
    assert widened > 0.025
    for _ in range(50):
        lag.note(2.0)
    assert lag.window(0.025) == WIDEST_WINDOW


def test_the_window_narrows_again_once_the_process_has_caught_up():
    lag = LoopLag()
    for _ in range(20):
        lag.note(0.200)
    for _ in range(40):
        lag.note(0.0)
    assert lag.window(0.025) < 0.026


def test_an_early_wake_up_never_narrows_the_window_below_the_configured_one():
    lag = LoopLag()
    lag.note(-0.010)
    assert lag.window(0.025) == 0.025
