"""One object per event loop: futures, timers and connections belong to the loop that made them,
so a process-wide helper keeps one per loop, made on first use and dropped with its loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class PerLoop(Generic[_T]):
    def __init__(self, make: Callable[[], _T]) -> None:
        self._make = make
        self._made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> _T:
        """The running loop's object."""
        loop = asyncio.get_running_loop()
        found = self._made.get(loop)
        if found is None:
            found = self._made[loop] = self._make()
        return found

    def pop(self) -> _T | None:
        """Forget the running loop's object and return it, if it had one."""
        return self._made.pop(asyncio.get_running_loop(), None)
