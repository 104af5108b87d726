"""Site-wide endpoints that belong to no app: the health check."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatsite.ollama import OllamaClient, OllamaError


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """App status and whether Ollama answers; 200 while the site itself works."""
    client = OllamaClient()
    ollama: dict[str, object] = {"host": client.host}
    try:
        async with client:
            ollama["version"] = await client.version()
        ollama["reachable"] = True
    except OllamaError as error:
        ollama["reachable"] = False
        ollama["error"] = str(error)
    return JsonResponse({"status": "ok", "ollama": ollama})
