"""The gateway's relay pool on plain asyncio streams: kept-alive connections, a server that closed
one while it was idle, a server that goes silent mid-answer, and one that is not there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from chatsite.ollama import (
    OllamaError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
)
from chatsite.ollama.passthrough import close_pools, fetch, upstream
from chatsite.ollama.streams import MAX_PENDING_BYTES, Connection

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
        try:
            await handle(reader, writer)  # type: ignore[misc]
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


async def read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    return bool(head)


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


async def read_answer(url: str, received: list[bytes]) -> int:
    """POST /api/chat; the body's pieces go into `received` as they come (kept if it fails)."""
    async with upstream(url, "POST", "/api/chat", b"{}", {}) as answer:
        async for chunk in answer.chunks():
            received.append(chunk)
    return answer.status


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


def test_answers_are_read_on_uvloop_too():
    """SERVE_UVLOOP=true runs daphne on uvloop, whose transports are not asyncio.Transport."""
    import uvloop

    async def two_answers() -> tuple[list[tuple[int, bytes]], int]:
        async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError):
                while await read_request(reader):
                    writer.write(OK)
                    await writer.drain()

        server, url, connections = await serve(answer_each)
        async with server:
            answers = [await fetch(url, "GET", "/api/version") for _ in range(2)]
            await close_pools()
        return answers, len(connections)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        answers, connection_count = runner.run(two_answers())

    assert answers == [(200, b"{}")] * 2
    assert connection_count == 1


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
        received: list[bytes] = []
        with pytest.raises(OllamaTimeout):
            await read_answer(url, received)
        silent.set()

    assert received == [b'{"done":false}\n']


async def test_no_server_is_unreachable():
    server, url, _ = await serve(lambda reader, writer: asyncio.sleep(0))
    server.close()
    await server.wait_closed()

    with pytest.raises(OllamaUnreachable):
        await fetch(url, "GET", "/api/version")


async def test_a_chunked_answer_dribbled_byte_by_byte_is_decoded_exactly():
    lines = [b'{"n":1}\n', b'{"n":2,"text":"\\r\\n0\\r\\n"}\n', b'{"done":true}\n']
    answer = STREAM_HEAD.replace(b"\r\n\r\n", b"\r\nX-Note: a\r\n\r\n") + chunked(*lines)
    answer = answer.replace(b"\r\n0\r\n\r\n", b"\r\n0;ext=1\r\nTrailer-Field: x\r\n\r\n")

    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        for byte in answer:
            writer.write(bytes([byte]))
            await writer.drain()
        await reader.read()  # until the client closes

    server, url, _ = await serve(dribble)
    async with server:
        received: list[bytes] = []
        status = await read_answer(url, received)

    assert status == 200
    assert b"".join(received) == b"".join(lines)


async def test_sized_and_close_delimited_answers_are_read_whole():
    answers = iter(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
        ]
    )

    async def answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        await read_request(reader)
        writer.write(next(answers))
        await writer.drain()
        writer.close()

    server, url, connections = await serve(answer_then_close)
    async with server:
        first = await fetch(url, "GET", "/api/version")
        second = await fetch(url, "GET", "/api/version")

    assert (first, second) == ((200, b"hello world"), (200, b"until the end"))
    assert len(connections) == 2


async def test_a_server_gone_mid_answer_is_a_stream_error_after_what_it_sent():
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(STREAM_HEAD + b"8\r\n" + b'{"n":1}\n' + b"\r\n20\r\npartial")
        await writer.drain()
        writer.close()

    server, url, _ = await serve(half)
    async with server:
        received: list[bytes] = []
        with pytest.raises(OllamaStreamError):
            await read_answer(url, received)

    assert b"".join(received) == b'{"n":1}\npartial'


async def test_leaving_an_answer_early_closes_the_connection_so_ollama_stops():
    saw_close = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(STREAM_HEAD + chunked(b'{"n":1}\n')[:-5])  # no last chunk: it goes on
        await writer.drain()
        await reader.read()  # the request's body, then nothing until the client closes
        saw_close.set()

    server, url, _ = await serve(endless)
    async with server:
        async with upstream(url, "POST", "/api/chat", b"{}", {}) as answer:
            async for _ in answer.chunks():
                break
        await asyncio.wait_for(saw_close.wait(), 10)


async def test_an_answer_that_is_not_http_is_an_error_not_a_hang():
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()
        await reader.read()

    server, url, _ = await serve(garbage)
    async with server:
        with pytest.raises(OllamaError, match="not an HTTP answer"):
            await fetch(url, "GET", "/api/version")


async def test_a_kept_alive_connection_closed_as_it_is_reused_is_retried_on_a_new_one():
    requests_seen: list[int] = []

    async def answer_one_then_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        await read_request(reader)
        requests_seen.append(1)
        if len(requests_seen) == 2:  # the reused connection: read the request, answer nothing
            writer.close()
            return
        writer.write(OK)
        await writer.drain()
        await read_request(reader)  # a second request on this connection (the third overall)
        requests_seen.append(1)
        writer.close()

    server, url, connections = await serve(answer_one_then_drop)
    async with server:
        first = await fetch(url, "GET", "/api/version")
        second = await fetch(url, "GET", "/api/version")

    assert first == second == (200, b"{}")
    assert len(connections) == 2


async def test_the_request_names_the_host_path_prefix_and_credentials_of_the_address():
    heads: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(OK)
        await writer.drain()
        await reader.read()

    server, url, _ = await serve(record)
    port = url.rsplit(":", 1)[1]
    async with server:
        answer = await fetch(
            f"http://ol%40ma:s3cret@127.0.0.1:{port}/behind/proxy/", "GET", "/api/tags"
        )

    assert answer == (200, b"{}")
    lines = heads[0].decode().split("\r\n")
    assert lines[0] == "GET /behind/proxy/api/tags HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in lines
    assert "Authorization: Basic b2xAbWE6czNjcmV0" in lines  # base64 of "ol@ma:s3cret"


async def test_an_answer_not_taken_fast_enough_pauses_the_socket_until_it_is():
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server, url, _ = await serve(hold)
    host, port = url.removeprefix("http://").split(":")
    async with server:
        loop = asyncio.get_running_loop()
        transport, connection = await loop.create_connection(Connection, host, int(port))
        connection.send(b"GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n")
        big = b"x" * (MAX_PENDING_BYTES + 1)
        # What the socket would deliver, handed to the protocol as asyncio does.
        connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(big) + 2))
        connection.data_received(big)
        assert not transport.is_reading()  # nothing more is read until the body is taken

        assert await connection.body(1) == big
        assert transport.is_reading()
        connection.data_received(b"{}")
        assert await connection.body(1) == b"{}"
        assert await connection.body(1) == b""
        assert connection.reusable
        transport.close()


async def test_a_head_answer_has_no_body_whatever_its_length_says():
    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head_answer = OK.removesuffix(b"{}")  # Content-Length: 2, and no body follows
        with contextlib.suppress(asyncio.IncompleteReadError):  # the client closed
            while head := await reader.readuntil(b"\r\n\r\n"):
                writer.write(head_answer if head.startswith(b"HEAD ") else OK)
                await writer.drain()

    server, url, connections = await serve(answer_each)
    async with server:
        head = await asyncio.wait_for(fetch(url, "HEAD", "/api/version"), 10)
        get = await fetch(url, "GET", "/api/version")

    assert (head, get) == ((200, b""), (200, b"{}"))
    assert len(connections) == 1


def noting(events: list[str], refuse: bool = False) -> Callable[[], Any]:
    """A `sending` hook that notes when it is entered and left (and may refuse to send)."""

    @contextlib.contextmanager
    def sending() -> Iterator[None]:
        events.append("entered")
        if refuse:
            raise PermissionError("refused")
        yield
        events.append("left")

    return sending


async def test_the_sending_hook_wraps_the_write_of_the_request_once_even_when_it_is_retried():
    events: list[str] = []
    requests_read: list[int] = []

    async def note_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        while await read_request(reader):
            events.append("request read")
            requests_read.append(1)
            if len(requests_read) == 2:  # the reused connection: no answer
                return
            writer.write(OK)
            await writer.drain()

    server, url, connections = await serve(note_then_answer)
    async with server:
        await fetch(url, "GET", "/api/version")  # a kept-alive connection for the next one
        events.clear()
        async with upstream(url, "POST", "/api/chat", b"{}", {}, sending=noting(events)) as got:
            events.append("answer")
            assert got.status == 200

    # Left before the server could read the request; entered once though the request went twice.
    assert events == ["entered", "left", "request read", "request read", "answer"]
    assert len(connections) == 2


async def test_a_sending_hook_that_refuses_sends_nothing_and_keeps_the_connection():
    events: list[str] = []

    async def note(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        with contextlib.suppress(asyncio.IncompleteReadError):
            while await read_request(reader):
                events.append("request read")
                writer.write(OK)
                await writer.drain()

    server, url, connections = await serve(note)
    async with server:
        with pytest.raises(PermissionError):
            async with upstream(url, "POST", "/api/chat", b"{}", {}, sending=noting(events, True)):
                pass
        await asyncio.sleep(0.2)  # time for a request to arrive, if one had been sent
        assert events == ["entered"]
        # A refused request (a bad key, say) costs Ollama no new connection: the next one
        # goes on the connection the refused one took.
        assert await fetch(url, "GET", "/api/version") == (200, b"{}")

    assert events == ["entered", "request read"]
    assert len(connections) == 1
