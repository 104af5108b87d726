"""The API gateway: a plain ASGI app for /ollama/ (Ollama's own API) and /v1/ (Ollama's
OpenAI-compatible API), mounted in front of Django. It authenticates the key, applies the model
access rule and the per-user limits, routes to a server that has the model, relays the answer's
bytes as they arrive, and records the usage. Session cookies are never looked at."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, HTTPScope
from channels.db import database_sync_to_async
from django.conf import settings

from chatsite.gateway import admission, listing
from chatsite.gateway.admission import Caller, Refused
from chatsite.gateway.meter import Meter, NdjsonMeter, SseMeter
from chatsite.gateway.models import UsageRecord
from chatsite.gateway.replies import (
    FAMILY_PREFIXES,
    NATIVE,
    OPENAI,
    send_error,
    send_json,
    send_text,
)
from chatsite.ollama import OllamaError, OllamaTimeout, configured_hosts, upstream
from conversations.chat.catalog import forget_catalog, load_catalog
from conversations.chat.model_access import load_model_access

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

PREFIXES = tuple(FAMILY_PREFIXES)


def in_thread(function: Callable[..., _T]) -> Callable[..., Awaitable[_T]]:
    """The ORM from the gateway. On PostgreSQL in any worker thread, so a hundred requests
    arriving at once do not queue behind each other's database work. SQLite writes one
    transaction at a time anyway, and writers that collide wait in its busy handler's sleeps
    (up to 100 ms each), so there the work stays on the one thread sync_to_async shares."""
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    return database_sync_to_async(function, thread_sensitive=sqlite)


UPSTREAM_DOWN = "chatsite could not reach the Ollama server for this model. Try again later."
UPSTREAM_SLOW = "The Ollama server for this model did not answer in time. Try again later."
LOST_MID_REPLY = "chatsite lost the connection to the Ollama server mid-reply."


@dataclass(frozen=True)
class Route:
    family: str
    methods: tuple[str, ...]
    kind: str  # generate | embed | show | tags | ps | version | models | admin
    path: str  # on Ollama


_ROUTES = {
    "/ollama/api/chat": Route(NATIVE, ("POST",), "generate", "/api/chat"),
    "/ollama/api/generate": Route(NATIVE, ("POST",), "generate", "/api/generate"),
    "/ollama/api/embed": Route(NATIVE, ("POST",), "embed", "/api/embed"),
    "/ollama/api/embeddings": Route(NATIVE, ("POST",), "embed", "/api/embeddings"),
    "/ollama/api/show": Route(NATIVE, ("POST",), "show", "/api/show"),
    "/ollama/api/tags": Route(NATIVE, ("GET", "HEAD"), "tags", "/api/tags"),
    "/ollama/api/ps": Route(NATIVE, ("GET",), "ps", "/api/ps"),
    "/ollama/api/version": Route(NATIVE, ("GET", "HEAD"), "version", "/api/version"),
    "/ollama/api/pull": Route(NATIVE, ("POST",), "admin", "/api/pull"),
    "/ollama/api/delete": Route(NATIVE, ("DELETE",), "admin", "/api/delete"),
    "/ollama/api/create": Route(NATIVE, ("POST",), "admin", "/api/create"),
    "/ollama/api/copy": Route(NATIVE, ("POST",), "admin", "/api/copy"),
    "/v1/chat/completions": Route(OPENAI, ("POST",), "generate", "/v1/chat/completions"),
    "/v1/completions": Route(OPENAI, ("POST",), "generate", "/v1/completions"),
    "/v1/embeddings": Route(OPENAI, ("POST",), "embed", "/v1/embeddings"),
    "/v1/models": Route(OPENAI, ("GET",), "models", "/v1/models"),
}


class GatewayApp:
    """Serves /ollama/ and /v1/; every other HTTP request goes to `django`."""

    def __init__(self, django: Any) -> None:
        self.django = django

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIXES):
            await serve(scope, receive, send)
        else:
            await self.django(scope, receive, send)


def _route(path: str) -> Route | None:
    route = _ROUTES.get(path)
    if route is None and path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
        return Route(OPENAI, ("GET",), "show", path)
    return route


async def serve(scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    route = _route(scope["path"])
    if route is None:
        return await send_text(send, 404, b"404 page not found")
    if scope["method"] not in route.methods:
        return await send_text(send, 405, b"405 method not allowed")
    body = await _read_body(receive)
    if body is None:
        return  # the client left before sending its request
    authorization = _header(scope, b"authorization")
    request = _Request(route, scope, body, authorization)
    try:
        await request.run(receive, send)
    except Refused as refusal:
        await send_error(
            send, route.family, refusal.status, refusal.message, retry_after=refusal.retry_after
        )


async def _read_body(receive: ASGIReceiveCallable) -> bytes | None:
    parts: list[bytes] = []
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _header(scope: HTTPScope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class _Request:
    def __init__(self, route: Route, scope: HTTPScope, body: bytes, authorization: str | None):
        self.route = route
        self.scope = scope
        self.body = body
        self.authorization = authorization
        self.payload: dict[str, Any] = {}
        if body.strip():
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                parsed = json.loads(body)
                if isinstance(parsed, dict):
                    self.payload = parsed

    @property
    def model(self) -> str:
        if self.route.kind == "show" and self.route.family == OPENAI:
            return self.route.path.removeprefix("/v1/models/")
        if self.route.path == "/api/copy":
            name = self.payload.get("source")
        else:
            name = self.payload.get("model") or self.payload.get("name")
        return name if isinstance(name, str) else ""

    async def run(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        kind = self.route.kind
        if kind in ("tags", "ps", "models", "version"):
            lister = await in_thread(admission.authenticate)(self.authorization)
            return await self.listing(lister, send)
        model = self.model
        caller: Caller | None = None
        hosts = configured_hosts()
        if len(hosts) == 1 and kind not in ("embed", "show"):
            host, embedding_model = hosts[0], False  # one database trip, no catalog
        else:
            # The key first: a caller without one never makes chatsite ask the servers.
            caller = await in_thread(admission.authenticate)(self.authorization)
            host, embedding_model = await self.server_for(model, hosts)
        counted = kind in ("generate", "embed")
        endpoint = self.route.path.removeprefix("/api/") if counted else kind
        if kind == "generate" and caller is None:
            # Most generations are admitted on the loop, in the transaction the request to
            # Ollama is sent in; the rest in a thread.
            at_once = admission.AdmissionAtOnce.start(
                self.authorization, endpoint=endpoint, model=model, server=host
            )
            if at_once is not None:
                try:
                    return await _Relay(self, host, at_once=at_once).run(receive, send)
                except admission.Undecided:
                    record_id = await in_thread(at_once.admit)()
                    return await _Relay(self, host, record_id=record_id).run(receive, send)
        _, record_id = await in_thread(admission.admit)(
            self.authorization,
            caller=caller,
            endpoint=endpoint,
            model=model,
            server=host,
            admin_only=kind == "admin",
            counted=counted,
            embedding_model=embedding_model and kind in ("embed", "show"),
        )
        relay = _Relay(self, host, record_id=record_id)
        await relay.run(receive, send)
        if kind == "admin":
            forget_catalog()  # this process sees the pull, delete or copy at once

    async def server_for(self, model: str, hosts: list[str]) -> tuple[str, bool]:
        """A server that has the model (at random among several), and whether it is an
        embedding model (the model access rule lets anyone embed with those)."""
        catalog = await load_catalog()
        choice = catalog.find(model) if model else None
        host = catalog.server_for(choice) if choice else hosts[0]
        embedding = choice is not None and "embedding" in choice.capabilities
        return host, embedding

    async def listing(self, caller: Caller, send: ASGISendCallable) -> None:
        kind = self.route.kind
        try:
            if kind == "version":
                return await send_json(send, 200, await listing.version())
            access = None if caller.admin else await in_thread(load_model_access)()

            def allowed(name: str) -> bool:
                return access is None or access.allows(caller.user, name)

            key = "data" if kind == "models" else "models"
            return await send_json(send, 200, await listing.merged(self.route.path, key, allowed))
        except listing.NoServer:
            raise Refused(502, UPSTREAM_DOWN) from None

    def upstream_body(self) -> tuple[bytes, bool]:
        """The body sent on, and whether the gateway asked for stream usage the caller did not.

        OpenAI-style streams carry token counts only when asked (stream_options.include_usage);
        the gateway asks for them and keeps that extra event to itself."""
        payload = self.payload
        route = self.route
        if (route.family, route.kind) != (OPENAI, "generate") or payload.get("stream") is not True:
            return self.body, False
        options = payload.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            return self.body, False
        changed = {**payload, "stream_options": {**(options or {}), "include_usage": True}}
        return json.dumps(changed).encode(), True


class _Relay:
    """One request passed to Ollama and its answer passed back, chunk by chunk."""

    def __init__(
        self,
        request: _Request,
        host: str,
        *,
        record_id: int | None = None,
        at_once: admission.AdmissionAtOnce | None = None,
    ) -> None:
        self.request = request
        self.host = host
        self.record_id = record_id  # with `at_once`: known once the request is sent
        self.at_once = at_once
        self.started = time.monotonic_ns()
        self.http_status: int | None = None
        self.meter: Meter = Meter()
        self.status = UsageRecord.Status.COMPLETE
        self.error = ""
        self.finished = False
        self.response_started = False

    async def run(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        work = asyncio.ensure_future(self.relay(send))
        gone = asyncio.ensure_future(_disconnected(receive))
        counted = self.record_id is not None or self.at_once is not None
        renewal = asyncio.ensure_future(self.renew()) if counted else None
        try:
            waiting = {work, gone} | ({renewal} if renewal else set())
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                # The client went away, or the key was revoked: cancelling closes the request
                # to Ollama, and the caller sees the answer end early.
                revoked = not gone.done()
                self.status = UsageRecord.Status.CANCELLED
                self.error = "The API key was revoked or its account disabled." if revoked else ""
                work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            if self.status == UsageRecord.Status.CANCELLED and self.error:
                await self.finish()  # stored before the caller sees the end, as always
                await self.end_refused(send)
        finally:
            for task in (gone, renewal):
                if task is not None:
                    task.cancel()
            await self.finish()

    async def relay(self, send: ASGISendCallable) -> None:
        request = self.request
        body, hide_usage = request.upstream_body()
        headers = {"content-type": "application/json"} if body else {}
        method = request.scope["method"]
        path = request.route.path
        at_once = self.at_once
        sending = at_once.sending if at_once else None
        try:
            async with upstream(self.host, method, path, body, headers, sending=sending) as answer:
                if at_once:
                    self.record_id = at_once.record_id
                self.http_status = answer.status
                content_type = dict(answer.headers).get(b"content-type", b"")
                if content_type.startswith(b"application/x-ndjson"):
                    self.meter = NdjsonMeter()
                elif content_type.startswith(b"text/event-stream"):
                    self.meter = SseMeter(hide_usage=hide_usage)
                await send(
                    {
                        "type": "http.response.start",
                        "status": answer.status,
                        "headers": [*answer.headers, (b"cache-control", b"no-store")],
                        "trailers": False,
                    }
                )
                self.response_started = True
                feed = self.meter.feed
                async for chunk in answer.chunks():
                    if data := feed(chunk):
                        await send({"type": "http.response.body", "body": data, "more_body": True})
        except OllamaError as error:
            if at_once and self.record_id is None:
                # Admitted before Ollama failed to answer, or (not reached at all) not yet:
                # then the usual way, so a limit still refuses and the failure is recorded.
                self.record_id = at_once.record_id or await in_thread(at_once.admit)()
            self.status = UsageRecord.Status.FAILED
            self.error = error.message
            if self.http_status is None:  # nothing sent yet: say so in the family's shape
                self.http_status = 504 if isinstance(error, OllamaTimeout) else 502
                message = UPSTREAM_SLOW if isinstance(error, OllamaTimeout) else UPSTREAM_DOWN
                await self.finish()
                return await send_error(send, request.route.family, self.http_status, message)
            # Mid-answer the status is sent: the stream ends with an error in its own format,
            # as Ollama ends a reply whose runner failed (clients raise it).
        tail = self.meter.flush() if isinstance(self.meter, SseMeter) else b""
        if self.error and self.response_started:
            tail += _stream_error(self.meter, LOST_MID_REPLY)
        # Stored before the answer ends, so a client that reads its usage next finds it.
        await self.finish()
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def end_refused(self, send: ASGISendCallable) -> None:
        """End an answer cut short by a revoked key: Ollama's mid-stream error line if the
        answer had begun (the status is sent), the family's 401 otherwise."""
        family = self.request.route.family
        if not self.response_started:
            return await send_error(send, family, 401, admission.BAD_KEY)
        tail = json.dumps({"error": self.error}).encode() + b"\n" if family == NATIVE else b""
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def renew(self) -> None:
        """Renew the lease while the generation runs; return when the key stops being valid."""
        every = settings.CHAT_LEASE_SECONDS / 3
        while True:
            await asyncio.sleep(every)
            if self.record_id is None:
                continue  # not sent yet
            try:
                if not await in_thread(admission.renew)(self.record_id):
                    return
            except Exception:  # the database blinked: the generation goes on; try again later
                logger.exception("could not renew the lease of API request %s", self.record_id)

    async def finish(self) -> None:
        if self.record_id is None or self.finished:
            return
        self.finished = True
        usage = self.meter.result()
        status = self.status
        error = self.error or usage.error
        if status == UsageRecord.Status.COMPLETE and (error or (self.http_status or 500) >= 400):
            status = UsageRecord.Status.FAILED
        try:
            await asyncio.shield(
                in_thread(admission.finish)(
                    self.record_id,
                    status=status,
                    http_status=self.http_status,
                    prompt_tokens=usage.prompt_tokens,
                    output_tokens=usage.output_tokens,
                    duration_ns=time.monotonic_ns() - self.started,
                    error=error,
                )
            )
        except Exception:  # the record's lease lapses and it is reaped as interrupted
            logger.exception("could not store the usage of API request %s", self.record_id)


def _stream_error(meter: Meter, message: str) -> bytes:
    """An error line for an NDJSON stream, an error event for SSE; nothing for a whole answer
    (its JSON is cut short, which its client reports)."""
    if isinstance(meter, NdjsonMeter):
        return json.dumps({"error": message}).encode() + b"\n"
    if isinstance(meter, SseMeter):
        body = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        return b"data: " + json.dumps(body).encode() + b"\n\n"
    return b""


async def _disconnected(receive: ASGIReceiveCallable) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
