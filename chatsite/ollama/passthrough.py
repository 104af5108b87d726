"""Raw HTTP to one Ollama server for the API gateway: a request's bytes go up unchanged and the
answer's bytes come back as they arrive, with the same error hierarchy as the client.

Unlike OllamaClient (one httpx pool per `async with`), each event loop keeps one pool of the
gateway's own connections here (chatsite/ollama/streams.py): the gateway serves many short
requests, and a new connection per request would cost more than the relay.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from chatsite.per_loop import PerLoop

from .client import OllamaTimeouts, _tls_context
from .errors import OllamaError, OllamaStreamError, OllamaTimeout, OllamaUnreachable
from .streams import (
    Address,
    ConnectFailed,
    Connection,
    ConnectionPool,
    ProtocolFailed,
    request_bytes,
)

# Headers of the answer that mean something to the caller; the rest (framing, Date, ...) is
# the gateway's own business.
_KEPT_HEADERS = frozenset({b"content-type"})

_pools = PerLoop(lambda: ConnectionPool(_tls_context()))
_addresses: dict[str, Address] = {}


def _address(host: str) -> Address:
    address = _addresses.get(host)
    if address is None:
        try:
            address = _addresses[host] = Address.parse(host)
        except ValueError as exc:
            raise OllamaUnreachable(f"invalid address {host!r}", host=host) from exc
    return address


async def close_pools() -> None:
    """Close this loop's pool (tests that run the gateway in-process; daphne never needs it)."""
    pool = _pools.pop()
    if pool is not None:
        await pool.aclose()


@dataclass
class Upstream:
    """An answer whose head has arrived; `chunks()` yields its body as it comes."""

    host: str
    status: int
    headers: list[tuple[bytes, bytes]]
    _connection: Connection = field(repr=False)
    _silence: float = field(repr=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            try:
                data = await self._connection.body(self._silence)
            except TimeoutError as exc:
                raise OllamaTimeout("silent for too long mid-reply", host=self.host) from exc
            except ProtocolFailed as exc:
                lost = "the connection was lost before the reply was complete"
                raise OllamaStreamError(lost, host=self.host, status=self.status) from exc
            if not data:
                return
            yield data


@contextlib.asynccontextmanager
async def upstream(
    host: str,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    sending: Callable[[], AbstractContextManager[object]] | None = None,
) -> AsyncIterator[Upstream]:
    """Send one request to `host` and hold its answer open for the block; leaving the block
    early (the caller went away) closes the connection, which is how Ollama learns to stop.

    `sending()`, if given, is entered right before the request is written and left right
    after, with nothing awaited in between (the gateway's admission: its checks before, its
    commit while Ollama starts). If entering it raises, nothing is sent."""
    address = _address(host)
    timeouts = OllamaTimeouts.from_settings()
    # A read may wait for a cold model to load before the first byte; later reads are bounded
    # by the same figure, which is longer than OLLAMA_STREAM_TIMEOUT.
    silence = max(timeouts.load, timeouts.stream)
    request = request_bytes(address, method, path, body, dict(headers))
    pool = _pools.get()
    connection = await _answered(
        pool, address, host, request, method, silence, timeouts.connect, sending
    )
    try:
        kept = [(k, v) for k, v in connection.headers if k in _KEPT_HEADERS]
        yield Upstream(host, connection.status, kept, connection, silence)
    finally:
        pool.release(address, connection)


async def _answered(
    pool: ConnectionPool,
    address: Address,
    host: str,
    request: bytes,
    method: str,
    silence: float,
    connect_timeout: float,
    sending: Callable[[], AbstractContextManager[object]] | None,
) -> Connection:
    """A connection whose answer's head has arrived. A kept-alive connection the server closed
    just as it was reused fails before any answer: the request goes again on a new one (and
    `sending` is not entered again: the request was admitted once)."""
    for attempt in range(2):
        try:
            connection, reused = await pool.open(address, connect_timeout)
        except ConnectFailed as exc:
            raise OllamaUnreachable(str(exc) or "could not connect", host=host) from exc
        admitted = False
        try:
            with sending() if sending and attempt == 0 else contextlib.nullcontext():
                admitted = True
                connection.send(request, head_only=method == "HEAD")
            await connection.head(silence)
            return connection
        except TimeoutError as exc:
            connection.close()
            raise OllamaTimeout("no answer in time", host=host) from exc
        except ProtocolFailed as exc:
            connection.close()
            if reused and not exc.answered and attempt == 0:
                continue
            raise OllamaError(str(exc), host=host) from exc
        except BaseException:
            if admitted:
                connection.close()
            else:  # refused before a byte was written: the connection serves the next request
                pool.release(address, connection)
            raise
    raise AssertionError("unreachable")


async def fetch(host: str, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """A whole short answer (model lists, version) as status and body."""
    async with upstream(host, method, path, body, {}) as answer:
        data = b"".join([chunk async for chunk in answer.chunks()])
    return answer.status, data
