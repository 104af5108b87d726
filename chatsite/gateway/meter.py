"""Reading usage off an answer while it passes through: Ollama's metrics on the last NDJSON line,
the usage event of an OpenAI-style stream, or the usage in a whole JSON answer. Per chunk it costs
a search for a line end, so relaying stays cheap; everything is parsed once, at the end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
    """A whole (not streamed) answer: kept, and parsed at the end."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> bytes:
        """Take a chunk; return what is passed on (all of it, here)."""
        self._parts.append(chunk)
        return chunk

    def result(self) -> Usage:
        reply = _loads(b"".join(self._parts))
        usage = usage_of(reply)
        usage.error = usage.error or _error_text(reply)
        return usage


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
    gateway asked for it on the caller's behalf it is not passed on."""

    def __init__(self, *, hide_usage: bool) -> None:
        super().__init__()
        self._hide_usage = hide_usage
        self._pending = b""
        self.usage = Usage()

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            self._pending = data
            return b""
        self._pending = data[end + 2 :]
        complete = data[: end + 2]
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
        pending, self._pending = self._pending, b""
        return pending

    def result(self) -> Usage:
        return self.usage
