"""Site-wide endpoints that belong to no app: the health check."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatsite.ollama import OllamaClient, OllamaError, configured_hosts


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """App status and whether each Ollama server answers; 200 while the site itself works."""
    servers = await asyncio.gather(*(_server_health(host) for host in configured_hosts()))
    reachable = any(server["reachable"] for server in servers)
    return JsonResponse({"status": "ok", "ollama": {"reachable": reachable, "servers": servers}})


async def _server_health(host: str) -> dict[str, object]:
    try:
        async with OllamaClient(host) as client:
            return {"host": host, "reachable": True, "version": await client.version()}
    except OllamaError as error:
        return {"host": host, "reachable": False, "error": str(error)}
