"""Wire bytes per reply: what the chat socket carries for replies of 100, 2,000 and 20,000 tokens,
as a ratio to the reply's text (UTF-8 bytes).

Frames are counted from the send to the finished frame, websocket framing included. The ratio
depends on how many tokens share a frame, so two paces are measured: the stand-in at full speed,
and at 50 tokens/s (a real model on a GPU) for the sizes that fit in the time budget. The last
column estimates the same frames under permessage-deflate (which Chromium offers and daphne does
not accept by default).
`python -m bench.wire_bytes`
"""

from __future__ import annotations

import argparse
import asyncio
import zlib
from collections.abc import Sequence

from bench.harness import (
    MODEL,
    Reading,
    Seeded,
    Site,
    frame_wire_bytes,
    open_chat_socket,
    prepared_site,
    read_reply,
    seed_users,
    send_frame,
    serve,
    table,
)
from bench.relay import wait_for_quiet

SIZES = (100, 2_000, 20_000)
PACES = {"full speed": (0.0, SIZES), "50 tokens/s": (0.02, (100, 2_000))}

_PARAGRAPH = (
    "The relay keeps **finished blocks** as HTML and the unfinished one as text, so a token "
    "costs a few bytes on the wire rather than the whole message again. "
)
_LIST = "- an item with `inline code` and a [link](https://example.org/docs)\n"
_CODE = "```python\ndef relay(tokens):\n    for token in tokens:\n        yield token\n```\n"


def reply_text(tokens: int) -> list[str]:
    """Realistic Markdown (paragraphs, lists, code blocks), cut into `tokens` tokens."""
    from tests.ollama_standin import split_tokens

    pieces: list[str] = []
    block = 0
    while len(pieces) < tokens:
        kind = block % 4
        text = _PARAGRAPH * 3 if kind < 2 else _LIST * 4 if kind == 2 else _CODE
        pieces += split_tokens(text + "\n")
        block += 1
    words = pieces[:tokens]
    words[0] = words[0].lstrip()
    return words


def deflated_size(frames: Sequence[str]) -> int:
    """permessage-deflate with context takeover, as Chromium and autobahn negotiate it."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    total = 0
    for frame in frames:
        data = compressor.compress(frame.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        total += frame_wire_bytes(data[:-4])
    return total


async def one_reply(site: Site, user: Seeded, conversation_id: str, model: str) -> Reading:
    ws = await open_chat_socket(site, conversation_id, user.cookie)
    reading = Reading(f"wire-{conversation_id}")
    try:
        await ws.send(send_frame(reading.key, model=model))
        async with asyncio.timeout(300):
            await read_reply(ws, reading, keep_frames=True)
    finally:
        await ws.close()
    return reading


async def measure(site: Site, users: Sequence[Seeded]) -> list[list[str]]:
    rows = []
    for pace, (delay, sizes) in PACES.items():
        for size in sizes:
            site.standin.script_chat(reply_text(size), model=f"bench{size}", token_delay=delay)
        readings = await asyncio.gather(
            *(
                one_reply(site, users[i], users[i].conversation_ids[0 if delay else 1], f"bench{s}")
                for i, s in enumerate(sizes)
            )
        )
        await wait_for_quiet(site)
        for size, reading in zip(sizes, readings, strict=True):
            text = len("".join(reply_text(size)).encode())
            wire = sum(frame_wire_bytes(f.encode()) for f in reading.frames)
            deflated = deflated_size(reading.frames)
            rows.append(
                [
                    pace,
                    f"{size:,}",
                    f"{text:,}",
                    str(len(reading.frames)),
                    f"{wire:,}",
                    f"{wire / text:.2f}x",
                    f"{deflated / text:.2f}x",
                ]
            )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    with prepared_site() as site:
        for size in SIZES:
            site.standin.add_model(f"bench{size}")
        users = seed_users(len(SIZES), 2)
        with serve(site):
            rows = asyncio.run(measure(site, users))
    headers = [
        "stand-in pace",
        "tokens",
        "text bytes",
        "frames",
        "wire bytes",
        "ratio",
        "with permessage-deflate (estimate)",
    ]
    print(
        "### Wire bytes per reply (socket frames from send to finished, framing included; "
        f"model {MODEL!r} replaced by one model per size)\n\n" + table(headers, rows) + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
