"""A faithful Ollama stand-in: a real HTTP/1.1 server on 127.0.0.1, run from its own thread, that
speaks Ollama's wire protocol (streams, errors, pulls, disconnects) with scriptable replies.
Standard library only; `python -m tests.ollama_standin --port 11434` serves a demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import hashlib
import http
import inspect
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
RUNNER_FAILURE = "an error was encountered while running the model: unexpected EOF"
UNKNOWN_MANIFEST = "pull model manifest: file does not exist"

JSON_UTF8 = "application/json; charset=utf-8"  # gin's c.JSON
JSON_PLAIN = "application/json"  # a stream that fails before its first byte
NDJSON = "application/x-ndjson"
TEXT = "text/plain"  # gin's default 404/405 bodies

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
}


# ---------------------------------------------------------------------------------------------
# Scripting


@dataclass(frozen=True)
class Failure:
    """How a scripted chat or generate reply goes wrong. Build one with the static methods."""

    kind: str  # status | error | drop | hang | malformed | long_line
    after_tokens: int = 0
    status_code: int = 500
    message: str = ""
    size: int = 0

    @staticmethod
    def status(code: int, message: str | None = None) -> Failure:
        """Before any byte: that status and {"error": message}."""
        if message is None:
            message = BUSY_MESSAGE if code == 503 else RUNNER_FAILURE
        return Failure("status", status_code=code, message=message)

    @staticmethod
    def error_mid_stream(after_tokens: int, message: str = RUNNER_FAILURE) -> Failure:
        """An {"error": ...} line after N tokens, then the end of the body. At 0 tokens this is
        what v0.12.6+ does: status 500 with Content-Type application/json."""
        return Failure("error", after_tokens=after_tokens, message=message)

    @staticmethod
    def drop_mid_stream(after_tokens: int) -> Failure:
        """Close the TCP connection after N tokens, without the terminating chunk."""
        return Failure("drop", after_tokens=after_tokens)

    @staticmethod
    def hang(after_tokens: int = 0) -> Failure:
        """Stop sending after N tokens until the client goes away or the server stops."""
        return Failure("hang", after_tokens=after_tokens)

    @staticmethod
    def malformed_line(after_tokens: int) -> Failure:
        """A line that is not JSON after N tokens, then the end of the body."""
        return Failure("malformed", after_tokens=after_tokens)

    @staticmethod
    def long_line(after_tokens: int, size: int = 9 * 1024 * 1024) -> Failure:
        """A valid but oversized line (default 9 MB, past the Go client's 8 MB limit)."""
        return Failure("long_line", after_tokens=after_tokens, size=size)


@dataclass(frozen=True)
class _ChatScript:
    tokens: tuple[str, ...]
    thinking: tuple[str, ...] = ()
    model_key: str | None = None
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    failure: Failure | None = None
    done_reason: str = "stop"


@dataclass(frozen=True)
class _PullScript:
    model_key: str | None = None
    layers: tuple[int, ...] = (2_000_000, 1429, 7711, 561)
    steps_per_layer: int = 4
    step_delay: float = 0.0
    unknown: bool = False
    fail_after_steps: int | None = None
    fail_message: str = "max retries exceeded: unexpected EOF"
    hang_after_steps: int | None = None


_S = TypeVar("_S", _ChatScript, _PullScript)


class _Scripts(Generic[_S]):
    """Once-scripts are consumed in FIFO order; standing ones apply until reset, the most recent
    model-specific one first, then the most recent catch-all."""

    def __init__(self) -> None:
        self.once: list[_S] = []
        self.standing: list[_S] = []

    def add(self, script: _S, *, once: bool) -> None:
        (self.once if once else self.standing).append(script)

    def take(self, key: str) -> _S | None:
        for index, script in enumerate(self.once):
            if script.model_key in (None, key):
                return self.once.pop(index)
        for wanted in (key, None):
            for script in reversed(self.standing):
                if script.model_key == wanted:
                    return script
        return None


def split_tokens(text: str) -> list[str]:
    """Words with their leading whitespace, roughly how a model's tokens arrive."""
    return re.findall(r"\s*\S+", text)


# ---------------------------------------------------------------------------------------------
# Model names, as types/model/name.go parses them


_DEFAULT_HOST = "registry.ollama.ai"
_DEFAULT_NAMESPACE = "library"
_PART = {
    "host": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}"),
    "namespace": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}"),
    "model": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"),
    "tag": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"),
}


@dataclass(frozen=True)
class _Name:
    host: str
    namespace: str
    model: str
    tag: str

    @property
    def display(self) -> str:
        """Name.DisplayShortest: drop the default host and namespace."""
        if self.host == _DEFAULT_HOST:
            if self.namespace == _DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        # Ollama matches installed models case-insensitively.
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}".lower()


def _parse_name(text: str) -> _Name | None:
    missing = "\0"  # stands for a part a separator promised but that is empty: never valid
    rest, tag = text, ""
    if rest.rfind(":") > rest.rfind("/"):
        rest, _, tag = rest.rpartition(":")
        tag = tag or missing
    parts = {"host": "", "namespace": "", "model": rest, "tag": tag}
    before, sep, after = rest.rpartition("/")
    if sep:
        parts["model"] = after or missing
        host, sep, namespace = (before or missing).rpartition("/")
        parts["namespace"] = namespace or missing
        if sep:
            host = host or missing
            parts["host"] = host.partition("://")[2] if "://" in host else host
    defaults = {"host": _DEFAULT_HOST, "namespace": _DEFAULT_NAMESPACE, "tag": "latest"}
    for kind, value in parts.items():
        if not value and kind in defaults:
            parts[kind] = defaults[kind]
        elif not _PART[kind].fullmatch(value):
            return None
    return _Name(**parts)


def _key(name: str) -> str:
    parsed = _parse_name(name)
    if parsed is None:
        raise ValueError(f"{name!r} is not a valid Ollama model name")
    return parsed.key


# ---------------------------------------------------------------------------------------------
# Go-flavoured serialisation


def go_json(obj: Any) -> bytes:
    """Compact JSON with Go's HTML-safe escapes (<, >, & and the JS line separators)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text.encode()


def go_time(moment: datetime, nanos: int = 0) -> str:
    """RFC3339Nano as Go writes it: trailing zeros trimmed, "Z" for UTC, else the offset."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}{nanos % 1000:03d}".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = moment.utcoffset()
    if offset is None or offset == timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _created_at() -> str:
    now = time.time_ns()
    return go_time(
        datetime.fromtimestamp(now // 1_000_000_000, UTC).replace(
            microsecond=now // 1000 % 1_000_000
        ),
        now,
    )


def _local_now() -> datetime:
    return datetime.now().astimezone()


_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _parse_keep_alive(value: Any) -> tuple[float | None, str | None]:
    """api.Duration.UnmarshalJSON: seconds as a number, or a Go duration string."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        kind = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}
        return None, f"Unsupported type: '{kind.get(type(value), type(value).__name__)}'"
    if not isinstance(value, str):
        return float(value), None
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0, None
    if not body or not re.fullmatch(f"(?:{_DURATION.pattern})+", body):
        if re.fullmatch(r"[0-9.]+", body):
            return None, f'time: missing unit in duration "{value}"'
        return None, f'time: invalid duration "{value}"'
    seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION.findall(body))
    return sign * seconds, None


def _parse_think(value: Any) -> tuple[bool | str | None, str | None]:
    if value is None or isinstance(value, bool):
        return value, None
    if isinstance(value, str) and value in ("low", "medium", "high", "max"):
        return value, None
    return None, (
        f"invalid think value: {json.dumps(value)} "
        '(must be "high", "medium", "low", "max", true, or false)'
    )


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    started_at: float
    finished: bool = False  # the server wrote the whole response
    client_disconnected: bool = False  # the client went away before the server finished
    ended: bool = False  # the server is done with this request, whatever the outcome
    status: int | None = None
    tokens: int = 0  # chat/generate tokens written for this request


@dataclass
class _Model:
    name: str
    family: str
    families: tuple[str, ...] | None
    parameter_size: str
    quantization_level: str
    size: int
    capabilities: tuple[str, ...]
    context_length: int
    template: str
    license: str
    parameters: str
    system: str
    modified_at: datetime
    digest: str

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": None if self.families is None else list(self.families),
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }


@dataclass
class _Loaded:
    model: _Model
    size_vram: int
    expires_at: datetime


class _ClientGone(Exception):
    """The client closed the connection; stop working on its request."""


class _BadRequest(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The server


class OllamaStandin:
    Failure = Failure

    def __init__(self, *, version: str = "0.33.0") -> None:
        self.version = version
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._port = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self._models: dict[str, _Model] = {}
        self._loaded: dict[str, _Loaded] = {}
        self._chat_scripts: _Scripts[_ChatScript] = _Scripts()
        self._generate_scripts: _Scripts[_ChatScript] = _Scripts()
        self._pull_scripts: _Scripts[_PullScript] = _Scripts()
        self._raw: dict[str, list[tuple[int, bytes, str]]] = {}
        self._requests: list[RecordedRequest] = []
        self._tokens_sent = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, port: int = 0) -> OllamaStandin:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(port, ready, failure), name="ollama-standin", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=10)
        self._thread = self._loop = self._stopping = None
        self._changed()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the stand-in is not running; call start() first")
        return f"http://127.0.0.1:{self._port}"

    def reset(self) -> None:
        with self._cond:
            self._reset_state()
            self._cond.notify_all()

    def _run(self, port: int, ready: threading.Event, failure: list[BaseException]) -> None:
        asyncio.run(self._serve(port, ready, failure))

    async def _serve(self, port: int, ready: threading.Event, failure: list[BaseException]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._connection, "127.0.0.1", port)
        except OSError as exc:
            failure.append(exc)
            ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    # -- models -----------------------------------------------------------------------------

    def add_model(
        self,
        name: str,
        *,
        family: str = "llama",
        families: Sequence[str] | None = (),
        parameter_size: str = "3.2B",
        quantization_level: str = "Q4_K_M",
        size: int = 2_019_393_189,
        capabilities: Sequence[str] = ("completion",),
        context_length: int = 131072,
        template: str = "{{ .Prompt }}",
        license: str = "",
        parameters: str = "",
        system: str = "",
        modified_at: datetime | None = None,
    ) -> None:
        """Install a model. `families` () means [family]; None is sent as JSON null, as some
        models report. `modified_at` defaults to now, in local time with its offset."""
        parsed = _parse_name(name)
        if parsed is None:
            raise ValueError(f"{name!r} is not a valid Ollama model name")
        model = _Model(
            name=parsed.display,
            family=family,
            families=None if families is None else (tuple(families) or (family,)),
            parameter_size=parameter_size,
            quantization_level=quantization_level,
            size=size,
            capabilities=tuple(capabilities),
            context_length=context_length,
            template=template,
            license=license,
            parameters=parameters,
            system=system,
            modified_at=modified_at or _local_now(),
            digest=hashlib.sha256(f"manifest:{parsed.key}".encode()).hexdigest(),
        )
        with self._cond:
            self._models[parsed.key] = model
            self._cond.notify_all()

    def remove_model(self, name: str) -> None:
        key = _key(name)
        with self._cond:
            self._models.pop(key, None)
            self._loaded.pop(key, None)
            self._cond.notify_all()

    def load_model(
        self, name: str, *, size_vram: int | None = None, keep_alive_seconds: float = 300
    ) -> None:
        key = _key(name)
        with self._cond:
            model = self._models.get(key)
            if model is None:
                raise ValueError(f"add_model({name!r}) before loading it")
            self._load(key, model, keep_alive_seconds, size_vram)

    def _load(
        self, key: str, model: _Model, keep_alive: float | None, size_vram: int | None = None
    ) -> None:
        previous = self._loaded.get(key)
        if keep_alive is None:
            expires = previous.expires_at if previous else _local_now() + timedelta(minutes=5)
        elif keep_alive < 0:
            expires = _local_now() + timedelta(days=365 * 292)  # Go saturates at ~292 years
        else:
            expires = _local_now() + timedelta(seconds=keep_alive)
        vram = size_vram if size_vram is not None else previous.size_vram if previous else None
        self._loaded[key] = _Loaded(model, model.size if vram is None else vram, expires)
        self._cond.notify_all()

    # -- scripts ----------------------------------------------------------------------------

    def script_chat(
        self,
        reply: str | Sequence[str] = "Hello from the stand-in.",
        *,
        thinking: str | Sequence[str] = "",
        model: str | None = None,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        failure: Failure | None = None,
        done_reason: str = "stop",
        once: bool = False,
    ) -> None:
        script = _ChatScript(
            tokens=_tokens(reply),
            thinking=_tokens(thinking),
            model_key=None if model is None else _key(model),
            first_token_delay=first_token_delay,
            token_delay=token_delay,
            failure=failure,
            done_reason=done_reason,
        )
        with self._cond:
            self._chat_scripts.add(script, once=once)

    def script_generate(
        self,
        response: str = "A short title",
        *,
        model: str | None = None,
        delay: float = 0.0,
        failure: Failure | None = None,
        once: bool = False,
    ) -> None:
        script = _ChatScript(
            tokens=_tokens(response),
            model_key=None if model is None else _key(model),
            first_token_delay=delay,
            failure=failure,
        )
        with self._cond:
            self._generate_scripts.add(script, once=once)

    def script_pull(
        self,
        model: str | None = None,
        *,
        layers: Sequence[int] = (2_000_000, 1429, 7711, 561),
        steps_per_layer: int = 4,
        step_delay: float = 0.0,
        unknown: bool = False,
        fail_after_steps: int | None = None,
        fail_message: str = "max retries exceeded: unexpected EOF",
        hang_after_steps: int | None = None,
        once: bool = False,
    ) -> None:
        """Steps are the lines after "pulling manifest" (layer progress, verifying, writing)."""
        script = _PullScript(
            model_key=None if model is None else _key(model),
            layers=tuple(layers),
            steps_per_layer=max(1, steps_per_layer),
            step_delay=step_delay,
            unknown=unknown,
            fail_after_steps=fail_after_steps,
            fail_message=fail_message,
            hang_after_steps=hang_after_steps,
        )
        with self._cond:
            self._pull_scripts.add(script, once=once)

    def script_raw(
        self, path: str, body: bytes, *, status: int = 200, content_type: str = JSON_UTF8
    ) -> None:
        """Answer the next request to `path` with exactly these bytes (for parsing edge cases
        a real Ollama should never produce)."""
        with self._cond:
            self._raw.setdefault(path, []).append((status, body, content_type))

    # -- recording and waiting --------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return [replace(r, headers=dict(r.headers)) for r in self._requests]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def tokens_sent(self) -> int:
        with self._cond:
            return self._tokens_sent

    def wait_for(self, predicate: Callable[[OllamaStandin], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(predicate, timeout))
                self._cond.wait(remaining)

    async def await_for(
        self,
        predicate: Callable[[OllamaStandin], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors wait_for(); the deadline is ours
    ) -> None:
        # Polling keeps the caller's event loop free; the server lives in another thread.
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(predicate, timeout))
            await asyncio.sleep(0.005)

    def _timeout_report(self, predicate: Callable[..., bool], timeout: float) -> str:
        try:
            source = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            source = repr(predicate)
        seen = "\n".join(
            f"  {r.method} {r.path} status={r.status} tokens={r.tokens} finished={r.finished} "
            f"disconnected={r.client_disconnected} ended={r.ended}"
            for r in self.requests
        )
        return (
            f"stand-in condition not met within {timeout}s: {source}\n"
            f"tokens sent: {self.tokens_sent()}; requests:\n{seen or '  (none)'}"
        )

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _update(self, record: RecordedRequest, **changes: Any) -> None:
        with self._cond:
            for name, value in changes.items():
                setattr(record, name, value)
            self._cond.notify_all()

    # -- connections ------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Connection(reader)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except _BadRequest as exc:
                    body = f"400 Bad Request: {exc}".encode()
                    writer.write(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
                    break
                if request is None or not await self._exchange(conn, writer, request):
                    break
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels these tasks. Ending quietly matters on Python 3.11, whose
            # streams callback calls task.exception() on a cancelled task and logs an error.
            if self._stopping is None or not self._stopping.is_set():
                raise
        finally:
            self._tasks.discard(task)
            await _close(writer, abort=self._stopping is None or self._stopping.is_set())

    async def _exchange(
        self, conn: _Connection, writer: asyncio.StreamWriter, request: _Request
    ) -> bool:
        """Serve one request; True when the connection can carry another."""
        body: Any = None
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.loads(request.body) if request.body else None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            body=body,
            headers=request.headers,
            started_at=time.time(),
        )
        with self._cond:
            self._requests.append(record)
            self._cond.notify_all()
        exchange = _Exchange(self, writer, record, request)
        watcher = asyncio.create_task(self._watch(conn, exchange))
        try:
            await self._dispatch(exchange, request)
        except _ClientGone:
            exchange.keep_alive = False
        except Exception:
            log.exception("the stand-in failed on %s %s", request.method, request.path)
            exchange.keep_alive = False
            if not exchange.headers_sent:
                with contextlib.suppress(_ClientGone):
                    await exchange.reply_error(500, "the stand-in itself failed; see its log")
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self._update(record, ended=True)
        return exchange.keep_alive and not exchange.disconnected.is_set()

    async def _watch(self, conn: _Connection, exchange: _Exchange) -> None:
        """Notice the client leaving while a response is in progress: its socket hits EOF."""
        with contextlib.suppress(ConnectionError, OSError):
            while await conn.fill():
                pass
        exchange.disconnected.set()
        if not exchange.record.finished:
            self._update(exchange.record, client_disconnected=True)

    async def _dispatch(self, ex: _Exchange, request: _Request) -> None:
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
        handler = getattr(self, "_" + (request.path.rpartition("/")[2] or "root"))
        if request.method not in ("POST", "DELETE"):
            return await handler(ex)
        # Ollama decodes every body as JSON, whatever the Content-Type says.
        if not request.body.strip():
            return await ex.reply_error(400, "missing request body")
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return await ex.reply_error(400, _go_decode_error(request.body, exc))
        if body is None:
            body = {}  # `null` decodes to a zero struct
        if not isinstance(body, dict):
            kind = "array" if isinstance(body, list) else type(body).__name__
            return await ex.reply_error(
                400, f"json: cannot unmarshal {kind} into Go value of type api.Request"
            )
        return await handler(ex, body)

    # -- endpoints --------------------------------------------------------------------------

    async def _root(self, ex: _Exchange) -> None:
        await ex.reply(200, b"Ollama is running", "text/plain; charset=utf-8")

    async def _version(self, ex: _Exchange) -> None:
        await ex.reply_json(200, {"version": self.version})

    async def _tags(self, ex: _Exchange) -> None:
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
        await ex.reply_json(200, {"models": entries})

    async def _ps(self, ex: _Exchange) -> None:
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

    async def _show(self, ex: _Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            return await ex.reply_error(400, "model is required")
        parsed = _parse_name(name)
        if parsed is None:
            return await ex.reply_error(400, "invalid model name")
        with self._cond:
            model = self._models.get(parsed.key)
        if model is None:
            return await ex.reply_error(404, f"model '{parsed.display}' not found")
        reply: dict[str, Any] = {}
        if model.license:
            reply["license"] = model.license
        reply["modelfile"] = (
            '# Modelfile generated by "ollama show"\n'
            "# To build a new Modelfile based on this, replace FROM with:\n"
            f"# FROM {model.name}\n\n"
            f"FROM /root/.ollama/models/blobs/sha256-{model.digest}\n"
            f'TEMPLATE """{model.template}"""\n'
        )
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

    async def _chat(self, ex: _Exchange, body: dict[str, Any]) -> None:
        await self._complete(ex, body, chat=True)

    async def _generate(self, ex: _Exchange, body: dict[str, Any]) -> None:
        await self._complete(ex, body, chat=False)

    async def _complete(self, ex: _Exchange, body: dict[str, Any], *, chat: bool) -> None:
        """/api/chat and /api/generate: validation, load/unload, then the scripted reply."""
        name = body.get("model")
        if not isinstance(name, str) or not name.strip():
            if chat:
                return await ex.reply_error(400, "model is required")
            return await ex.reply_error(404, "model '' not found")
        parsed = _parse_name(name)
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
        think, error = _parse_think(body.get("think"))
        if error is None:
            keep_alive, error = _parse_keep_alive(body.get("keep_alive"))
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
            return await ex.reply_json(200, _reply_object(name, chat, "", "", done_reason=reason))
        if "completion" not in model.capabilities:
            verb = "chat" if chat else "generate"
            return await ex.reply_error(400, f'"{name}" does not support {verb}')
        can_think = "thinking" in model.capabilities
        if think not in (None, False) and not can_think:
            return await ex.reply_error(400, f'"{name}" does not support thinking')
        scripts = self._chat_scripts if chat else self._generate_scripts
        with self._cond:
            script = scripts.take(parsed.key)
            self._load(parsed.key, model, keep_alive)
        if script is None:
            default = "Hello from the stand-in." if chat else "A short title"
            script = _ChatScript(tokens=tuple(split_tokens(default)))
        await _Reply(
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

    async def _pull(self, ex: _Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        parsed = _parse_name(name) if isinstance(name, str) and name.strip() else None
        if parsed is None:
            return await ex.reply_error(400, "invalid model name")
        with self._cond:
            script = self._pull_scripts.take(parsed.key) or _PullScript()
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

    def _pull_lines(self, name: _Name, script: _PullScript) -> Iterator[dict[str, Any]]:
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

    async def _delete(self, ex: _Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            return await ex.reply_error(400, "model is required")
        parsed = _parse_name(name)
        if parsed is None:
            return await ex.reply_error(400, f'name "{name}" is invalid')
        with self._cond:
            removed = self._models.pop(parsed.key, None)
            self._loaded.pop(parsed.key, None)
            self._cond.notify_all()
        if removed is None:
            return await ex.reply_error(404, f"model '{name}' not found")
        await ex.reply(200, b"", None)

    def _count_tokens(self, record: RecordedRequest, count: int = 1) -> None:
        with self._cond:
            record.tokens += count
            self._tokens_sent += count
            self._cond.notify_all()


def _tokens(text: str | Sequence[str]) -> tuple[str, ...]:
    return tuple(split_tokens(text)) if isinstance(text, str) else tuple(text)


def _reply_object(
    name: str, chat: bool, content: str, thinking: str, **extra: Any
) -> dict[str, Any]:
    """One /api/chat or /api/generate object, fields in Ollama's order."""
    obj: dict[str, Any] = {"model": name, "created_at": _created_at()}
    if chat:
        obj["message"] = {"role": "assistant", "content": content}
        if thinking:
            obj["message"]["thinking"] = thinking
    else:
        obj["response"] = content
        if thinking:
            obj["thinking"] = thinking
    obj["done"] = "done_reason" in extra
    obj.update(extra)
    return obj


def _go_decode_error(raw: bytes, exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        if exc.pos >= len(exc.doc.rstrip()):
            return "unexpected EOF"
        return f"invalid character '{exc.doc[exc.pos]}' looking for beginning of value"
    return "invalid character looking for beginning of value"


class _Reply:
    """A scripted chat or generate reply: thinking tokens, content tokens, final metrics, and the
    failure the script asks for at its point."""

    def __init__(
        self,
        ex: _Exchange,
        script: _ChatScript,
        *,
        name: str,
        chat: bool,
        thinking_on: bool,
        stream: bool,
        prompt_tokens: int,
    ) -> None:
        self.ex = ex
        self.script = script
        self.name = name
        self.chat = chat
        self.stream = stream
        self.prompt_tokens = prompt_tokens
        thinking = script.thinking if thinking_on else ()
        self.steps = [("thinking", t) for t in thinking] + [("content", t) for t in script.tokens]
        self.started = time.monotonic_ns()

    async def run(self) -> None:
        ex, script, failure = self.ex, self.script, self.script.failure
        await ex.pause(script.first_token_delay)
        loaded = time.monotonic_ns()
        if failure is not None and failure.kind == "status":
            content_type = JSON_PLAIN if self.stream else JSON_UTF8
            return await ex.reply_error(failure.status_code, failure.message, content_type)
        for index, (kind, token) in enumerate(self.steps):
            if failure is not None and failure.after_tokens == index:
                return await self.fail(failure)
            if index:
                await ex.pause(script.token_delay)
            if self.stream:
                content, thinking = ("", token) if kind == "thinking" else (token, "")
                line = _reply_object(self.name, self.chat, content, thinking)
                await ex.send_line(line, token=True)
        if failure is not None and failure.after_tokens >= len(self.steps):
            return await self.fail(failure)
        count = len(self.steps)
        load_duration = loaded - self.started
        prompt_eval_duration = self.prompt_tokens * 1_700_000
        # At least 12 ms a token, so tokens/s stays plausible when tests run at full speed.
        eval_duration = max(time.monotonic_ns() - loaded, count * 12_000_000)
        metrics = {
            "total_duration": load_duration + prompt_eval_duration + eval_duration + 250_000,
            "load_duration": load_duration,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": prompt_eval_duration,
            "eval_count": count,
            "eval_duration": eval_duration,
        }
        extra: dict[str, Any] = {"done_reason": script.done_reason}
        if not self.chat:
            extra["context"] = [128006, 882, 128007, 271, 13347]
        extra.update((key, value) for key, value in metrics.items() if value)
        if self.stream:
            await ex.send_line(_reply_object(self.name, self.chat, "", "", **extra))
            return await ex.end_stream()
        thinking = "".join(t for kind, t in self.steps if kind == "thinking")
        content = "".join(t for kind, t in self.steps if kind == "content")
        ex.standin._count_tokens(ex.record, count)
        await ex.reply_json(200, _reply_object(self.name, self.chat, content, thinking, **extra))

    async def fail(self, failure: Failure) -> None:
        ex = self.ex
        if failure.kind == "hang":
            await ex.hang()
        if failure.kind == "error":
            if not ex.headers_sent:
                # v0.12.6+: a failure before the first byte gets a real status.
                content_type = JSON_PLAIN if self.stream else JSON_UTF8
                return await ex.reply_error(500, failure.message, content_type)
            await ex.send_line({"error": failure.message})
            return await ex.end_stream()
        if failure.kind == "drop":
            return await ex.drop()
        if failure.kind == "malformed":
            broken = b'{"model":"' + self.name.encode() + b'","created_at":"2026-01-05T10:0'
            if not self.stream:
                return await ex.reply(200, broken, JSON_UTF8)
            await ex.send_line(broken)
            return await ex.end_stream()
        if failure.kind == "long_line":
            line = _reply_object(self.name, self.chat, "x" * failure.size, "")
            if not self.stream:
                return await ex.reply_json(200, line)
            await ex.send_line(line)
            return await ex.end_stream()
        raise ValueError(f"unknown failure kind {failure.kind!r}")


# ---------------------------------------------------------------------------------------------
# HTTP/1.1 plumbing


@dataclass
class _Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes = b""


class _Connection:
    """A buffered reader over one client socket; also used by the disconnect watcher, so bytes a
    client sends early (a pipelined request) are kept, not lost."""

    MAX_HEAD = 64 * 1024

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buffer = bytearray()

    async def fill(self) -> bool:
        data = await self.reader.read(65536)
        self.buffer += data
        return bool(data)

    async def read_request(self) -> _Request | None:
        while self.buffer.startswith(b"\r\n"):
            del self.buffer[:2]
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > self.MAX_HEAD:
                raise _BadRequest("request head too large")
            if not await self.fill():
                return None
            while self.buffer.startswith(b"\r\n"):
                del self.buffer[:2]
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        request_line, *header_lines = head.split("\r\n")
        try:
            method, target, version = request_line.split(" ")
        except ValueError:
            raise _BadRequest(f"malformed request line {request_line!r}") from None
        headers: dict[str, str] = {}
        for line in header_lines:
            key, colon, value = line.partition(":")
            if not colon:
                raise _BadRequest(f"malformed header {line!r}")
            headers[key.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise _BadRequest("bad Content-Length") from None
            body = await self._read_exactly(length)
        return _Request(method, target.split("?", 1)[0], version, headers, body)

    async def _read_exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            if not await self.fill():
                raise _BadRequest("body shorter than Content-Length")
        data = bytes(self.buffer[:length])
        del self.buffer[:length]
        return data

    async def _read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if not await self.fill():
                raise _BadRequest("connection closed mid-body")
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            try:
                size = int((await self._read_line()).split(b";")[0], 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if size == 0:
                while await self._read_line():  # trailers
                    pass
                return bytes(body)
            body += await self._read_exactly(size)
            await self._read_line()


class _Exchange:
    """The response side of one request: fixed replies, chunked NDJSON streams, and the pauses in
    between, all of which end as soon as the client goes away."""

    def __init__(
        self,
        standin: OllamaStandin,
        writer: asyncio.StreamWriter,
        record: RecordedRequest,
        request: _Request,
    ) -> None:
        self.standin = standin
        self.writer = writer
        self.record = record
        self.head_only = request.method == "HEAD"
        connection = request.headers.get("connection", "").lower()
        self.keep_alive = request.version == "HTTP/1.1" and connection != "close"
        self.disconnected = asyncio.Event()
        self.headers_sent = False

    async def _write(self, data: bytes, *, last: bool = False) -> None:
        if self.disconnected.is_set():
            raise _ClientGone
        try:
            self.writer.write(data)
            if last:
                # Marked before draining: the watcher must not call a complete reply abandoned.
                self.standin._update(self.record, finished=True)
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            self.disconnected.set()
            if not self.record.finished:
                self.standin._update(self.record, client_disconnected=True)
            raise _ClientGone from exc

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = f"status code {status}"
        lines = [f"HTTP/1.1 {status} {phrase}"]
        lines += [f"{key}: {value}" for key, value in headers]
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        if not self.keep_alive:
            lines.append("Connection: close")
        self.standin._update(self.record, status=status)
        self.headers_sent = True
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def reply(self, status: int, body: bytes, content_type: str | None) -> None:
        headers = [("Content-Type", content_type)] if content_type else []
        headers.append(("Content-Length", str(len(body))))
        head = self._head(status, headers)
        await self._write(head + (b"" if self.head_only else body), last=True)

    async def reply_json(self, status: int, obj: Any, content_type: str = JSON_UTF8) -> None:
        await self.reply(status, go_json(obj), content_type)  # no trailing newline, like c.JSON

    async def reply_error(self, status: int, message: str, content_type: str = JSON_UTF8) -> None:
        await self.reply_json(status, {"error": message}, content_type)

    async def send_line(self, line: dict[str, Any] | bytes, *, token: bool = False) -> None:
        data = (line if isinstance(line, bytes) else go_json(line)) + b"\n"
        chunk = b"%x\r\n%s\r\n" % (len(data), data)
        if not self.headers_sent:
            # Like gin, the headers go out with the first line, not before.
            headers = [("Content-Type", NDJSON), ("Transfer-Encoding", "chunked")]
            chunk = self._head(200, headers) + chunk
        await self._write(chunk)
        if token:
            self.standin._count_tokens(self.record)

    async def end_stream(self) -> None:
        await self._write(b"0\r\n\r\n", last=True)

    async def drop(self) -> None:
        """Close the connection mid-body: no terminating chunk.

        Like a crashed server, the lines already written still reach the client (FIN after the
        buffered bytes), so the test is deterministic: an abort (RST) would let the kernel drop
        bytes the client has not read yet.
        """
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        raise _ClientGone  # _exchange closes the connection and does not mark it finished

    async def pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.disconnected.wait(), seconds)
        if self.disconnected.is_set():
            raise _ClientGone

    async def hang(self) -> None:
        await self.disconnected.wait()
        raise _ClientGone


async def _close(writer: asyncio.StreamWriter, *, abort: bool) -> None:
    if abort:
        writer.transport.abort()
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (Exception, asyncio.CancelledError):
        writer.transport.abort()


@contextlib.contextmanager
def running_standin(**kwargs: Any) -> Iterator[OllamaStandin]:
    """A started stand-in for the length of a `with` block (the basis of the test fixtures)."""
    standin = OllamaStandin(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()


# ---------------------------------------------------------------------------------------------
# Command line: a demo Ollama for `make standin`

_DEMO_REPLY = """Here is a short answer from the **stand-in**, so you can watch streaming work.

Ollama streams one token at a time; the site renders the Markdown as it arrives, including
lists, `inline code` and fenced blocks:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

That is all: no model was harmed in the making of this reply."""

_DEMO_THINKING = "The user wants a demo. I will show a paragraph, a code block and a closing line."


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Ollama stand-in in the foreground.")
    parser.add_argument("--port", type=int, default=11434)
    args = parser.parse_args(argv)
    standin = OllamaStandin()
    standin.add_model("llama3.2:latest")
    standin.add_model(
        "qwen3:8b",
        family="qwen3",
        parameter_size="8.2B",
        size=5_225_376_047,
        capabilities=("completion", "thinking"),
        context_length=40960,
    )
    standin.script_chat(
        _DEMO_REPLY, thinking=_DEMO_THINKING, first_token_delay=0.3, token_delay=0.03
    )
    standin.script_generate("A chat with the stand-in", delay=0.3)
    # Four layers times 40 steps, 60 ms apart: about ten seconds, like a small real pull.
    standin.script_pull(steps_per_layer=40, step_delay=0.06)
    standin.start(args.port)
    print(f"Ollama stand-in listening on {standin.url} (Ctrl+C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
