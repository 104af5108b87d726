"""The one exception hierarchy for talking to Ollama: each error carries the HTTP status (when an
answer came), Ollama's own message, and a sentence a chat user can read.
"""

from __future__ import annotations

import contextlib
import json


class OllamaError(Exception):
    """Anything that went wrong talking to Ollama. str(error) is a sentence a chat user can read;
    `message` is Ollama's own error text (or a plain description), `status` the HTTP status (None
    when no HTTP answer came) and `host` the base URL tried."""

    def __init__(
        self, message: str, *, host: str, status: int | None = None, sentence: str | None = None
    ) -> None:
        self.message = message
        self.host = host
        self.status = status
        super().__init__(sentence or self._sentence())

    def _sentence(self) -> str:
        return f"Talking to Ollama at {self.host} failed: {self.message}"


class OllamaUnreachable(OllamaError):
    def _sentence(self) -> str:
        return f"Ollama is not reachable at {self.host}"


class OllamaTimeout(OllamaError):
    def _sentence(self) -> str:
        return f"Ollama at {self.host} took too long: {self.message}"


class ModelNotFound(OllamaError):
    def __init__(self, message: str, *, host: str, model: str, status: int | None = 404) -> None:
        self.model = model
        super().__init__(message, host=host, status=status)

    def _sentence(self) -> str:
        return f"Model '{self.model}' is not installed on Ollama at {self.host}"


class OllamaResponseError(OllamaError):
    def _sentence(self) -> str:
        return f"Ollama at {self.host} answered {self.status}: {self.message}"


class OllamaStreamError(OllamaError):
    def _sentence(self) -> str:
        return f"Ollama at {self.host} failed mid-reply: {self.message}"


def status_error(
    *, host: str, status: int, body: bytes, reason: str, model: str | None
) -> OllamaError:
    """The error an unsuccessful HTTP answer stands for, with Ollama's message when it sent one."""
    message = None
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        reply = json.loads(body)
        if isinstance(reply, dict) and reply.get("error"):
            message = str(reply["error"])
    if message is not None and status == 404 and model is not None:
        return ModelNotFound(message, host=host, model=model, status=status)
    if message is None:
        # Not Ollama's {"error": ...}: a router page ("404 page not found"), a proxy, ...
        text = body.decode("utf-8", "replace").strip()
        message = text[:200] if text else (reason or "no reason given")
    return OllamaResponseError(message, host=host, status=status)
