"""Site-wide endpoints that belong to no app: the health check and /favicon.ico."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatsite.accounts.access import is_site_admin
from chatsite.health import ollama_health


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the site itself works, and whether any Ollama server answers. Which servers,
    their versions and their errors are for site admins and holders of HEALTHZ_TOKEN only."""
    servers = await ollama_health.servers()
    ollama: dict[str, object] = {"reachable": any(server.reachable for server in servers)}
    if _holds_token(request) or is_site_admin(await request.auser()):
        ollama["servers"] = [server.as_json() for server in servers]
    return JsonResponse({"status": "ok", "ollama": ollama})


def _holds_token(request: HttpRequest) -> bool:
    expected = settings.HEALTHZ_TOKEN
    if not expected:
        return False
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    offered = credentials.strip() if scheme.lower() == "bearer" else request.GET.get("token", "")
    return hmac.compare_digest(offered.encode(), expected.encode())


@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Pages name their icon (base.html); this answers browsers that ask /favicon.ico anyway
    (a JSON or text response has no <link rel=icon>)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
