"""OllamaStandin: a real HTTP/1.1 server on 127.0.0.1, run from its own thread, serving each
connection until the client or stop() ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from .connection import BadRequest, ClientGone, Connection, Exchange, Request, close_writer
from .embeddings import EmbedEndpoints
from .endpoints import Endpoints
from .failures import Failure
from .openai_compat import OpenAICompat
from .recording import RecordedRequest
from .registry import Loaded, Model
from .scripts import ChatScript, PullScript, Scripts
from .vision import Vision
from .workshop import WorkshopState

log = logging.getLogger(__name__)


class OllamaStandin(Vision, OpenAICompat, EmbedEndpoints, Endpoints):
    """The stand-in. Lifecycle and connections live here; what it answers comes from its
    mixins: models (registry.py), scripts (scripts.py), recording (recording.py) and the routes
    (endpoints.py). One condition guards all of its state."""

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
        self._models: dict[str, Model] = {}
        self._loaded: dict[str, Loaded] = {}
        self._chat_scripts: Scripts[ChatScript] = Scripts()
        self._generate_scripts: Scripts[ChatScript] = Scripts()
        self._pull_scripts: Scripts[PullScript] = Scripts()
        self._raw: dict[str, list[tuple[int, bytes, str]]] = {}
        self._requests: list[RecordedRequest] = []
        self._tokens_sent = 0
        self._workshop = WorkshopState()

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

    # -- connections ------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Connection(reader)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except BadRequest as exc:
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
            await close_writer(writer, abort=self._stopping is None or self._stopping.is_set())

    async def _exchange(
        self, conn: Connection, writer: asyncio.StreamWriter, request: Request
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
        exchange = Exchange(self, writer, record, request)
        watcher = asyncio.create_task(self._watch(conn, exchange))
        try:
            await self._dispatch(exchange, request)
        except ClientGone:
            exchange.keep_alive = False
        except Exception:
            log.exception("the stand-in failed on %s %s", request.method, request.path)
            exchange.keep_alive = False
            if not exchange.headers_sent:
                with contextlib.suppress(ClientGone):
                    await exchange.reply_error(500, "the stand-in itself failed; see its log")
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self._update(record, ended=True)
        return exchange.keep_alive and not exchange.disconnected.is_set()

    async def _watch(self, conn: Connection, exchange: Exchange) -> None:
        """Notice the client leaving while a response is in progress: its socket hits EOF."""
        with contextlib.suppress(ConnectionError, OSError):
            while await conn.fill():
                pass
        exchange.disconnected.set()
        if not exchange.record.finished:
            self._update(exchange.record, client_disconnected=True)


@contextlib.contextmanager
def running_standin(**kwargs: Any) -> Iterator[OllamaStandin]:
    """A started stand-in for the length of a `with` block (the basis of the test fixtures)."""
    standin = OllamaStandin(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
