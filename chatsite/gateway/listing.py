"""The list endpoints over every configured server: installed models (/api/tags, /v1/models),
loaded ones (/api/ps) and the version, each filtered by the model access rule of the caller."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from chatsite.ollama import OllamaError, configured_hosts, fetch


class NoServer(Exception):
    """No configured server answered."""


async def _answers(path: str) -> list[tuple[str, Any]]:
    """The JSON each server answered to GET `path` (servers that fail are left out)."""

    async def one(host: str) -> tuple[str, Any] | None:
        try:
            status, body = await fetch(host, "GET", path)
        except OllamaError:
            return None
        if status != 200:
            return None
        try:
            return host, json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None

    answers = await asyncio.gather(*(one(host) for host in configured_hosts()))
    found = [answer for answer in answers if answer is not None]
    if not found:
        raise NoServer
    return found


async def merged(path: str, key: str, allowed: Callable[[str], bool]) -> dict[str, Any]:
    """{"models": [...]} (or the OpenAI list) of every server, one entry per name."""
    entries: dict[str, dict[str, Any]] = {}
    name_field = "id" if key == "data" else "name"
    for _, reply in await _answers(path):
        listed = reply.get(key) if isinstance(reply, dict) else None
        for entry in listed or []:
            name = entry.get(name_field) if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in entries and allowed(name):
                entries[name] = entry
    if key == "data":
        return {"object": "list", "data": list(entries.values())}
    return {"models": list(entries.values())}


async def version() -> Any:
    """The version of the first server that answers (one site usually runs one release)."""
    return (await _answers("/api/version"))[0][1]
