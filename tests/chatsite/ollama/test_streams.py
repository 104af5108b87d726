"""The gateway's relay pool on plain asyncio streams: kept-alive connections, a server that closed
one while it was idle, a server that goes silent mid-answer, and one that is not there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from chatsite.ollama import OllamaTimeout, OllamaUnreachable
from chatsite.ollama.passthrough import close_pools, fetch, upstream

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
)


@pytest.fixture(autouse=True)
async def fresh_pool() -> AsyncIterator[None]:
    yield
    await close_pools()


async def serve(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
) -> tuple[asyncio.Server, str, list[int]]:
    """A raw HTTP server on a free port; `connections` counts the connections it accepted."""
    connections: list[int] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await handle(reader, writer)  # type: ignore[misc]

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


async def read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    return bool(head)


async def test_requests_reuse_a_kept_alive_connection():
    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await read_request(reader):
                writer.write(OK)
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    server, url, connections = await serve(answer_each)
    async with server:
        answers = [await fetch(url, "GET", "/api/version") for _ in range(3)]

    assert answers == [(200, b"{}")] * 3
    assert len(connections) == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced_not_reused():
    closed = asyncio.Event()

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)  # no "Connection: close": the client keeps it for the next request
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    server, url, connections = await serve(answer_once)
    async with server:
        first = await fetch(url, "GET", "/api/version")
        await closed.wait()
        second = await fetch(url, "GET", "/api/version")

    assert first == second == (200, b"{}")
    assert len(connections) == 2


async def test_a_server_silent_mid_answer_is_a_timeout(settings):
    settings.OLLAMA_LOAD_TIMEOUT = 0.3
    settings.OLLAMA_STREAM_TIMEOUT = 0.3
    silent = asyncio.Event()

    async def one_line_then_silence(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        line = b'{"done":false}\n'
        writer.write(STREAM_HEAD + b"%x\r\n%s\r\n" % (len(line), line))
        await writer.drain()
        await silent.wait()
        writer.close()

    server, url, _ = await serve(one_line_then_silence)
    async with server:
        received = []
        with pytest.raises(OllamaTimeout):
            async with upstream(url, "POST", "/api/chat", b"{}", {}) as answer:
                async for chunk in answer.chunks():
                    received.append(chunk)
        silent.set()

    assert received == [b'{"done":false}\n']


async def test_no_server_is_unreachable():
    server, url, _ = await serve(lambda reader, writer: asyncio.sleep(0))
    server.close()
    await server.wait_closed()

    with pytest.raises(OllamaUnreachable):
        await fetch(url, "GET", "/api/version")
