"""Which models a user can chat with right now: the models of every configured Ollama server."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from chatsite.ollama import (
    InstalledModel,
    OllamaClient,
    OllamaError,
    configured_hosts,
    normalise_model_name,
)


@dataclass(frozen=True)
class ModelChoice:
    name: str
    parameter_size: str
    family: str
    size: int
    # Empty when the server reports none (old Ollama): such a model is assumed to chat.
    capabilities: frozenset[str]
    hosts: tuple[str, ...]
    # The model's own context length when the server reports it (newer Ollama, in /api/tags).
    context_length: int | None = None

    @property
    def thinking(self) -> bool:
        return "thinking" in self.capabilities

    @property
    def can_chat(self) -> bool:
        """Embedding-only models (no `completion` capability) are never offered for chat."""
        return not self.capabilities or "completion" in self.capabilities

    @property
    def vision(self) -> bool:
        return "vision" in self.capabilities

    @property
    def facts(self) -> str:
        """What the picker shows beside the name: family, parameters, size on disk."""
        size = filesizeformat(self.size) if self.size else ""
        return " · ".join(fact for fact in (self.family, self.parameter_size, size) if fact)


@dataclass(frozen=True)
class HostStatus:
    host: str
    error: str = ""


@dataclass(frozen=True)
class ModelCatalog:
    servers: tuple[HostStatus, ...]
    models: tuple[ModelChoice, ...]

    @property
    def reachable(self) -> bool:
        """At least one server answered; the others are listed in `down`."""
        return any(not server.error for server in self.servers)

    @property
    def down(self) -> list[HostStatus]:
        return [server for server in self.servers if server.error]

    @property
    def host(self) -> str:
        return ", ".join(server.host for server in self.servers)

    @property
    def chat_models(self) -> tuple[ModelChoice, ...]:
        return tuple(m for m in self.models if m.can_chat)

    def find(self, name: str) -> ModelChoice | None:
        wanted = normalise_model_name(name)
        return next((m for m in self.models if normalise_model_name(m.name) == wanted), None)

    def server_for(self, choice: ModelChoice | None) -> str:
        """A server that has the model, chosen at random to spread load over servers."""
        if choice and choice.hosts:
            return random.choice(choice.hosts)
        return self.servers[0].host


# Pages and sends share one catalog (OLLAMA_MODELS_CACHE_SECONDS old at most before a refresh is
# started), so a busy site asks each server for its models about that often, not once per page.
# Keyed by the servers, so a changed configuration is never served. A refresh is shared: callers
# arriving while one is in flight wait for it instead of starting their own. Once a catalog is
# known, an expired one is still answered at once while the refresh runs in the background
# (stale-while-revalidate): the model list never sits on the send path.
_recent: dict[tuple[str, ...], tuple[float, ModelCatalog]] = {}
_loading: dict[tuple[asyncio.AbstractEventLoop, tuple[str, ...]], asyncio.Task[ModelCatalog]] = {}
# /api/show's answer does not change for a given model digest, so it is asked once per digest:
# a refresh is one /api/tags per server (plus /api/show for a model never seen before, and only
# on servers whose /api/tags lists no capabilities). Keyed by (host, digest).
_shown: dict[tuple[str, str], tuple[str, ...]] = {}
# Bumped by forget_catalog(): a refresh started before it must not be remembered after it.
_epoch = 0


async def load_catalog(max_age: float | None = None) -> ModelCatalog:
    """Every server's models, asked at once; a server that is down is reported and the others
    still count. A catalog loaded `max_age` seconds ago or less (by default the configured
    OLLAMA_MODELS_CACHE_SECONDS) is reused; an older one is answered too while a shared refresh
    runs in the background. `max_age=0`, or nothing known yet, waits for the servers' answer."""
    if max_age is None:
        max_age = settings.OLLAMA_MODELS_CACHE_SECONDS
    hosts = tuple(configured_hosts())
    loaded_at, catalog = _recent.get(hosts, (0.0, None))
    if catalog is not None and time.monotonic() - loaded_at <= max_age:
        return catalog
    refresh = _refresh(hosts)
    if catalog is not None and max_age > 0:
        return catalog
    # Shielded: a caller that gives up (its client left) does not cancel the others' refresh.
    return await asyncio.shield(refresh)


async def load_catalog_for(model: str) -> ModelCatalog:
    """The catalog a send naming `model` is checked against: the remembered one, unless that is
    expired and lacks the model (pulled a moment ago, maybe through another process); then the
    servers are asked before the send is refused."""
    catalog = await load_catalog()
    if catalog.find(model) is not None or not catalog.reachable:
        return catalog
    loaded_at, remembered = _recent.get(tuple(configured_hosts()), (0.0, None))
    if remembered is catalog and time.monotonic() - loaded_at <= _max_age():
        return catalog
    return await load_catalog(max_age=0)


def forget_catalog() -> None:
    """Drop the remembered catalog: the next page or send asks the servers again."""
    global _epoch
    _epoch += 1
    _recent.clear()


def _max_age() -> float:
    return float(settings.OLLAMA_MODELS_CACHE_SECONDS)


def _refresh(hosts: tuple[str, ...]) -> asyncio.Task[ModelCatalog]:
    """The refresh in flight on this event loop, or a new one (an httpx client belongs to one
    loop, so a refresh is shared within a loop only)."""
    key = (asyncio.get_running_loop(), hosts)
    task = _loading.get(key)
    if task is None:
        epoch = _epoch
        task = asyncio.ensure_future(_load(hosts))
        _loading[key] = task
        task.add_done_callback(lambda done: _remember(key, done, epoch))
    return task


def _remember(
    key: tuple[asyncio.AbstractEventLoop, tuple[str, ...]],
    done: asyncio.Task[ModelCatalog],
    epoch: int,
) -> None:
    _loading.pop(key, None)
    # Reading the exception marks it retrieved: a background refresh nobody awaits logs nothing.
    if not done.cancelled() and done.exception() is None and epoch == _epoch:
        _recent[key[1]] = (time.monotonic(), done.result())


async def _load(hosts: tuple[str, ...]) -> ModelCatalog:
    answers = await asyncio.gather(*(_server_models(host) for host in hosts))
    merged: dict[str, ModelChoice] = {}
    for status, models in answers:
        for model, capabilities in models:
            key = normalise_model_name(model.name)
            known = merged.get(key)
            hosts = (*known.hosts, status.host) if known else (status.host,)
            merged[key] = ModelChoice(
                name=known.name if known else model.name,
                parameter_size=model.details.parameter_size,
                family=model.details.family,
                size=model.size,
                capabilities=frozenset(capabilities) | (known.capabilities if known else set()),
                hosts=hosts,
                context_length=model.details.context_length,
            )
    return ModelCatalog(
        servers=tuple(status for status, _ in answers), models=tuple(merged.values())
    )


async def _server_models(
    host: str,
) -> tuple[HostStatus, list[tuple[InstalledModel, tuple[str, ...]]]]:
    try:
        async with OllamaClient(host) as client:
            installed = await client.list_models()
            capabilities = await asyncio.gather(*(_capabilities(client, m) for m in installed))
    except OllamaError as error:
        return HostStatus(host, str(error)), []
    # Digests no longer installed on this server are dropped, so the cache stays its size.
    listed = {(host, m.digest) for m in installed}
    for stale in [key for key in _shown if key[0] == host and key not in listed]:
        del _shown[stale]
    return HostStatus(host), list(zip(installed, capabilities, strict=True))


async def _capabilities(client: OllamaClient, model: InstalledModel) -> tuple[str, ...]:
    # Newer servers list capabilities in /api/tags; older ones only in /api/show.
    if model.capabilities:
        return model.capabilities
    key = (client.host, model.digest)
    if model.digest and key in _shown:
        return _shown[key]
    try:
        capabilities = (await client.show(model.name)).capabilities
    except OllamaError:
        return ()  # not remembered: asked again on the next refresh
    if model.digest:
        _shown[key] = capabilities
    return capabilities
