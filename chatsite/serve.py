"""`python -m chatsite.serve -b HOST -p PORT chatsite.asgi:application`: daphne, with websocket
compression (permessage-deflate) accepted. Same arguments as the `daphne` command.

Every browser offers permessage-deflate, but daphne's websocket factory accepts no offer and has
no option for it, so each streamed token travelled as a ~90-byte htmx envelope around a few bytes
of text (15-20x the reply's text at a real model's pace, see bench/notes.md). Compressed with
context takeover, the repeated envelopes shrink to a few bytes. The window and memory level are
small so an open socket's compressor stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import daphne.server
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept
from daphne.cli import CommandLineInterface
from daphne.ws_protocol import WebSocketFactory

# A 4 KiB window (2**12) reaches back over the last ~40 token frames, which is where the repeats
# are; the memory level only sizes the hash table, which hardly matters for frames this small.
# Measured with bench/memory.py, a socket that has sent a reply holds ~26 KiB more with these;
# zlib's defaults (15, 8) cost ~100-290 KiB more for 5-20% fewer bytes.
WINDOW_BITS = 12
MEM_LEVEL = 3


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


class CompressingWebSocketFactory(WebSocketFactory):
    """daphne's factory, accepting compression offers (daphne sets its other options later)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setProtocolOptions(perMessageCompressionAccept=accept_deflate)


def main() -> None:
    # daphne.server.Server.run() builds its factory from this module global.
    daphne.server.WebSocketFactory = CompressingWebSocketFactory  # type: ignore[misc]
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
