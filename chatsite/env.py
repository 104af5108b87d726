"""Typed readers for environment variables: a malformed value stops the start with its name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = env_str(name, "", environ).lower()
    if name not in (os.environ if environ is None else environ):
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def env_float(
    name: str,
    default: float,
    environ: Mapping[str, str] | None = None,
    *,
    minimum: float = 0.0,
) -> float:
    raw = env_str(name, "", environ)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def env_int(
    name: str,
    default: int,
    environ: Mapping[str, str] | None = None,
    *,
    minimum: int = 0,
) -> int:
    raw = env_str(name, "", environ)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    raw = env_str(name, "", environ)
    if not raw:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_ollama_host(raw: str, name: str = "OLLAMA_HOST") -> str:
    """Read OLLAMA_HOST the way Ollama's own CLI does (envconfig.Host), but fail on a bad port.

    Accepted: "" (127.0.0.1:11434), "host", "host:port", "0.0.0.0:11434", "[::1]:11434",
    "http://host", "https://host:8443/prefix". Without a scheme the port defaults to 11434;
    with http:// or https:// it defaults to 80 or 443, as in Ollama.
    """
    text = raw.strip()
    default_port = "11434"
    if "://" in text:
        scheme, hostport = text.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ImproperlyConfigured(f"{name} must use http:// or https://, not {raw!r}")
        default_port = "80" if scheme == "http" else "443"
    else:
        scheme, hostport = "http", text
    hostport, _, path = hostport.partition("/")
    host, port = _split_host_port(hostport)
    if not host:
        host = "127.0.0.1"
    if port is None:
        port = default_port
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise ImproperlyConfigured(f"{name} has an invalid port {port!r} in {raw!r}")
    if any(char.isspace() for char in host) or any(char in host for char in "@?#"):
        raise ImproperlyConfigured(f"{name} has an invalid host {host!r} in {raw!r}")
    if ":" in host:
        host = f"[{host}]"
    base = f"{scheme}://{host}:{port}"
    path = path.strip("/")
    return f"{base}/{path}" if path else base


def _split_host_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        inside, _, rest = hostport[1:].partition("]")
        return inside, rest[1:] if rest.startswith(":") else None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port
    # Zero colons is a bare host; more than one is an unbracketed IPv6 address.
    return hostport, None


def redis_channel_prefix(url: str) -> str:
    """The channel layer's name prefix for a REDIS_URL: Redis pub/sub channels are shared by every
    database of a server, so the database number becomes part of every channel name."""
    parts = urlsplit(url)
    database = parts.path.strip("/") or dict(parse_qsl(parts.query)).get("db", "0")
    if parts.scheme == "unix":
        database = dict(parse_qsl(parts.query)).get("db", "0")
    return f"chatsite.db{database}."
