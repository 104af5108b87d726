"""The gateway's own HTTP/1.1 connections to Ollama: a kept-alive connection per request in
flight, answers read straight off the socket.

The relay passes Ollama's bytes on as they come; httpx (anyio, httpcore, h11 and its pool's
bookkeeping over every open connection) cost more per relayed token than the rest of the
gateway together (see bench/notes.md). Ollama answers with a Content-Length, chunked, or
until it closes the connection; that is all this reads. Body pieces that arrive together are
handed on together, so a busy process makes fewer, larger writes instead of falling behind.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections import defaultdict
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote, urlsplit

# A head larger than this is not an Ollama answer.
MAX_HEAD_BYTES = 64 * 1024
# Received body not yet passed on: past this, the socket stops being read until it is.
MAX_PENDING_BYTES = 1024 * 1024
IDLE_KEPT_PER_HOST = 200


class ConnectFailed(Exception):
    """No connection could be made (nothing was sent)."""


class ProtocolFailed(Exception):
    """The server's answer was not HTTP/1.1 as this reads it, or the connection was lost."""

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # whether any byte of an answer had arrived


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    tls: bool
    prefix: str  # a path the server is mounted under, without the trailing slash
    host_header: bytes
    # Basic auth from the address's user:password@ (a proxy in front of Ollama), as httpx sends.
    authorization: bytes | None = None

    @classmethod
    def parse(cls, base_url: str) -> Address:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) address: {base_url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        authorization = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = b"Basic " + base64.b64encode(credentials.encode())
        return cls(
            parts.hostname,
            port,
            tls,
            parts.path.rstrip("/"),
            parts.netloc.rpartition("@")[2].encode("idna"),
            authorization,
        )


class Connection(asyncio.Protocol):
    """One connection, one request at a time: `send()` the request, `head()` for the status and
    headers, then `body()` until it returns b""."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self._input = bytearray()
        self._parse = self._parse_head
        self._body_left = 0  # bytes of the current chunk or of the Content-Length body
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._paused = False
        self._finished = False
        self._keep_alive = True
        self._no_body = False
        self._failure: ProtocolFailed | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._head_seen = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's is not a subclass of asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        self.reusable = True  # until a request is sent (a refused request sends none)

    def data_received(self, data: bytes) -> None:
        if self._finished:
            # Bytes after a complete answer, unasked: the connection is not safe to reuse.
            self.reusable = False
            self._close()
            return
        self._input += data
        try:
            while self._input and not self._finished and self._parse():
                pass
        except ProtocolFailed as failure:
            self._fail(failure)
            return
        if self._pending_bytes > MAX_PENDING_BYTES and not self._paused and self.transport:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if not self._finished:
            if self._parse == self._parse_until_close:
                self._finished = True  # the body ran until the server closed, as it said
            else:
                self._failure = self._failure or ProtocolFailed(
                    "the connection was lost before the answer was complete",
                    answered=self._head_seen or bool(self._input),
                )
        self._wake()

    # The request
    def send(self, request: bytes, *, head_only: bool = False) -> None:
        """Write a request; `head_only` for HEAD, whose answer's Content-Length describes a
        body that is not sent."""
        assert self.transport is not None
        self._reset()
        self._no_body = head_only
        self.transport.write(request)

    async def head(self, timeout: float) -> None:  # noqa: ASYNC109 - one deadline per wait
        while not self._head_seen:
            await self._wait(timeout)

    async def body(self, timeout: float) -> bytes:  # noqa: ASYNC109
        """The body received since the last call (waiting up to `timeout` for some), or b""
        at its end."""
        while not self._pending:
            if self._finished:
                return b""
            await self._wait(timeout)
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    def close(self) -> None:
        self.reusable = False
        self._close()

    # Internals
    def _reset(self) -> None:
        self._pending.clear()
        self._pending_bytes = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        self._parse = self._parse_head
        self._finished = False
        self._head_seen = False
        self._no_body = False
        self._failure = None
        self.reusable = False
        self.status = 0
        self.headers = []

    async def _wait(self, timeout: float) -> None:  # noqa: ASYNC109
        if self._failure is not None:
            raise self._failure
        if self.closed:
            raise ProtocolFailed("the connection is closed", answered=self._head_seen)
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None
        if self._failure is not None:
            raise self._failure

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, failure: ProtocolFailed) -> None:
        self._failure = failure
        self.close()
        self._wake()

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def _deliver(self, data: bytes) -> None:
        if data:
            self._pending.append(data)
            self._pending_bytes += len(data)

    def _done(self) -> None:
        self._finished = True
        self.reusable = self._keep_alive and not self.closed and not self._input

    def _parse_head(self) -> bool:
        end = self._input.find(b"\r\n\r\n")
        if end < 0:
            if len(self._input) > MAX_HEAD_BYTES:
                raise ProtocolFailed("the answer's head is too large", answered=True)
            return False
        lines = bytes(self._input[:end]).split(b"\r\n")
        del self._input[: end + 4]
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise ProtocolFailed(f"not an HTTP answer: {lines[0][:80]!r}", answered=True)
        status = int(code)
        if status < 200:  # 100 Continue and friends: the real head follows
            return True
        headers = []
        length: int | None = None
        chunked = False
        self._keep_alive = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise ProtocolFailed("a malformed header in the answer", answered=True)
            name = name.strip().lower()
            value = value.strip()
            headers.append((name, value))
            if name == b"content-length":
                if not value.isdigit():
                    raise ProtocolFailed("a malformed Content-Length", answered=True)
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.lower().endswith(b"chunked")
            elif name == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    self._keep_alive = False
                elif b"keep-alive" in tokens:
                    self._keep_alive = True
        self.status, self.headers, self._head_seen = status, headers, True
        if self._no_body or status in (204, 304):
            self._done()
        elif chunked:
            self._parse = self._parse_chunk_size
        elif length is not None:
            self._body_left = length
            self._parse = self._parse_sized
            if length == 0:
                self._done()
        else:
            self._keep_alive = False
            self._parse = self._parse_until_close
        return True

    def _parse_sized(self) -> bool:
        take = min(self._body_left, len(self._input))
        self._deliver(bytes(self._input[:take]))
        del self._input[:take]
        self._body_left -= take
        if self._body_left == 0:
            self._done()
        return False

    def _parse_until_close(self) -> bool:
        self._deliver(bytes(self._input))
        self._input.clear()
        return False

    def _parse_chunk_size(self) -> bool:
        end = self._input.find(b"\r\n")
        if end < 0:
            if len(self._input) > 1024:
                raise ProtocolFailed("a malformed chunk in the answer", answered=True)
            return False
        size_text = bytes(self._input[:end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolFailed("a malformed chunk in the answer", answered=True) from None
        del self._input[: end + 2]
        if size == 0:
            self._parse = self._parse_trailers
        else:
            self._body_left = size
            self._parse = self._parse_chunk_data
        return True

    def _parse_chunk_data(self) -> bool:
        if self._body_left:
            take = min(self._body_left, len(self._input))
            self._deliver(bytes(self._input[:take]))
            del self._input[:take]
            self._body_left -= take
            if self._body_left:
                return False
        if len(self._input) < 2:
            return False
        if self._input[:2] != b"\r\n":
            raise ProtocolFailed("a malformed chunk in the answer", answered=True)
        del self._input[:2]
        self._parse = self._parse_chunk_size
        return True

    def _parse_trailers(self) -> bool:
        end = self._input.find(b"\r\n")
        if end < 0:
            return False
        del self._input[: end + 2]
        if end == 0:  # the blank line after the (usually absent) trailers
            self._done()
        return True


class ConnectionPool:
    """Kept-alive connections per server, for one event loop."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._idle: dict[Address, list[Connection]] = defaultdict(list)

    async def open(self, address: Address, timeout: float) -> tuple[Connection, bool]:  # noqa: ASYNC109
        """An idle connection to reuse (True) or a new one (False)."""
        idle = self._idle[address]
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection, True
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(
                    Connection,
                    address.host,
                    address.port,
                    ssl=self._tls if address.tls else None,
                    server_hostname=address.host if address.tls else None,
                )
        except TimeoutError as exc:
            raise ConnectFailed("no connection in time") from exc
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        return protocol, False

    def release(self, address: Address, connection: Connection) -> None:
        idle = self._idle[address]
        if connection.reusable and not connection.closed and len(idle) < IDLE_KEPT_PER_HOST:
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


def request_bytes(
    address: Address, method: str, path: str, body: bytes, headers: dict[str, str]
) -> bytes:
    lines = [f"{method} {address.prefix}{path} HTTP/1.1".encode("latin-1")]
    lines.append(b"Host: " + address.host_header)
    if address.authorization is not None:
        lines.append(b"Authorization: " + address.authorization)
    for name, value in headers.items():
        if name.lower() not in ("host", "content-length", "transfer-encoding", "connection"):
            lines.append(f"{name}: {value}".encode("latin-1"))
    if body or method not in ("GET", "HEAD", "DELETE"):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
