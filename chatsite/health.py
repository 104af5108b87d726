"""Whether each Ollama server answers, as /healthz reports it: asked at most once per few seconds
per process, however often the health check is hit, and concurrent callers share one check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from chatsite.ollama import OllamaClient, OllamaError, configured_hosts

# A monitor polling every second, or a crowd hitting /healthz, costs Ollama one /api/version per
# server per this many seconds.
FRESH_SECONDS = 5.0


@dataclass(frozen=True)
class ServerHealth:
    host: str
    reachable: bool
    version: str = ""
    error: str = ""

    def as_json(self) -> dict[str, object]:
        detail: dict[str, object] = {"host": self.host, "reachable": self.reachable}
        if self.reachable:
            detail["version"] = self.version
        else:
            detail["error"] = self.error
        return detail


class OllamaHealth:
    """The last answer of every configured server, kept for `fresh_seconds`.

    The pending check is a task of its own, shielded, so a caller that goes away (a monitor that
    hangs up) does not cancel it for the others waiting on it.
    """

    def __init__(
        self,
        fresh_seconds: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fresh_seconds = fresh_seconds
        self.clock = clock
        self._answers: dict[tuple[str, ...], tuple[float, list[ServerHealth]]] = {}
        self._pending: dict[tuple[str, ...], asyncio.Task[list[ServerHealth]]] = {}

    async def servers(self) -> list[ServerHealth]:
        hosts = tuple(configured_hosts())
        answered = self._answers.get(hosts)
        if answered is not None and self.clock() < answered[0]:
            return answered[1]
        loop = asyncio.get_running_loop()
        pending = self._pending.get(hosts)
        # A task belongs to its event loop; tests run each request on a loop of its own.
        if pending is None or pending.get_loop() is not loop:
            pending = loop.create_task(self._check(hosts))
            self._pending[hosts] = pending
        return await asyncio.shield(pending)

    def forget(self) -> None:
        """Drop what is known, so the next caller asks again (tests start from nothing)."""
        self._answers.clear()
        self._pending.clear()

    async def _check(self, hosts: tuple[str, ...]) -> list[ServerHealth]:
        try:
            servers = list(await asyncio.gather(*(_server_health(host) for host in hosts)))
            self._answers[hosts] = (self.clock() + self.fresh_seconds, servers)
            return servers
        finally:
            if self._pending.get(hosts) is asyncio.current_task():
                del self._pending[hosts]


async def _server_health(host: str) -> ServerHealth:
    try:
        async with OllamaClient(host) as client:
            return ServerHealth(host, reachable=True, version=await client.version())
    except OllamaError as error:
        return ServerHealth(host, reachable=False, error=str(error))


ollama_health = OllamaHealth()
