"""HTTP/1.1 by hand: reading requests (fixed-length or chunked) from one socket, and writing
replies and chunked NDJSON streams that stop as soon as the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
from dataclasses import dataclass
from typing import Any

from .recording import RecordedRequest, Recording
from .wire import JSON_UTF8, NDJSON, go_json


class ClientGone(Exception):
    """The client closed the connection; stop working on its request."""


class BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes = b""


class Connection:
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

    async def read_request(self) -> Request | None:
        while self.buffer.startswith(b"\r\n"):
            del self.buffer[:2]
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > self.MAX_HEAD:
                raise BadRequest("request head too large")
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
            raise BadRequest(f"malformed request line {request_line!r}") from None
        headers: dict[str, str] = {}
        for line in header_lines:
            key, colon, value = line.partition(":")
            if not colon:
                raise BadRequest(f"malformed header {line!r}")
            headers[key.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise BadRequest("bad Content-Length") from None
            body = await self._read_exactly(length)
        return Request(method, target.split("?", 1)[0], version, headers, body)

    async def _read_exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            if not await self.fill():
                raise BadRequest("body shorter than Content-Length")
        data = bytes(self.buffer[:length])
        del self.buffer[:length]
        return data

    async def _read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if not await self.fill():
                raise BadRequest("connection closed mid-body")
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            try:
                size = int((await self._read_line()).split(b";")[0], 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size == 0:
                while await self._read_line():  # trailers
                    pass
                return bytes(body)
            body += await self._read_exactly(size)
            await self._read_line()


class Exchange:
    """The response side of one request: fixed replies, chunked NDJSON streams, and the pauses in
    between, all of which end as soon as the client goes away."""

    def __init__(
        self,
        standin: Recording,
        writer: asyncio.StreamWriter,
        record: RecordedRequest,
        request: Request,
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
            raise ClientGone
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
            raise ClientGone from exc

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
        raise ClientGone  # _exchange closes the connection and does not mark it finished

    async def pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.disconnected.wait(), seconds)
        if self.disconnected.is_set():
            raise ClientGone

    async def hang(self) -> None:
        await self.disconnected.wait()
        raise ClientGone


async def close_writer(writer: asyncio.StreamWriter, *, abort: bool) -> None:
    if abort:
        writer.transport.abort()
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (Exception, asyncio.CancelledError):
        writer.transport.abort()
