"""`python -m chatsite.serve -b HOST -p PORT chatsite.asgi:application`: daphne as chatsite runs
it, with websocket compression (permessage-deflate) accepted and request bodies capped before they
are buffered. Same arguments as the `daphne` command.

Every browser offers permessage-deflate, but daphne's websocket factory accepts no offer and has
no option for it, so each streamed token travelled as a ~90-byte htmx envelope around a few bytes
of text (15-20x the reply's text at a real model's pace, see bench/notes.md). Compressed with
context takeover, the repeated envelopes shrink to a few bytes. The window and memory level are
small so an open socket's compressor stays cheap.

daphne reads a whole request body, of any size, before the application sees a byte of it (a
150 MB POST to the sign-in page grew the process by 95 MB). Here a body larger than its path's
limit (CHAT_IMPORT_REQUEST_MAX_BYTES for the import page, CHAT_UPLOAD_REQUEST_MAX_BYTES for an
attachment upload, CHAT_REQUEST_MAX_BYTES elsewhere) is
answered 413 as soon as its Content-Length is read, or as soon as a chunked body passes it.

A frame the application sends after the client's Close frame is dropped instead of raising inside
the consumer (ClosingWebSocketProtocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any
from urllib.parse import unquote_to_bytes

from chatsite.env import env_bool
from chatsite.gateway.replies import JSON, error_body, family_of


def _choose_event_loop() -> None:
    """SERVE_UVLOOP=true: daphne's loop (made when daphne.server is imported) is uvloop's."""
    if env_bool("SERVE_UVLOOP", False):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


_choose_event_loop()

import daphne.server  # noqa: E402  (after the loop policy is chosen)
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept  # noqa: E402
from daphne.cli import CommandLineInterface  # noqa: E402
from daphne.http_protocol import HTTPFactory, WebRequest  # noqa: E402
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import reverse  # noqa: E402

logger = logging.getLogger(__name__)

# A 4 KiB window (2**12) reaches back over the last ~40 token frames, which is where the repeats
# are; the memory level only sizes the hash table, which hardly matters for frames this small.
# Measured with bench/memory.py, a socket that has sent a reply holds ~26 KiB more with these;
# zlib's defaults (15, 8) cost ~100-290 KiB more for 5-20% fewer bytes.
WINDOW_BITS = 12
MEM_LEVEL = 3

# After a 413, what the client still sends is read and dropped for at most this long: closing
# with unread bytes would make the kernel reset the connection, and the client lose the answer.
LINGER_SECONDS = 5.0


def accept_deflate(offers: Sequence[Any]) -> PerMessageDeflateOfferAccept | None:
    """Accept the first permessage-deflate offer, with our window unless the client asks for a
    smaller one; the client is asked for the same window on its (small) messages if it allows."""
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            window = min(WINDOW_BITS, offer.request_max_window_bits or WINDOW_BITS)
            return PerMessageDeflateOfferAccept(
                offer,
                request_max_window_bits=WINDOW_BITS if offer.accept_max_window_bits else 0,
                window_bits=window,
                mem_level=MEM_LEVEL,
            )
    return None


class ClosingWebSocketProtocol(WebSocketProtocol):
    """daphne's websocket, dropping what the application sends once the closing handshake has
    begun. A socket whose client sent its Close frame (a tab closed mid-reply) is told
    websocket.disconnect only when the TCP connection ends; a frame sent in between raised
    autobahn's Disconnected inside the consumer, a traceback in the log for an ordinary
    goodbye. RFC 6455 allows no data frame after a Close frame, so there is nothing to send."""

    def serverSend(self, content: bytes | str, binary: bool = False) -> None:
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            logger.debug("Dropped a frame for %s: the socket is closing", self.client_addr)
            return
        super().serverSend(content, binary)


class CompressingWebSocketFactory(WebSocketFactory):
    """daphne's factory, accepting compression offers (daphne sets its other options later)."""

    protocol = ClosingWebSocketProtocol

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setProtocolOptions(perMessageCompressionAccept=accept_deflate)


@cache
def _import_path() -> bytes:
    return reverse("conversations:import").encode()


@cache
def _upload_path() -> bytes:
    return reverse("conversations:attachment_upload").encode()


def _path_of(target: bytes | None) -> bytes:
    """A request line's target without its query, %-escapes decoded."""
    return unquote_to_bytes((target or b"").split(b"?", 1)[0])


def body_limit(target: bytes | None) -> int:
    """The largest body accepted for a request line's target (path and query)."""
    if target is None:  # unknown: never refuse what the import page or an upload may need
        return max(settings.CHAT_IMPORT_REQUEST_MAX_BYTES, settings.CHAT_UPLOAD_REQUEST_MAX_BYTES)
    path = _path_of(target)
    if path == _import_path():
        return settings.CHAT_IMPORT_REQUEST_MAX_BYTES
    if path == _upload_path():
        return settings.CHAT_UPLOAD_REQUEST_MAX_BYTES
    return settings.CHAT_REQUEST_MAX_BYTES


def too_large_answer(limit: int, target: bytes | None = None) -> bytes:
    """413, in plain text, or for the API gateway in its endpoint family's JSON error shape (an
    SDK shows that message to the person whose request it was)."""
    family = family_of(_path_of(target).decode("latin-1"))
    if family is None:
        text = f"413 Content Too Large: this address accepts a body of up to {limit} bytes.\n"
        body, content_type = text.encode(), "text/plain; charset=utf-8"
    else:
        message = (
            f"The request body is larger than the {limit:,} bytes chatsite accepts "
            "(CHAT_REQUEST_MAX_BYTES): send less, or ask an admin to raise the limit."
        )
        body = json.dumps(error_body(family, 413, message)).encode()
        content_type = JSON.decode()
    head = (
        "HTTP/1.1 413 Content Too Large\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _drop(data: bytes) -> None:
    """What a refused request's connection still receives goes nowhere."""


def send_small_writes_at_once(channel: Any) -> None:
    """TCP_NODELAY on the connection: twisted leaves Nagle's algorithm on, so a streamed token
    written while the client had not yet acknowledged the previous one waited for that
    acknowledgement (up to the client's delayed-ACK timer, ~40 ms) before leaving. Every
    request passes here (a websocket starts as one), so every connection gets it."""
    transport = getattr(channel, "transport", None)
    set_no_delay = getattr(transport, "setTcpNoDelay", None)
    if set_no_delay is not None:
        with contextlib.suppress(OSError):
            set_no_delay(True)


class BodyLimitedRequest(WebRequest):
    """daphne's request, refusing a body over its limit before buffering it.

    twisted's channel calls gotLength once the headers are in (the request line's target is
    still only on the channel then) and handleContentChunk for each piece of the body.
    """

    body_limit = 0
    body_received = 0
    refused = False
    _linger: Any = None

    def gotLength(self, length: int | None) -> None:
        send_small_writes_at_once(self.channel)
        self.body_limit = body_limit(getattr(self.channel, "_path", None))
        if length is not None and length > self.body_limit:
            self.refuse()
        else:
            super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        self.body_received += len(data)
        if self.body_received > self.body_limit:
            self.refuse()
        elif not self.refused:
            super().handleContentChunk(data)

    def refuse(self) -> None:
        """Answer 413 now and read nothing more of this connection as HTTP."""
        if self.refused:
            return
        self.refused = True
        self.content = io.BytesIO()
        channel = self.channel
        # The channel would send "100 Continue" after gotLength; the answer is 413 instead.
        self.requestHeaders.removeHeader(b"Expect")
        channel.dataReceived = channel.rawDataReceived = _drop
        transport = channel.transport
        transport.write(too_large_answer(self.body_limit, getattr(channel, "_path", None)))
        # Half-close: the client gets the answer and the end of it; it hangs up, or the linger
        # ends. A transport that cannot half-close (TLS) is closed once the answer is written.
        getattr(transport, "loseWriteConnection", transport.loseConnection)()
        from twisted.internet import reactor  # daphne installs the asyncio one first

        # Twisted declares its reactor interfaces without `self` (zope.interface style).
        self._linger = reactor.callLater(LINGER_SECONDS, transport.abortConnection)  # type: ignore[arg-type]

    def connectionLost(self, reason: Any) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)


class BodyLimitedHTTPFactory(HTTPFactory):
    """daphne's HTTP factory, building BodyLimitedRequests."""

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyLimitedRequest
        return protocol


def main() -> None:
    # daphne.server.Server.run() builds its factories from these module globals.
    daphne.server.WebSocketFactory = CompressingWebSocketFactory
    daphne.server.HTTPFactory = BodyLimitedHTTPFactory
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
