"""What the stand-in saw: every request and how it ended, tokens sent, and waiting for a condition
on them (from a thread or from async code).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Self


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    started_at: float
    finished: bool = False  # the server wrote the whole response
    client_disconnected: bool = False  # the client went away before the server finished
    ended: bool = False  # the server is done with this request, whatever the outcome
    status: int | None = None
    tokens: int = 0  # chat/generate tokens written for this request
    applied_system: str = ""  # the model's own SYSTEM, put first by the server (workshop.py)


class Recording:
    """OllamaStandin's recording and waiting methods (a mixin); every change notifies its
    condition."""

    _cond: threading.Condition
    _requests: list[RecordedRequest]
    _tokens_sent: int

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return [replace(r, headers=dict(r.headers)) for r in self._requests]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def tokens_sent(self) -> int:
        with self._cond:
            return self._tokens_sent

    def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(predicate, timeout))
                self._cond.wait(remaining)

    async def await_for(
        self,
        predicate: Callable[[Self], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors wait_for(); the deadline is ours
    ) -> None:
        # Polling keeps the caller's event loop free; the server lives in another thread.
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(predicate, timeout))
            await asyncio.sleep(0.005)

    def _timeout_report(self, predicate: Callable[..., bool], timeout: float) -> str:
        try:
            source = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            source = repr(predicate)
        seen = "\n".join(
            f"  {r.method} {r.path} status={r.status} tokens={r.tokens} finished={r.finished} "
            f"disconnected={r.client_disconnected} ended={r.ended}"
            for r in self.requests
        )
        return (
            f"stand-in condition not met within {timeout}s: {source}\n"
            f"tokens sent: {self.tokens_sent()}; requests:\n{seen or '  (none)'}"
        )

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _update(self, record: RecordedRequest, **changes: Any) -> None:
        with self._cond:
            for name, value in changes.items():
                setattr(record, name, value)
            self._cond.notify_all()

    def _count_tokens(self, record: RecordedRequest, count: int = 1) -> None:
        with self._cond:
            record.tokens += count
            self._tokens_sent += count
            self._cond.notify_all()
