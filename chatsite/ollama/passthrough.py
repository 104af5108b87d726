"""Raw HTTP to one Ollama server for the API gateway: a request's bytes go up unchanged and the
answer's bytes come back as they arrive, with the same error hierarchy as the client.

Unlike OllamaClient (one pool per `async with`), each event loop keeps one pool here: the gateway
serves many short requests and a new connection per request would cost more than the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx

from .client import OllamaTimeouts, _tls_context
from .errors import OllamaError, OllamaStreamError, OllamaTimeout, OllamaUnreachable
from .streams import AsyncioTransport

_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
# Headers of the answer that mean something to the caller; the rest (framing, Date, ...) is
# the gateway's own business.
_KEPT_HEADERS = frozenset({b"content-type"})

_pools: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def _pool() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        timeouts = OllamaTimeouts.from_settings()
        # A read may wait for a cold model to load before the first byte; later reads are
        # bounded by the same figure, which is longer than OLLAMA_STREAM_TIMEOUT.
        read = max(timeouts.load, timeouts.stream)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
        pool = httpx.AsyncClient(
            trust_env=False,  # Ollama is local: proxy variables must not reroute it
            timeout=httpx.Timeout(
                connect=timeouts.connect, read=read, write=timeouts.request, pool=timeouts.connect
            ),
            # Plain asyncio streams under httpcore: a third less CPU per relayed chunk.
            transport=AsyncioTransport(verify=_tls_context(), limits=limits),
        )
        _pools[loop] = pool
    return pool


async def close_pools() -> None:
    """Close this loop's pool (tests that run the gateway in-process; daphne never needs it)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.aclose()


@dataclass
class Upstream:
    """An answer whose head has arrived; `chunks()` yields its body as it comes."""

    host: str
    status: int
    headers: list[tuple[bytes, bytes]]
    _response: httpx.Response

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TimeoutException as exc:
            raise OllamaTimeout("silent for too long mid-reply", host=self.host) from exc
        except _HTTPX_ERRORS as exc:
            lost = "the connection was lost before the reply was complete"
            raise OllamaStreamError(lost, host=self.host, status=self.status) from exc


@contextlib.asynccontextmanager
async def upstream(
    host: str, method: str, path: str, body: bytes, headers: Mapping[str, str]
) -> AsyncIterator[Upstream]:
    """Send one request to `host` and hold its answer open for the block; leaving the block
    early (the caller went away) closes the connection, which is how Ollama learns to stop."""
    pool = _pool()
    try:
        request = pool.build_request(method, host + path, content=body, headers=dict(headers))
        response = await pool.send(request, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
        raise OllamaUnreachable(str(exc) or "could not connect", host=host) from exc
    except httpx.TimeoutException as exc:
        raise OllamaTimeout("no answer in time", host=host) from exc
    except _HTTPX_ERRORS as exc:
        raise OllamaError(str(exc) or type(exc).__name__, host=host) from exc
    try:
        kept = [(k.lower(), v) for k, v in response.headers.raw if k.lower() in _KEPT_HEADERS]
        yield Upstream(host, response.status_code, kept, response)
    finally:
        with contextlib.suppress(*_HTTPX_ERRORS):
            await response.aclose()


async def fetch(host: str, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """A whole short answer (model lists, version) as status and body."""
    async with upstream(host, method, path, body, {}) as answer:
        data = b"".join([chunk async for chunk in answer.chunks()])
    return answer.status, data
