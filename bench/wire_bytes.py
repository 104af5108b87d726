"""Wire bytes per reply: what the chat socket carries for replies of 100, 2,000 and 20,000 tokens,
as a ratio to the reply's text (UTF-8 bytes).

The client offers permessage-deflate as Chromium does, and the bytes are counted as they arrive on
its socket (frame headers plus compressed payloads, split at frame boundaries), from the send to
the finished frame. "Decompressed" is the same frames as a client without compression receives
them. The reply is real prose (see reply_text). The ratio depends on how many tokens share a
frame, so two paces are measured: the stand-in at full speed, and at 50 tokens/s (a real model
on a GPU) for the sizes that fit the time budget.
`python -m bench.wire_bytes`
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bench.harness import (
    MODEL,
    Reading,
    Seeded,
    Site,
    drain,
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


def reply_text(tokens: int) -> list[str]:
    """Real prose that does not repeat itself, cut into `tokens` tokens: the Python language
    reference as pydoc ships it (paragraphs, grammar and code examples; about 450 KB).

    A reply made by repeating one paragraph would compress to almost nothing and flatter
    permessage-deflate; English prose compresses about 3x with deflate, as a model's would.
    """
    from pydoc_data.topics import topics

    from tests.ollama_standin import split_tokens

    text = "\n\n".join(topics[name] for name in sorted(topics))
    words = split_tokens(text)[:tokens]
    assert len(words) == tokens, "the reference is too short for this many tokens"
    return words


@dataclass
class Sent:
    reading: Reading
    on_the_wire: int  # bytes that arrived for the reading's frames, headers included
    extensions: str  # what the server's handshake answer agreed to


async def one_reply(site: Site, user: Seeded, conversation_id: str, model: str) -> Sent:
    ws = await open_chat_socket(site, conversation_id, user.cookie)
    reading = Reading(f"wire-{conversation_id}")
    try:
        await drain(ws)
        first = len(ws.wire.messages)
        await ws.send(send_frame(reading.key, model=model))
        async with asyncio.timeout(300):
            await read_reply(ws, reading, keep_frames=True)
        sizes = ws.wire.messages[first : first + len(reading.frames)]
        assert len(sizes) == len(reading.frames), "a frame was read before its bytes were counted"
    finally:
        await ws.close()
    extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "none")
    return Sent(reading, sum(sizes), extensions)


async def measure(site: Site, users: Sequence[Seeded]) -> tuple[list[list[str]], set[str]]:
    rows, negotiated = [], set()
    for pace, (delay, sizes) in PACES.items():
        for size in sizes:
            site.standin.script_chat(reply_text(size), model=f"bench{size}", token_delay=delay)
        results = await asyncio.gather(
            *(
                one_reply(site, users[i], users[i].conversation_ids[0 if delay else 1], f"bench{s}")
                for i, s in enumerate(sizes)
            )
        )
        await wait_for_quiet(site)
        for size, sent in zip(sizes, results, strict=True):
            negotiated.add(sent.extensions)
            text = len("".join(reply_text(size)).encode())
            frames = sent.reading.frames
            plain = sum(frame_wire_bytes(f.encode()) for f in frames)
            rows.append(
                [
                    pace,
                    f"{size:,}",
                    f"{text:,}",
                    str(len(frames)),
                    f"{sent.on_the_wire:,}",
                    f"{sent.on_the_wire / text:.2f}x",
                    f"{plain:,}",
                    f"{plain / text:.2f}x",
                ]
            )
    return rows, negotiated


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    with prepared_site() as site:
        for size in SIZES:
            site.standin.add_model(f"bench{size}")
        users = seed_users(len(SIZES), 2)
        with serve(site):
            rows, negotiated = asyncio.run(measure(site, users))
    headers = [
        "stand-in pace",
        "tokens",
        "text bytes",
        "frames",
        "bytes as sent",
        "ratio as sent",
        "decompressed bytes",
        "ratio decompressed",
    ]
    print(
        "### Wire bytes per reply (counted on the client's socket from send to finished, framing "
        f"included; model {MODEL!r} replaced by one model per size)\n\n"
        "The client offers permessage-deflate as Chromium does; the server agreed to: "
        + ", ".join(f"`{n}`" for n in sorted(negotiated))
        + ". Decompressed = the same frames as a client without compression receives them.\n\n"
        + table(headers, rows)
        + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
