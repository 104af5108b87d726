"""The async client for the team's Ollama server: typed results, one error hierarchy, and streams
that close their HTTP response when the caller stops. The only module that imports httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

import httpx
from django.conf import settings

# The official Go client reads stream lines of up to 8 MB (api/client.go maxBufferSize); a longer
# line means something is wrong, and buffering it without bound would let one reply eat memory.
MAX_LINE_BYTES = 8 * 1024 * 1024

_LOST = "the connection was lost before the reply was complete"

_T = TypeVar("_T")

# Everything httpx raises on its own (InvalidURL and StreamError are not HTTPErrors); none of it
# may leave this module.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ModelDetails:
    format: str
    family: str
    families: tuple[str, ...]
    parameter_size: str
    quantization_level: str
    context_length: int | None


@dataclass(frozen=True)
class InstalledModel:
    name: str
    model: str
    size: int
    digest: str
    modified_at: datetime | None
    details: ModelDetails
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class RunningModel:
    name: str
    model: str
    size: int
    size_vram: int
    digest: str
    expires_at: datetime | None
    context_length: int | None
    details: ModelDetails


@dataclass(frozen=True)
class ModelInfo:
    """What /api/show tells about one installed model."""

    name: str
    capabilities: tuple[str, ...]
    context_length: int | None
    parameters: str
    template: str
    license: str
    modelfile: str
    system: str
    details: ModelDetails
    model_info: Mapping[str, Any]
    modified_at: datetime | None

    @property
    def supports_thinking(self) -> bool:
        return "thinking" in self.capabilities


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    thinking: str = ""


@dataclass(frozen=True)
class ChatMetrics:
    """Ollama's figures for one reply; durations in nanoseconds, 0 when Ollama left them out."""

    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int

    @property
    def tokens_per_second(self) -> float | None:
        if self.eval_count <= 0 or self.eval_duration <= 0:
            return None
        return self.eval_count / self.eval_duration * 1e9


@dataclass(frozen=True)
class ChatChunk:
    content: str
    thinking: str
    done: bool
    done_reason: str | None
    metrics: ChatMetrics | None


@dataclass(frozen=True)
class GenerateResult:
    response: str
    thinking: str
    done_reason: str | None
    metrics: ChatMetrics | None


@dataclass(frozen=True)
class PullProgress:
    status: str
    digest: str | None
    total: int | None
    completed: int | None


# ---------------------------------------------------------------------------------------------
# Errors


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


# ---------------------------------------------------------------------------------------------
# Configuration


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


# ---------------------------------------------------------------------------------------------
# Model names (types/model/name.go: [host/][namespace/]model[:tag])

_HOST_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")
_NAMESPACE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_MODEL_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")


def is_valid_model_name(name: str) -> bool:
    """True when Ollama would accept `name` as a model reference (it does not say it exists)."""
    rest, tag = name, None
    # The tag is cut at the last ":" only when it follows the last "/", so "host:5000/m" has none.
    if rest.rfind(":") > rest.rfind("/"):
        rest, _, tag = rest.rpartition(":")
    rest, separator, model = rest.rpartition("/")
    namespace = host = None
    if separator:
        # A separator promises a part on both sides: "a/" and "/a" are invalid, not defaulted.
        if not rest:
            return False
        host, separator, namespace = rest.rpartition("/")
        if not separator:
            host = None
        elif not host:
            return False
        elif "://" in host:
            host = host.partition("://")[2]
    parts = ((model, _MODEL_PART), (tag, _MODEL_PART), (namespace, _NAMESPACE_PART))
    if any(part is not None and not pattern.fullmatch(part) for part, pattern in parts):
        return False
    return host is None or bool(_HOST_PART.fullmatch(host))


# ---------------------------------------------------------------------------------------------
# The client


DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"


def normalise_model_name(name: str) -> str:
    """One spelling per model, as Ollama matches them: lower-case, default host, namespace and
    tag filled in or dropped (`Llama3.2` and `registry.ollama.ai/library/llama3.2:latest` are
    both `llama3.2:latest`). Call it on valid names only."""
    name = name.strip().lower()
    if name.rfind(":") <= name.rfind("/"):
        name += ":latest"
    scheme, separator, rest = name.rpartition("://")
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == DEFAULT_REGISTRY:
        parts, separator = parts[1:], ""
    if len(parts) == 2 and parts[0] == DEFAULT_NAMESPACE:
        parts = parts[1:]
    return (scheme + separator if separator else "") + "/".join(parts)


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
        return self._parse(lambda: _str(reply, "version", required=True), streaming=False)

    async def list_models(self) -> list[InstalledModel]:
        reply = await self._call_json("GET", "/api/tags")
        return self._parse(
            lambda: [_installed(m) for m in _objects(reply, "models")], streaming=False
        )

    async def running_models(self) -> list[RunningModel]:
        reply = await self._call_json("GET", "/api/ps")
        return self._parse(
            lambda: [_running(m) for m in _objects(reply, "models")], streaming=False
        )

    async def show(self, model: str) -> ModelInfo:
        reply = await self._call_json("POST", "/api/show", {"model": model}, model=model)
        return self._parse(lambda: _model_info(model, reply), streaming=False)

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
        return self._parse(lambda: _generate_result(reply), streaming=False)

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
    ) -> AsyncIterator[ChatChunk]:
        """Stream a reply. Every chunk is yielded, the final `done` one included (it may carry
        leftover text). Closing the iterator, or cancelling its task, closes the HTTP response,
        which is how Ollama learns to stop generating."""
        self._require_open()
        payload: dict[str, Any] = {
            "model": model,
            "messages": [_message_payload(message) for message in messages],
            "stream": True,
        }
        if options:
            payload["options"] = dict(options)
        if think is not None:
            payload["think"] = think
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        return self._chat_stream(model, payload)

    def pull(self, model: str) -> AsyncIterator[PullProgress]:
        """Stream pull progress until "success"; closing the iterator abandons the pull."""
        self._require_open()
        return self._pull_stream(model, {"model": model, "stream": True})

    async def _chat_stream(self, model: str, payload: dict[str, Any]) -> AsyncIterator[ChatChunk]:
        async with self._stream("/api/chat", payload, model=model) as lines:
            while (line := await lines.next()) is not None:
                chunk = self._parse(lambda line=line: _chat_chunk(line), streaming=True)
                yield chunk
                if chunk.done:
                    return
        raise OllamaStreamError(_LOST, host=self.host, status=200)

    async def _pull_stream(
        self, model: str, payload: dict[str, Any]
    ) -> AsyncIterator[PullProgress]:
        async with self._stream("/api/pull", payload, model=model) as lines:
            while (line := await lines.next()) is not None:
                progress = self._parse(lambda line=line: _pull_progress(line), streaming=True)
                yield progress
                if progress.status == "success":
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
        try:
            reply = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            reply = None
        if not isinstance(reply, dict):
            raise OllamaResponseError(
                "the reply is not a JSON object",
                host=self.host,
                status=response.status_code,
                sentence=f"Ollama at {self.host} sent a reply that could not be read",
            )
        return reply

    def _parse(self, build: Callable[[], _T], *, streaming: bool) -> _T:
        """Run a parser over Ollama's JSON, turning a shape we cannot read into an OllamaError."""
        try:
            return build()
        except _Malformed as exc:
            if streaming:
                raise OllamaStreamError(
                    f"a reply line could not be read ({exc})", host=self.host, status=200
                ) from None
            raise OllamaResponseError(
                f"the reply could not be read ({exc})",
                host=self.host,
                status=200,
                sentence=f"Ollama at {self.host} sent a reply that could not be read ({exc})",
            ) from None

    def _status_error(self, response: httpx.Response, model: str | None) -> OllamaError:
        status = response.status_code
        message = None
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.loads(response.content)
            if isinstance(body, dict) and body.get("error"):
                message = str(body["error"])
        if message is not None and status == 404 and model is not None:
            return ModelNotFound(message, host=self.host, model=model, status=status)
        if message is None:
            # Not Ollama's {"error": ...}: a router page ("404 page not found"), a proxy, ...
            text = response.content.decode("utf-8", "replace").strip()
            message = text[:200] if text else (response.reason_phrase or "no reason given")
        return OllamaResponseError(message, host=self.host, status=status)

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
        self._buffer = bytearray()
        self._scanned = 0
        self._eof = False
        self._first_deadline: float | None = first_deadline

    async def next(self) -> dict[str, Any] | None:
        """The next object, or None at the end of the body; raises OllamaError otherwise."""
        client = self._client
        deadline = self._first_deadline
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + client.timeouts.stream
        try:
            async with asyncio.timeout_at(deadline):
                line = await self._readline()
        except TimeoutError:
            first = self._first_deadline is not None
            raise (client._first_line_timeout() if first else client._silence_timeout()) from None
        except _HTTPX_ERRORS as exc:
            raise client._transport_error(exc, streaming=True) from exc
        self._first_deadline = None
        if line is None:
            return None
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            obj = None
        if not isinstance(obj, dict):
            raise OllamaStreamError(
                "Ollama sent a line that is not valid JSON", host=client.host, status=200
            )
        if obj.get("error"):
            # Same rule as the Go client: any line with a non-empty "error" ends the stream.
            raise OllamaStreamError(str(obj["error"]), host=client.host, status=200)
        return obj

    async def _readline(self) -> bytes | None:
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                self._scanned = 0
                self._check_length(len(line))
                if line.strip():
                    return line
                continue
            self._scanned = len(self._buffer)
            self._check_length(len(self._buffer))
            if self._eof:
                # A single-object reply (load, or an error) has no trailing newline.
                line, self._buffer = bytes(self._buffer), bytearray()
                self._scanned = 0
                return line if line.strip() else None
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._eof = True
                continue
            self._buffer += chunk

    def _check_length(self, length: int) -> None:
        if length > MAX_LINE_BYTES:
            raise OllamaStreamError(
                f"a line of the reply was longer than {MAX_LINE_BYTES // (1024 * 1024)} MB",
                host=self._client.host,
                status=200,
            )

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(*_HTTPX_ERRORS):
                await aclose()


# ---------------------------------------------------------------------------------------------
# Parsing Ollama's JSON. Lenient about optional fields (older servers omit them, `families` may
# be null), strict about types, so a reply we cannot read becomes one clear error.


class _Malformed(Exception):
    pass


def _objects(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Malformed(f"{key!r} is not a list of objects")
    return value


def _str(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise _Malformed(f"{key!r} is missing")
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} is not a string")
    return value


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed(f"{key!r} is not a number")
    return value


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = _optional_int(obj, key)
    return 0 if value is None else value


def _strs(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Malformed(f"{key!r} is not a list of strings")
    return tuple(value)


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"{key!r} is not an object")
    return value


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))?"
)


def _time(obj: Mapping[str, Any], key: str) -> datetime | None:
    """RFC 3339 with up to 9 fractional digits (Go's RFC3339Nano); None when absent, unreadable
    or Go's zero time, since a timestamp is never worth failing a whole reply over."""
    value = obj.get(key)
    match = _RFC3339.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    tz = UTC
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError:
        return None
    return None if moment.year <= 1 else moment


def _details(obj: Mapping[str, Any]) -> ModelDetails:
    details = _object(obj, "details")
    return ModelDetails(
        format=_str(details, "format"),
        family=_str(details, "family"),
        families=_strs(details, "families"),
        parameter_size=_str(details, "parameter_size"),
        quantization_level=_str(details, "quantization_level"),
        context_length=_optional_int(details, "context_length"),
    )


def _installed(obj: Mapping[str, Any]) -> InstalledModel:
    name = _str(obj, "name") or _str(obj, "model", required=True)
    return InstalledModel(
        name=name,
        model=_str(obj, "model") or name,
        size=_int(obj, "size"),
        digest=_str(obj, "digest"),
        modified_at=_time(obj, "modified_at"),
        details=_details(obj),
        capabilities=_strs(obj, "capabilities"),
    )


def _running(obj: Mapping[str, Any]) -> RunningModel:
    name = _str(obj, "name") or _str(obj, "model", required=True)
    return RunningModel(
        name=name,
        model=_str(obj, "model") or name,
        size=_int(obj, "size"),
        size_vram=_int(obj, "size_vram"),
        digest=_str(obj, "digest"),
        expires_at=_time(obj, "expires_at"),
        context_length=_optional_int(obj, "context_length"),
        details=_details(obj),
    )


def _model_info(name: str, obj: Mapping[str, Any]) -> ModelInfo:
    info = _object(obj, "model_info")
    details = _details(obj)
    architecture = info.get("general.architecture")
    context_length = None
    if isinstance(architecture, str):
        context_length = _optional_int(info, f"{architecture}.context_length")
    return ModelInfo(
        name=name,
        capabilities=_strs(obj, "capabilities"),
        context_length=context_length if context_length is not None else details.context_length,
        parameters=_str(obj, "parameters"),
        template=_str(obj, "template"),
        license=_str(obj, "license"),
        modelfile=_str(obj, "modelfile"),
        system=_str(obj, "system"),
        details=details,
        model_info=MappingProxyType(dict(info)),
        modified_at=_time(obj, "modified_at"),
    )


def _metrics(obj: Mapping[str, Any]) -> ChatMetrics:
    return ChatMetrics(
        total_duration=_int(obj, "total_duration"),
        load_duration=_int(obj, "load_duration"),
        prompt_eval_count=_int(obj, "prompt_eval_count"),
        prompt_eval_duration=_int(obj, "prompt_eval_duration"),
        eval_count=_int(obj, "eval_count"),
        eval_duration=_int(obj, "eval_duration"),
    )


def _done(obj: Mapping[str, Any]) -> bool:
    done = obj.get("done", False)
    if not isinstance(done, bool):
        raise _Malformed("'done' is not true or false")
    return done


def _chat_chunk(obj: Mapping[str, Any]) -> ChatChunk:
    message = _object(obj, "message")
    done = _done(obj)
    return ChatChunk(
        content=_str(message, "content"),
        thinking=_str(message, "thinking"),
        done=done,
        done_reason=_str(obj, "done_reason") or None,
        metrics=_metrics(obj) if done else None,
    )


def _generate_result(obj: Mapping[str, Any]) -> GenerateResult:
    return GenerateResult(
        response=_str(obj, "response"),
        thinking=_str(obj, "thinking"),
        done_reason=_str(obj, "done_reason") or None,
        metrics=_metrics(obj) if _done(obj) else None,
    )


def _pull_progress(obj: Mapping[str, Any]) -> PullProgress:
    return PullProgress(
        status=_str(obj, "status", required=True),
        digest=_str(obj, "digest") or None,
        total=_optional_int(obj, "total"),
        completed=_optional_int(obj, "completed"),
    )


def _message_payload(message: ChatMessage) -> dict[str, str]:
    payload = {"role": message.role, "content": message.content}
    if message.thinking:
        payload["thinking"] = message.thinking
    return payload
