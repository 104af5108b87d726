"""Ollama's routes and what each answers: version, tags, ps, show, chat, generate, pull, delete
(create and copy in workshop.py), with Ollama's validation and error messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from .connection import Exchange, Request
from .failures import UNKNOWN_MANIFEST
from .names import ModelName, parse_name
from .recording import Recording
from .registry import ModelRegistry
from .replies import Reply
from .scripts import ChatScript, PullScript, Scripting, split_tokens
from .versions import lists_capabilities
from .wire import (
    JSON_PLAIN,
    TEXT,
    go_decode_error,
    go_time,
    parse_keep_alive,
    parse_think,
    reply_object,
)
from .workshop import Workshop, modelfile_text

_ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET", "HEAD"),
    "/api/version": ("GET", "HEAD"),
    "/api/tags": ("GET", "HEAD"),
    "/api/ps": ("GET",),
    "/api/show": ("POST",),
    "/api/chat": ("POST",),
    "/api/generate": ("POST",),
    "/api/pull": ("POST",),
    "/api/delete": ("DELETE",),
    "/api/create": ("POST",),
    "/api/copy": ("POST",),
}
# Routes added by other modules of the stand-in (register()): path -> handler method name.
_HANDLERS: dict[str, str] = {}


def register(path: str, methods: tuple[str, ...], handler: str) -> None:
    """Add a route served by a mixin's method; it gets the raw Request (its own decoding)."""
    _ROUTES[path] = methods
    _HANDLERS[path] = handler


class Endpoints(ModelRegistry, Scripting, Recording, Workshop):
    """OllamaStandin's request handling (a mixin): one `_<name>` method per route, answering
    from the models, scripts and recording it inherits."""

    version: str

    async def _dispatch(self, ex: Exchange, request: Request) -> None:
        with self._cond:
            raw = self._raw.get(request.path)
            scripted = raw.pop(0) if raw else None
        if scripted is not None:
            status, body, content_type = scripted
            return await ex.reply(status, body, content_type)
        methods = _ROUTES.get(request.path)
        if methods is None:
            return await ex.reply(404, b"404 page not found", TEXT)
        if request.method not in methods:
            return await ex.reply(405, b"405 method not allowed", TEXT)
        if request.path in _HANDLERS:
            return await getattr(self, _HANDLERS[request.path])(ex, request)
        handler = getattr(self, "_" + (request.path.rpartition("/")[2] or "root"))
        if request.method not in ("POST", "DELETE"):
            return await handler(ex)
        # Ollama decodes every body as JSON, whatever the Content-Type says.
        if not request.body.strip():
            return await ex.reply_error(400, "missing request body")
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return await ex.reply_error(400, go_decode_error(request.body, exc))
        if body is None:
            body = {}  # `null` decodes to a zero struct
        if not isinstance(body, dict):
            kind = "array" if isinstance(body, list) else type(body).__name__
            return await ex.reply_error(
                400, f"json: cannot unmarshal {kind} into Go value of type api.Request"
            )
        return await handler(ex, body)

    # -- endpoints --------------------------------------------------------------------------

    async def _root(self, ex: Exchange) -> None:
        await ex.reply(200, b"Ollama is running", "text/plain; charset=utf-8")

    async def _version(self, ex: Exchange) -> None:
        await ex.reply_json(200, {"version": self.version})

    async def _tags(self, ex: Exchange) -> None:
        with self._cond:
            models = sorted(self._models.values(), key=lambda m: m.modified_at, reverse=True)
            entries = [
                {
                    "name": m.name,
                    "model": m.name,
                    "modified_at": go_time(m.modified_at, 417),
                    "size": m.size,
                    "digest": m.digest,
                    "details": m.details(),
                    "capabilities": list(m.capabilities),
                }
                for m in models
            ]
        if not lists_capabilities(self.version):
            for entry in entries:
                del entry["capabilities"]
        await ex.reply_json(200, {"models": entries})

    async def _ps(self, ex: Exchange) -> None:
        with self._cond:
            loaded = sorted(self._loaded.values(), key=lambda x: x.expires_at, reverse=True)
            entries = [
                {
                    "name": x.model.name,
                    "model": x.model.name,
                    "size": x.model.size,
                    "digest": x.model.digest,
                    "details": x.model.details(),
                    "expires_at": go_time(x.expires_at, 123),
                    "size_vram": x.size_vram,
                    "context_length": min(x.model.context_length, 4096),
                }
                for x in loaded
            ]
        await ex.reply_json(200, {"models": entries})

    async def _show(self, ex: Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            return await ex.reply_error(400, "model is required")
        parsed = parse_name(name)
        if parsed is None:
            return await ex.reply_error(400, "invalid model name")
        with self._cond:
            model = self._models.get(parsed.key)
        if model is None:
            return await ex.reply_error(404, f"model '{parsed.display}' not found")
        reply: dict[str, Any] = {}
        if model.license:
            reply["license"] = model.license
        reply["modelfile"] = modelfile_text(model)
        for key in ("parameters", "template", "system"):
            if getattr(model, key):
                reply[key] = getattr(model, key)
        reply["details"] = model.details()
        reply["model_info"] = {
            "general.architecture": model.family,
            "general.parameter_count": 3_212_749_888,
            "general.quantization_version": 2,
            f"{model.family}.context_length": model.context_length,
            f"{model.family}.embedding_length": 3072,
            f"{model.family}.block_count": 28,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": [],
        }
        reply["tensors"] = [{"name": "token_embd.weight", "type": "Q6_K", "shape": [3072, 128256]}]
        reply["capabilities"] = list(model.capabilities)
        reply["modified_at"] = go_time(model.modified_at, 417)
        await ex.reply_json(200, reply)

    async def _chat(self, ex: Exchange, body: dict[str, Any]) -> None:
        await self._complete(ex, body, chat=True)

    async def _generate(self, ex: Exchange, body: dict[str, Any]) -> None:
        await self._complete(ex, body, chat=False)

    async def _complete(self, ex: Exchange, body: dict[str, Any], *, chat: bool) -> None:
        """/api/chat and /api/generate: validation, load/unload, then the scripted reply."""
        name = body.get("model")
        if not isinstance(name, str) or not name.strip():
            if chat:
                return await ex.reply_error(400, "model is required")
            return await ex.reply_error(404, "model '' not found")
        parsed = parse_name(name)
        if parsed is None:
            return await ex.reply_error(400, "invalid model name")
        if chat:
            messages = body.get("messages") or []
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                return await ex.reply_error(
                    400,
                    "json: cannot unmarshal value into Go struct field ChatRequest.messages "
                    "of type []api.Message",
                )
            empty = not messages
            prompt_words = sum(len(split_tokens(str(m.get("content", "")))) for m in messages)
        else:
            prompt = body.get("prompt") or ""
            empty = not prompt
            prompt_words = len(split_tokens(str(prompt) + " " + str(body.get("system") or "")))
        think, error = parse_think(body.get("think"))
        if error is None:
            keep_alive, error = parse_keep_alive(body.get("keep_alive"))
        if error is not None:
            return await ex.reply_error(400, error)
        with self._cond:
            model = self._models.get(parsed.key)
        if model is None:
            return await ex.reply_error(404, f"model '{name}' not found")
        if empty:
            with self._cond:
                if keep_alive == 0:
                    self._loaded.pop(parsed.key, None)
                    self._cond.notify_all()
                else:
                    self._load(parsed.key, model, keep_alive)
            reason = "unload" if keep_alive == 0 else "load"
            return await ex.reply_json(200, reply_object(name, chat, "", "", done_reason=reason))
        if "completion" not in model.capabilities:
            verb = "chat" if chat else "generate"
            return await ex.reply_error(400, f'"{name}" does not support {verb}')
        if chat:
            self._apply_model_system(ex.record, model, messages)
        can_think = "thinking" in model.capabilities
        if think not in (None, False) and not can_think:
            return await ex.reply_error(400, f'"{name}" does not support thinking')
        scripts = self._chat_scripts if chat else self._generate_scripts
        with self._cond:
            script = scripts.take(parsed.key)
            self._load(parsed.key, model, keep_alive)
        if script is None:
            default = "Hello from the stand-in." if chat else "A short title"
            script = ChatScript(tokens=tuple(split_tokens(default)))
        await Reply(
            ex,
            script,
            name=name,
            chat=chat,
            thinking_on=can_think and think is not False,
            stream=body.get("stream") is not False,
            prompt_tokens=max(1, prompt_words),
        ).run()
        if keep_alive == 0:
            with self._cond:
                self._loaded.pop(parsed.key, None)
                self._cond.notify_all()

    async def _pull(self, ex: Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        parsed = parse_name(name) if isinstance(name, str) and name.strip() else None
        if parsed is None:
            return await ex.reply_error(400, "invalid model name")
        with self._cond:
            script = self._pull_scripts.take(parsed.key) or PullScript()
        stream = body.get("stream") is not False
        last: dict[str, Any] = {}
        for step, line in enumerate(self._pull_lines(parsed, script)):
            if step:
                await ex.pause(script.step_delay)
            if step and script.hang_after_steps == step - 1:
                await ex.hang()
            if "error" in line:
                if stream:
                    await ex.send_line(line)
                    return await ex.end_stream()
                return await ex.reply_error(500, line["error"], JSON_PLAIN)
            if line["status"] == "writing manifest":
                self.add_model(parsed.display, size=sum(script.layers))
            if stream:
                await ex.send_line(line)
            last = line
        if stream:
            await ex.end_stream()
        else:
            await ex.reply_json(200, last)

    def _pull_lines(self, name: ModelName, script: PullScript) -> Iterator[dict[str, Any]]:
        yield {"status": "pulling manifest"}
        if script.unknown:
            yield {"error": UNKNOWN_MANIFEST}
            return
        steps: list[dict[str, Any]] = []
        for index, total in enumerate(script.layers):
            digest = hashlib.sha256(f"{name.key}:{index}".encode()).hexdigest()
            for step in range(script.steps_per_layer):
                done = (
                    total
                    if script.steps_per_layer == 1
                    else total * step // (script.steps_per_layer - 1)
                )
                line = {"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}"}
                line["total"] = total
                if done:  # `completed` is omitempty, so 0 is left out
                    line["completed"] = done
                steps.append(line)
        steps += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}]
        steps.append({"status": "success"})
        for number, line in enumerate(steps):
            if script.fail_after_steps == number:
                yield {"error": script.fail_message}
                return
            yield line

    async def _delete(self, ex: Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            return await ex.reply_error(400, "model is required")
        parsed = parse_name(name)
        if parsed is None:
            return await ex.reply_error(400, f'name "{name}" is invalid')
        with self._cond:
            removed = self._models.pop(parsed.key, None)
            self._loaded.pop(parsed.key, None)
            self._cond.notify_all()
        if removed is None:
            return await ex.reply_error(404, f"model '{name}' not found")
        await ex.reply(200, b"", None)
