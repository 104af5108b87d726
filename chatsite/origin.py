"""The websocket origin check: a socket may be opened only by the site's own pages (the same scheme,
host and port as the request it arrives on) or by an origin in CSRF_TRUSTED_ORIGINS, the same
rule Django's CSRF check applies to forms. A request without an Origin is refused: browsers
always send one, and this site's sockets are only for its pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": "80", "https": "443"}

Origin = tuple[str, str, str]  # scheme, host, port: what makes two origins the same


class SameOriginValidator:
    """ASGI middleware for websockets: pass same-origin (or trusted) sockets, deny the rest."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator only checks websocket connections")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        # The scope is Channels' websocket scope, read here as a plain dict.
        return await WebsocketDenier()(scope, receive, send)  # type: ignore[arg-type]


def origin_allowed(scope: dict[str, Any]) -> bool:
    origins = _header_values(scope, b"origin")
    if len(origins) != 1:
        return False
    origin = origins[0]
    if _trusted(origin):
        return True
    parsed = _parse_origin(origin)
    return parsed is not None and parsed == site_origin(scope)


def site_origin(scope: dict[str, Any]) -> Origin | None:
    """The site's origin as this request presents it, the way Django's get_host() and
    is_secure() would see it; None for a host outside ALLOWED_HOSTS."""
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = _header_values(scope, _meta_to_header(name))
        if forwarded:
            scheme = "https" if forwarded[0].split(",", 1)[0].strip() == secure_value else "http"
    host = _raw_host(scope)
    if host is None:
        return None
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    return scheme, domain, port or DEFAULT_PORTS[scheme]


def _trusted(origin: str) -> bool:
    """In CSRF_TRUSTED_ORIGINS, exactly or as a subdomain of a "*." entry (as Django matches)."""
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in trusted:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        parsed.scheme == pattern.scheme and is_same_domain(parsed.netloc, pattern.netloc[1:])
        for pattern in (urlsplit(entry) for entry in trusted if "*" in entry)
    )


def _parse_origin(origin: str) -> Origin | None:
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return None
    if parsed.scheme not in DEFAULT_PORTS or parsed.path or parsed.query or parsed.fragment:
        return None
    domain, port = split_domain_port(parsed.netloc)
    if not domain:
        return None
    return parsed.scheme, domain, port or DEFAULT_PORTS[parsed.scheme]


def _raw_host(scope: dict[str, Any]) -> str | None:
    if settings.USE_X_FORWARDED_HOST:
        forwarded = _header_values(scope, b"x-forwarded-host")
        if forwarded:
            return forwarded[0]
    hosts = _header_values(scope, b"host")
    return hosts[0] if len(hosts) == 1 else None


def _allowed_hosts() -> list[str]:
    # Django's own fallback for an empty ALLOWED_HOSTS while debugging.
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def _header_values(scope: dict[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin1") for key, value in scope.get("headers", []) if key == name]


def _meta_to_header(meta_name: str) -> bytes:
    """ "HTTP_X_FORWARDED_PROTO" (a request.META key) -> b"x-forwarded-proto"."""
    return meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
