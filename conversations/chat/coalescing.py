"""How long a streaming reply gathers tokens into one frame: the configured window while the
process keeps up, wider while it is behind, so each frame carries more tokens and the delay stays
bounded instead of frames queueing up behind each other."""

from __future__ import annotations

import asyncio

from chatsite.per_loop import PerLoop

# A frame per reply at most every `base` seconds when the process keeps up; at most `widest`.
WIDEST_WINDOW = 0.25
# How much of each new measurement the lag estimate takes (an exponential moving average).
SMOOTHING = 0.2


class LoopLag:
    """How late this event loop wakes sleepers, smoothed: every streaming reply measures it as
    it waits out its window, and every reply of the process widens its window by it."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def note(self, late: float) -> None:
        self.seconds += SMOOTHING * (max(0.0, late) - self.seconds)

    def window(self, base: float) -> float:
        return min(WIDEST_WINDOW, max(base, base + 2 * self.seconds))

    async def wait_window(self, base: float) -> None:
        """Sleep for this moment's window, noting how late the wake-up came."""
        loop = asyncio.get_running_loop()
        window = self.window(base)
        began = loop.time()
        await asyncio.sleep(window)
        self.note(loop.time() - began - window)


_lags = PerLoop(LoopLag)


def loop_lag() -> LoopLag:
    return _lags.get()
