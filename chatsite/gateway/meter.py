"""Reading usage off an answer while it passes through: Ollama's metrics on the last NDJSON line,
the usage event of an OpenAI-style stream, or the usage in a whole JSON answer. Per chunk it costs
a search for a line end, so relaying stays cheap; everything is parsed once, at the end."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# A whole answer up to this size is parsed; of a larger one (many embeddings) only the end is
# kept, where Ollama puts the counts, and they are read from it without parsing the vectors.
WHOLE_ANSWER_BYTES = 1024 * 1024
TAIL_BYTES = 4096
DONE_EVENT = b"data: [DONE]\n\n"
# In JSON text a key's quotes cannot occur inside a string (they would be escaped), so these
# match only the answer's own fields.
_COUNTS = {
    name: re.compile(rb'"' + name.encode() + rb'":\s*(\d+)')
    for name in ("prompt_eval_count", "eval_count", "prompt_tokens", "completion_tokens")
}


@dataclass
class Usage:
    prompt_tokens: int = 0
    output_tokens: int = 0
    error: str = ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _error_text(reply: Any) -> str:
    """Ollama's {"error": "..."} or the OpenAI layer's {"error": {"message": "..."}}."""
    error = reply.get("error") if isinstance(reply, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error) if error else ""


def usage_of(reply: Any) -> Usage:
    """Tokens from one native or OpenAI-style reply object (a whole answer or a last line)."""
    if not isinstance(reply, dict):
        return Usage()
    usage = reply.get("usage")
    if isinstance(usage, dict):  # OpenAI-style
        return Usage(_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")))
    return Usage(
        _count(reply.get("prompt_eval_count")), _count(reply.get("eval_count")), _error_text(reply)
    )


class Meter:
    """A whole (not streamed) answer: kept and parsed at the end, or only its end if large."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> bytes:
        """Take a chunk; return what is passed on (all of it, here)."""
        self._parts.append(chunk)
        self._size += len(chunk)
        if self._size > WHOLE_ANSWER_BYTES and len(self._parts) > 1:
            self._parts = [b"".join(self._parts)[-TAIL_BYTES:]]
        return chunk

    def result(self) -> Usage:
        data = b"".join(self._parts)
        if self._size > WHOLE_ANSWER_BYTES:
            return _counts_in(data[-TAIL_BYTES:])
        reply = _loads(data)
        usage = usage_of(reply)
        usage.error = usage.error or _error_text(reply)
        return usage


def _counts_in(tail: bytes) -> Usage:
    found = {}
    for name, pattern in _COUNTS.items():
        matches = pattern.findall(tail)
        found[name] = int(matches[-1]) if matches else 0
    if found["prompt_tokens"] or found["completion_tokens"]:
        return Usage(found["prompt_tokens"], found["completion_tokens"])
    return Usage(found["prompt_eval_count"], found["eval_count"])


class NdjsonMeter(Meter):
    """Ollama's stream: only the last line matters (the `done` line with metrics, or an error)."""

    def __init__(self) -> None:
        super().__init__()
        self._last_line = b""

    def feed(self, chunk: bytes) -> bytes:
        end = chunk.rfind(b"\n")
        if end < 0:
            self._parts.append(chunk)
            return chunk
        head = chunk[:end]
        start = head.rfind(b"\n")
        if start >= 0:
            self._last_line = head[start + 1 :]
        elif self._parts:
            self._last_line = b"".join(self._parts) + head
        else:
            self._last_line = head
        self._parts = [chunk[end + 1 :]] if end + 1 < len(chunk) else []
        return chunk

    def result(self) -> Usage:
        # A reply without a final newline (a load request's single object) is the last line.
        last = b"".join(self._parts) if self._parts else self._last_line
        return usage_of(_loads(last))


class SseMeter(Meter):
    """The OpenAI-style stream: events end in a blank line. The usage event is read; when the
    gateway asked for it on the caller's behalf it is not passed on. The closing `[DONE]` is
    held for `flush()`: clients stop reading (and the OpenAI SDK closes the connection) at it,
    so it goes out only after the usage is stored."""

    def __init__(self, *, hide_usage: bool) -> None:
        super().__init__()
        self._hide_usage = hide_usage
        self._pending = b""
        self._done = b""
        self.usage = Usage()

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            self._pending = data
            return b""
        self._pending = data[end + 2 :]
        complete = data[: end + 2]
        if complete == DONE_EVENT or complete.endswith(b"\n\n" + DONE_EVENT):
            self._done = DONE_EVENT
            complete = complete[: -len(DONE_EVENT)]
        if b'"usage":{' not in complete:
            return complete
        kept = []
        for event in complete.split(b"\n\n")[:-1]:
            if b'"usage":{' in event and event.startswith(b"data: "):
                self.usage = usage_of(_loads(event[6:]))
                if self._hide_usage:
                    continue
            kept.append(event + b"\n\n")
        return b"".join(kept)

    def flush(self) -> bytes:
        held = self._done + self._pending
        self._done = self._pending = b""
        return held

    def result(self) -> Usage:
        return self.usage
