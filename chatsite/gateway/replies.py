"""The gateway's own answers, in the shape each endpoint family's clients expect: Ollama's
{"error": "..."} under /ollama/, the OpenAI layer's {"error": {"message", "type", ...}} under
/v1/."""

from __future__ import annotations

import json
from typing import Any

from asgiref.typing import ASGISendCallable

NATIVE = "ollama"
OPENAI = "openai"

JSON = b"application/json; charset=utf-8"

# Where each family's endpoints are served.
FAMILY_PREFIXES = {"/ollama/": NATIVE, "/v1/": OPENAI}


def family_of(path: str) -> str | None:
    """The endpoint family a path belongs to; None for the site's own pages."""
    return next((f for prefix, f in FAMILY_PREFIXES.items() if path.startswith(prefix)), None)


_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", None),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error_body(family: str, status: int, message: str) -> dict[str, Any]:
    if family == NATIVE:
        return {"error": message}
    kind, code = _OPENAI_TYPES.get(status, ("api_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


async def send_json(
    send: ASGISendCallable,
    status: int,
    body: Any,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", JSON), *(headers or [])],
            "trailers": False,
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


async def send_error(
    send: ASGISendCallable,
    family: str,
    status: int,
    message: str,
    *,
    retry_after: int | None = None,
) -> None:
    headers = []
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="chatsite"'))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send_json(send, status, error_body(family, status, message), headers)


async def send_text(send: ASGISendCallable, status: int, text: bytes) -> None:
    """Ollama's router answers unknown paths and methods in plain text."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain")],
            "trailers": False,
        }
    )
    await send({"type": "http.response.body", "body": text, "more_body": False})
