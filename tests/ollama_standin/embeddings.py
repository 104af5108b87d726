"""/api/embed and the older /api/embeddings: deterministic vectors per text (the same text always
gives the same vector), Ollama's validation and errors, and the token count it reports."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from typing import Any

from .connection import Exchange, Request
from .endpoints import register
from .names import parse_name
from .registry import Model
from .scripts import split_tokens
from .wire import go_decode_error

DIMENSIONS = 16


def vector(text: str, *, normalised: bool = True) -> list[float]:
    """A fixed vector for `text`: L2-normalised (/api/embed) or raw (/api/embeddings)."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(byte - 127.5) / 127.5 for byte in digest[:DIMENSIONS]]
    if not normalised:
        return raw
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def token_count(texts: list[str]) -> int:
    return sum(len(split_tokens(text)) for text in texts)


async def decode_body(ex: Exchange, request: Request) -> dict[str, Any] | None:
    """The body as Ollama decodes it, or None after answering its 400."""
    if not request.body.strip():
        await ex.reply_error(400, "missing request body")
        return None
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        await ex.reply_error(400, go_decode_error(request.body, exc))
        return None
    if body is None:
        return {}
    if not isinstance(body, dict):
        await ex.reply_error(400, "json: cannot unmarshal array into Go value of type api.Request")
        return None
    return body


class EmbedEndpoints:
    """OllamaStandin's embedding routes (a mixin)."""

    _cond: threading.Condition
    _models: dict[str, Model]

    def _embedding_model(self, name: str) -> Model | None:
        parsed = parse_name(name)
        if parsed is None:
            return None
        with self._cond:
            return self._models.get(parsed.key)

    async def _api_embed(self, ex: Exchange, request: Request) -> None:
        body = await decode_body(ex, request)
        if body is None:
            return
        started = time.monotonic_ns()
        name = body.get("model") or ""
        if not isinstance(name, str) or not name.strip():
            return await ex.reply_error(404, "model '' not found")
        text = body.get("input")
        if text is None or text == "":
            texts: list[str] = []
        elif isinstance(text, str):
            texts = [text]
        elif isinstance(text, list) and all(isinstance(item, str) for item in text):
            texts = list(text)
        else:
            return await ex.reply_error(400, "invalid input type")
        if self._embedding_model(name) is None:
            return await ex.reply_error(404, f'model "{name}" not found, try pulling it first')
        reply: dict[str, Any] = {"model": name, "embeddings": [vector(t) for t in texts]}
        elapsed = time.monotonic_ns() - started + 1_000_000
        reply["total_duration"] = elapsed
        reply["load_duration"] = 500_000
        if texts:
            reply["prompt_eval_count"] = token_count(texts)
        await ex.reply_json(200, reply)

    async def _api_embeddings(self, ex: Exchange, request: Request) -> None:
        body = await decode_body(ex, request)
        if body is None:
            return
        name = body.get("model") or ""
        if not isinstance(name, str) or not name.strip():
            return await ex.reply_error(400, "model is required")
        if self._embedding_model(name) is None:
            return await ex.reply_error(404, f'model "{name}" not found, try pulling it first')
        prompt = body.get("prompt") or ""
        embedding = vector(str(prompt), normalised=False) if prompt else []
        await ex.reply_json(200, {"embedding": embedding})


register("/api/embed", ("POST",), "_api_embed")
register("/api/embeddings", ("POST",), "_api_embeddings")
