"""What each Ollama server has right now (version, installed models, models in memory), fetched
from every server at once for the page and per server for its live refreshes; failures become
plain sentences, never exceptions, so a server that is down never hides the others."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.utils import timezone

from chatsite.ollama import (
    InstalledModel,
    OllamaClient,
    OllamaError,
    RunningModel,
    configured_hosts,
    normalise_model_name,
)

_T = TypeVar("_T")

# A negative keep_alive makes Ollama report an expiry about 292 years away.
_FOREVER = timedelta(days=365 * 100)


@dataclass(frozen=True)
class LoadedModel:
    model: RunningModel
    stays_loaded: bool  # keep_alive was negative: no unload time

    @property
    def gpu_percent(self) -> int:
        if self.model.size <= 0:
            return 0
        return min(100, round(self.model.size_vram * 100 / self.model.size))

    @property
    def unloads_at(self) -> datetime | None:
        return None if self.stays_loaded else self.model.expires_at


@dataclass(frozen=True)
class Inventory:
    host: str
    version: str = ""
    error: str = ""  # set when Ollama could not be reached at all
    installed: list[InstalledModel] = field(default_factory=list)
    installed_error: str = ""
    loaded: list[LoadedModel] = field(default_factory=list)
    loaded_error: str = ""

    @property
    def reachable(self) -> bool:
        return not self.error

    @property
    def slug(self) -> str:
        return host_slug(self.host)

    def installed_model(self, name: str) -> InstalledModel | None:
        wanted = normalise_model_name(name)
        return next((m for m in self.installed if normalise_model_name(m.name) == wanted), None)


def host_slug(host: str) -> str:
    """A short id for a server, the same on every page and in every frame, so each server's
    elements have ids of their own (an address has characters ids and selectors dislike)."""
    return hashlib.sha256(host.encode()).hexdigest()[:10]


async def fetch_inventories() -> list[Inventory]:
    """Every configured server at once, in the configured order: the page waits for the
    slowest server at most its own timeouts, and a server that is down is one more answer."""
    return list(await asyncio.gather(*(fetch_inventory(host) for host in configured_hosts())))


async def fetch_inventory(
    host: str, client_factory: Callable[[str], OllamaClient] = OllamaClient
) -> Inventory:
    """One server's inventory; its three questions are asked together, so a slow server costs
    one timeout, not three."""
    try:
        async with client_factory(host) as ollama:
            now = timezone.now()
            (
                (version, error),
                (installed, installed_error),
                (running, loaded_error),
            ) = await asyncio.gather(
                _answer(ollama.version(), ""),
                _answer(ollama.list_models(), []),
                _answer(ollama.running_models(), []),
            )
    except OllamaError as failure:  # an address httpx cannot even open a pool for
        return Inventory(host=host, error=str(failure))
    if error:
        return Inventory(host=host, error=error)
    loaded = [
        LoadedModel(m, stays_loaded=bool(m.expires_at and m.expires_at - now > _FOREVER))
        for m in running
    ]
    return Inventory(
        host=host,
        version=version,
        installed=installed,
        installed_error=installed_error,
        loaded=loaded,
        loaded_error=loaded_error,
    )


async def _answer(question: Awaitable[_T], fallback: _T) -> tuple[_T, str]:
    try:
        return await question, ""
    except OllamaError as error:
        return fallback, str(error)
