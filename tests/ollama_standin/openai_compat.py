"""Ollama's OpenAI-compatible layer: /v1/chat/completions and /v1/completions (one JSON object, or
Server-Sent Events with the finish chunk, the optional usage chunk and `[DONE]`), /v1/embeddings
and /v1/models, in the shapes of Ollama's middleware/openai.go, answering from the same models and
the chat and generate scripts."""

from __future__ import annotations

import base64
import json
import random
import struct
import threading
import time
from typing import Any

from .connection import Exchange, Request
from .embeddings import token_count, vector
from .endpoints import register
from .names import parse_name
from .registry import Model
from .scripts import ChatScript, Scripts, split_tokens
from .wire import JSON_UTF8, go_decode_error, go_json

EVENT_STREAM = "text/event-stream"
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


async def send_event(ex: Exchange, data: bytes, *, token: bool = False) -> None:
    """One `data: ...` event as its own HTTP chunk; the headers go out with the first."""
    event = b"data: " + data + b"\n\n"
    chunk = b"%x\r\n%s\r\n" % (len(event), event)
    if not ex.headers_sent:
        headers = [("Content-Type", EVENT_STREAM), ("Transfer-Encoding", "chunked")]
        chunk = ex._head(200, headers) + chunk
    await ex._write(chunk)
    if token:
        ex.standin._count_tokens(ex.record)


class OpenAICompat:
    """OllamaStandin's /v1 routes (a mixin)."""

    _cond: threading.Condition
    _models: dict[str, Model]
    _chat_scripts: Scripts[ChatScript]
    _generate_scripts: Scripts[ChatScript]

    async def _v1_body(self, ex: Exchange, request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body) if request.body.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            message = go_decode_error(request.body, exc)
            await ex.reply_json(400, openai_error(400, message))
            return None
        if not isinstance(body, dict):
            await ex.reply_json(400, openai_error(400, "invalid request body"))
            return None
        return body

    def _v1_model(self, name: Any) -> Model | None:
        parsed = parse_name(name) if isinstance(name, str) and name.strip() else None
        if parsed is None:
            return None
        with self._cond:
            return self._models.get(parsed.key)

    async def _v1_chat_completions(self, ex: Exchange, request: Request) -> None:
        body = await self._v1_body(ex, request)
        if body is None:
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return await ex.reply_json(400, openai_error(400, "[] is too short - 'messages'"))
        prompt = max(1, sum(len(split_tokens(str(m.get("content", "")))) for m in messages))
        await self._v1_reply(ex, body, prompt, chat=True)

    async def _v1_completions(self, ex: Exchange, request: Request) -> None:
        """A text completion: Ollama turns it into a generate request (the generate scripts)."""
        body = await self._v1_body(ex, request)
        if body is None:
            return
        prompt = body.get("prompt", "")
        if not isinstance(prompt, str):
            kind = "array" if isinstance(prompt, list) else type(prompt).__name__
            message = (
                f"json: cannot unmarshal {kind} into Go struct field "
                "CompletionRequest.prompt of type string"
            )
            return await ex.reply_json(400, openai_error(400, message))
        await self._v1_reply(ex, body, max(1, len(split_tokens(prompt))), chat=False)

    async def _v1_reply(
        self, ex: Exchange, body: dict[str, Any], prompt: int, *, chat: bool
    ) -> None:
        name = body.get("model") or ""
        model = self._v1_model(name)
        if model is None:
            if not isinstance(name, str) or not name.strip():
                return await ex.reply_json(400, openai_error(400, "model is required"))
            return await ex.reply_json(404, openai_error(404, f"model '{name}' not found"))
        if "completion" not in model.capabilities:
            action = "chat" if chat else "generate"
            message = f'"{name}" does not support {action}'
            return await ex.reply_json(400, openai_error(400, message))
        scripts = self._chat_scripts if chat else self._generate_scripts
        with self._cond:
            script = scripts.take(parse_name(name).key)  # type: ignore[union-attr]
        if script is None:
            script = ChatScript(tokens=tuple(split_tokens("Hello from the stand-in.")))
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        completion = _Completion(ex, script, name, prompt, include_usage, chat=chat)
        await completion.run(body.get("stream") is True)

    async def _v1_embeddings(self, ex: Exchange, request: Request) -> None:
        body = await self._v1_body(ex, request)
        if body is None:
            return
        text = body.get("input")
        if isinstance(text, str):
            texts = [text]
        elif isinstance(text, list) and text and all(isinstance(t, str) for t in text):
            texts = list(text)
        else:
            return await ex.reply_json(400, openai_error(400, "invalid input"))
        name = body.get("model") or ""
        if self._v1_model(name) is None:
            message = f'model "{name}" not found, try pulling it first'
            return await ex.reply_json(404, openai_error(404, message))
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            message = f"invalid encoding_format {encoding!r}; must be 'float' or 'base64'"
            return await ex.reply_json(400, openai_error(400, message))
        data = []
        for index, item in enumerate(texts):
            values = vector(item)
            embedding: Any = values
            if encoding == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
            data.append({"object": "embedding", "embedding": embedding, "index": index})
        tokens = token_count(texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        await ex.reply_json(200, {"object": "list", "data": data, "model": name, "usage": usage})

    async def _v1_models(self, ex: Exchange, request: Request) -> None:
        with self._cond:
            models = sorted(self._models.values(), key=lambda m: m.modified_at, reverse=True)
            data = [
                {
                    "id": m.name,
                    "object": "model",
                    "created": int(m.modified_at.timestamp()),
                    "owned_by": m.name.rsplit("/", 1)[0] if "/" in m.name else "library",
                }
                for m in models
            ]
        # A nil slice in Go: `null` when nothing is installed.
        await ex.reply_json(200, {"object": "list", "data": data or None})


class _Completion:
    """A scripted chat (or generate) reply re-encoded as Ollama's OpenAI layer does: chat
    completions carry a message or a delta, text completions the text."""

    def __init__(
        self,
        ex: Exchange,
        script: ChatScript,
        name: str,
        prompt: int,
        include_usage: bool,
        *,
        chat: bool = True,
    ) -> None:
        self.ex = ex
        self.script = script
        self.name = name
        self.prompt = prompt
        self.include_usage = include_usage
        self.chat = chat
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{random.randint(0, 998)}"
        self.created = int(time.time())
        self.whole_kind = "chat.completion" if chat else "text_completion"
        self.chunk_kind = "chat.completion.chunk" if chat else "text_completion"

    def _choice(self, text: str | None, finish_reason: str | None, *, whole: bool) -> Any:
        if not self.chat:
            return {"text": text or "", "index": 0, "finish_reason": finish_reason}
        if whole:
            message = {"role": "assistant", "content": text}
            return {"index": 0, "message": message, "finish_reason": finish_reason}
        delta = {"role": "assistant", "content": text} if text is not None else {}
        return {"index": 0, "delta": delta, "finish_reason": finish_reason}

    def _object(self, kind: str, choices: list[Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.name,
            "system_fingerprint": "fp_ollama",
            "choices": choices,
            **extra,
        }

    def _usage(self) -> dict[str, int]:
        output = len(self.script.tokens)
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": output,
            "total_tokens": self.prompt + output,
        }

    async def run(self, stream: bool) -> None:
        ex, script, failure = self.ex, self.script, self.script.failure
        await ex.pause(script.first_token_delay)
        if failure is not None and failure.kind == "status":
            return await ex.reply_json(
                failure.status_code, openai_error(failure.status_code, failure.message)
            )
        if not stream:
            ex.standin._count_tokens(ex.record, len(script.tokens))
            choice = self._choice("".join(script.tokens), script.done_reason, whole=True)
            reply = self._object(self.whole_kind, [choice], usage=self._usage())
            return await ex.reply(200, go_json(reply), JSON_UTF8)
        for index, token in enumerate(script.tokens):
            if failure is not None and failure.after_tokens == index:
                if failure.kind == "hang":
                    await ex.hang()
                if failure.kind == "drop":
                    return await ex.drop()
            if index:
                await ex.pause(script.token_delay)
            choice = self._choice(token, None, whole=False)
            await send_event(ex, go_json(self._object(self.chunk_kind, [choice])), token=True)
        finish = self._choice(None, script.done_reason, whole=False)
        await send_event(ex, go_json(self._object(self.chunk_kind, [finish])))
        if self.include_usage:
            usage = self._object(self.chunk_kind, [], usage=self._usage())
            await send_event(ex, go_json(usage))
        await send_event(ex, b"[DONE]")
        await ex.end_stream()


register("/v1/chat/completions", ("POST",), "_v1_chat_completions")
register("/v1/completions", ("POST",), "_v1_completions")
register("/v1/embeddings", ("POST",), "_v1_embeddings")
register("/v1/models", ("GET",), "_v1_models")
