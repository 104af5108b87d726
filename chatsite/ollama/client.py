"""The async client for the team's Ollama servers: plain calls and streams with explicit
timeouts, each stream closing its HTTP response when the caller stops. The only code that imports
httpx; which servers to use and how long to wait come from settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx
from django.conf import settings

from . import wire
from .errors import (
    OllamaError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
    status_error,
)
from .results import (
    ChatChunk,
    ChatMessage,
    CreateRequest,
    GenerateResult,
    InstalledModel,
    ModelInfo,
    PullProgress,
    RunningModel,
)

_LOST = "the connection was lost before the reply was complete"

# Everything httpx raises on its own (InvalidURL and StreamError are not HTTPErrors); none of it
# may leave this module.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)

_Item = TypeVar("_Item")


@dataclass(frozen=True)
class OllamaTimeouts:
    """Seconds. `load` bounds the wait for a stream's first line (a cold model load can take
    minutes); `stream` bounds the silence between later lines; `request` bounds plain calls."""

    connect: float = 5.0
    request: float = 30.0
    load: float = 600.0
    stream: float = 120.0

    @classmethod
    def from_settings(cls) -> OllamaTimeouts:
        return cls(
            connect=getattr(settings, "OLLAMA_CONNECT_TIMEOUT", cls.connect),
            request=getattr(settings, "OLLAMA_REQUEST_TIMEOUT", cls.request),
            load=getattr(settings, "OLLAMA_LOAD_TIMEOUT", cls.load),
            stream=getattr(settings, "OLLAMA_STREAM_TIMEOUT", cls.stream),
        )


def configured_hosts() -> list[str]:
    """Every Ollama server the site uses: OLLAMA_HOSTS when set, otherwise OLLAMA_HOST."""
    hosts = getattr(settings, "OLLAMA_HOSTS", None) or [settings.OLLAMA_HOST]
    return list(dict.fromkeys(host.rstrip("/") for host in hosts))


class OllamaClient:
    """One connection pool to Ollama, open for the length of an `async with` block.

    httpx clients are bound to the event loop that opened them and daphne has no lifespan hook, so
    the lifetime is explicit: `async with OllamaClient() as ollama: ...` per operation.
    """

    def __init__(self, host: str | None = None, *, timeouts: OllamaTimeouts | None = None) -> None:
        # Settings are read only when needed, so code and tests that pass both never touch them.
        self.host: str = (settings.OLLAMA_HOST if host is None else host).rstrip("/")
        self.timeouts: OllamaTimeouts = (
            OllamaTimeouts.from_settings() if timeouts is None else timeouts
        )
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> OllamaClient:
        if self._http is not None:
            raise RuntimeError("This OllamaClient is already open; use one per `async with`.")
        try:
            # trust_env=False: Ollama is local, and HTTP(S)_PROXY must not reroute it.
            self._http = httpx.AsyncClient(
                base_url=self.host,
                trust_env=False,
                timeout=self._timeout(self.timeouts.request),
                verify=_tls_context(),
            )
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise OllamaUnreachable(f"invalid address {self.host!r}", host=self.host) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    # -- plain calls ------------------------------------------------------------------------

    async def version(self) -> str:
        reply = await self._call_json("GET", "/api/version")
        return wire.parse(lambda: wire.version(reply), host=self.host, streaming=False)

    async def list_models(self) -> list[InstalledModel]:
        reply = await self._call_json("GET", "/api/tags")
        return wire.parse(lambda: wire.installed_models(reply), host=self.host, streaming=False)

    async def running_models(self) -> list[RunningModel]:
        reply = await self._call_json("GET", "/api/ps")
        return wire.parse(lambda: wire.running_models(reply), host=self.host, streaming=False)

    async def show(self, model: str) -> ModelInfo:
        reply = await self._call_json("POST", "/api/show", {"model": model}, model=model)
        return wire.parse(lambda: wire.model_info(model, reply), host=self.host, streaming=False)

    async def generate(
        self,
        model: str,
        prompt: str,
        *,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        think: bool | None = None,
    ) -> GenerateResult:
        payload: dict[str, Any] = {"model": model, "prompt": prompt, "stream": False}
        if system is not None:
            payload["system"] = system
        if options:
            payload["options"] = dict(options)
        if think is not None:
            payload["think"] = think
        # Not streamed, so the whole reply (including a cold model load) counts as the first line.
        reply = await self._call_json(
            "POST", "/api/generate", payload, model=model, read_timeout=self.timeouts.load
        )
        return wire.parse(lambda: wire.generate_result(reply), host=self.host, streaming=False)

    async def delete(self, model: str) -> None:
        await self._call("DELETE", "/api/delete", {"model": model}, model=model)

    async def load(self, model: str, keep_alive: float | str | None = None) -> None:
        payload: dict[str, Any] = {"model": model, "messages": []}
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        await self._call_json(
            "POST", "/api/chat", payload, model=model, read_timeout=self.timeouts.load
        )

    async def unload(self, model: str) -> None:
        payload = {"model": model, "messages": [], "keep_alive": 0}
        await self._call_json("POST", "/api/chat", payload, model=model)

    # -- streams ----------------------------------------------------------------------------

    def chat(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        *,
        options: Mapping[str, Any] | None = None,
        think: bool | None = None,
        keep_alive: float | str | None = None,
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream a reply. Every chunk is yielded, the final `done` one included (it may carry
        leftover text). Closing the iterator, or cancelling its task, closes the HTTP response,
        which is how Ollama learns to stop generating."""
        self._require_open()
        payload: dict[str, Any] = {
            "model": model,
            "messages": [wire.message_payload(message) for message in messages],
            "stream": True,
        }
        if options:
            payload["options"] = dict(options)
        if think is not None:
            payload["think"] = think
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        return self._chat_stream(model, payload)

    def pull(self, model: str) -> AsyncGenerator[PullProgress, None]:
        """Stream pull progress until "success"; closing the iterator abandons the pull."""
        self._require_open()
        return self._pull_stream(model, {"model": model, "stream": True})

    def _chat_stream(self, model: str, payload: dict[str, Any]) -> AsyncGenerator[ChatChunk, None]:
        return self._ndjson_stream(
            "/api/chat", payload, model, wire.chat_chunk, lambda chunk: chunk.done
        )

    def _pull_stream(
        self, model: str, payload: dict[str, Any]
    ) -> AsyncGenerator[PullProgress, None]:
        return self._ndjson_stream(
            "/api/pull", payload, model, wire.pull_progress, lambda step: step.status == "success"
        )

    async def _ndjson_stream(
        self,
        path: str,
        payload: dict[str, Any],
        model: str,
        parse: Callable[[dict[str, Any]], _Item],
        is_last: Callable[[_Item], bool],
    ) -> AsyncGenerator[_Item, None]:
        """Each line parsed into a typed result until the last one; a body that ends before it
        is a lost stream."""
        async with self._stream(path, payload, model=model) as lines:
            while (line := await lines.next()) is not None:
                item = wire.parse(functools.partial(parse, line), host=self.host, streaming=True)
                yield item
                if is_last(item):
                    return
        raise OllamaStreamError(_LOST, host=self.host, status=200)

    @contextlib.asynccontextmanager
    async def _stream(
        self, path: str, payload: dict[str, Any], *, model: str
    ) -> AsyncIterator[_NdjsonLines]:
        http = self._require_open()
        # httpx gets no read timeout here: the deadlines are per line, and the first line's
        # deadline also covers the wait for the response headers (Ollama sends both together).
        deadline = asyncio.get_running_loop().time() + self.timeouts.load
        response: httpx.Response | None = None
        try:
            try:
                request = http.build_request(
                    "POST", path, json=payload, timeout=self._timeout(None)
                )
                async with asyncio.timeout_at(deadline):
                    response = await http.send(request, stream=True)
                    if not response.is_success:
                        await response.aread()
            except TimeoutError:
                raise self._first_line_timeout() from None
            except _HTTPX_ERRORS as exc:
                raise self._transport_error(exc, streaming=True) from exc
            if not response.is_success:
                raise self._status_error(response, model)
            lines = _NdjsonLines(self, response, deadline)
            try:
                yield lines
            finally:
                await lines.aclose()
        finally:
            if response is not None:
                with contextlib.suppress(*_HTTPX_ERRORS):
                    await response.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    def _require_open(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError(
                "OllamaClient is not open: use it as `async with OllamaClient() as ollama:`."
            )
        return self._http

    def _timeout(self, read: float | None) -> httpx.Timeout:
        connect = self.timeouts.connect
        return httpx.Timeout(connect=connect, read=read, write=self.timeouts.request, pool=connect)

    async def _call(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        model: str | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        http = self._require_open()
        read = self.timeouts.request if read_timeout is None else read_timeout
        try:
            response = await http.request(method, path, json=payload, timeout=self._timeout(read))
        except _HTTPX_ERRORS as exc:
            raise self._transport_error(exc, streaming=False, waited=read) from exc
        if not response.is_success:
            raise self._status_error(response, model)
        return response

    async def _call_json(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        model: str | None = None,
        read_timeout: float | None = None,
    ) -> dict[str, Any]:
        response = await self._call(method, path, payload, model=model, read_timeout=read_timeout)
        return wire.reply_object(response.content, host=self.host, status=response.status_code)

    def _status_error(self, response: httpx.Response, model: str | None) -> OllamaError:
        return status_error(
            host=self.host,
            status=response.status_code,
            body=response.content,
            reason=response.reason_phrase,
            model=model,
        )

    def _transport_error(
        self, exc: Exception, *, streaming: bool, waited: float | None = None
    ) -> OllamaError:
        host = self.host
        unusable_address = httpx.UnsupportedProtocol | httpx.InvalidURL
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | unusable_address):
            return OllamaUnreachable(str(exc) or "could not connect", host=host)
        if isinstance(exc, httpx.TimeoutException):
            seconds = f"{waited:g} seconds" if waited is not None else "its time limit"
            return OllamaTimeout(
                f"no answer within {seconds}",
                host=host,
                sentence=f"Ollama at {host} did not answer within {seconds}",
            )
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            if streaming:
                return OllamaStreamError(_LOST, host=host, status=200)
            return OllamaUnreachable(
                "the connection closed before Ollama answered",
                host=host,
                sentence=f"Ollama at {host} closed the connection without answering",
            )
        return OllamaError(str(exc) or type(exc).__name__, host=host)

    def _first_line_timeout(self) -> OllamaTimeout:
        seconds = f"{self.timeouts.load:g} seconds"
        return OllamaTimeout(
            f"no reply within {seconds}",
            host=self.host,
            sentence=f"Ollama at {self.host} did not start replying within {seconds}",
        )

    def _silence_timeout(self) -> OllamaTimeout:
        seconds = f"{self.timeouts.stream:g} seconds"
        return OllamaTimeout(
            f"silent for more than {seconds} mid-reply",
            host=self.host,
            status=200,
            sentence=f"Ollama at {self.host} went silent for more than {seconds} mid-reply",
        )

    # -- making models ----------------------------------------------------------------------

    def create(self, request: CreateRequest) -> AsyncGenerator[PullProgress, None]:
        """Stream a create's status lines until "success"; a base that is not installed is
        pulled first (its progress lines come too). An {"error"} line raises OllamaStreamError
        with Ollama's message."""
        self._require_open()
        return self._ndjson_stream(
            "/api/create",
            request.payload(),
            request.model,
            wire.pull_progress,
            lambda step: step.status == "success",
        )

    async def copy(self, source: str, destination: str) -> None:
        """Copy a model under a new name (an existing model of that name is replaced)."""
        payload = {"source": source, "destination": destination}
        await self._call("POST", "/api/copy", payload, model=source)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx builds a fresh context per client by default: ~50 ms of blocking certificate loading
    # on the event loop for every `async with`. One shared context per process is enough.
    return httpx.create_ssl_context(trust_env=False)


class _NdjsonLines:
    """Reads one JSON object per line from a streamed response, each within its deadline."""

    def __init__(self, client: OllamaClient, response: httpx.Response, first_deadline: float):
        self._client = client
        self._chunks = response.aiter_bytes()
        self._lines = wire.NdjsonBuffer(self._chunks, host=client.host)
        self._first_deadline: float | None = first_deadline

    async def next(self) -> dict[str, Any] | None:
        """The next object, or None at the end of the body; raises OllamaError otherwise."""
        client = self._client
        deadline = self._first_deadline
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + client.timeouts.stream
        try:
            async with asyncio.timeout_at(deadline):
                line = await self._lines.readline()
        except TimeoutError:
            first = self._first_deadline is not None
            raise (client._first_line_timeout() if first else client._silence_timeout()) from None
        except _HTTPX_ERRORS as exc:
            raise client._transport_error(exc, streaming=True) from exc
        self._first_deadline = None
        if line is None:
            return None
        return wire.stream_object(line, host=client.host)

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(*_HTTPX_ERRORS):
                await aclose()
