"""Ollama's Go server on the wire: content types, HTML-safe compact JSON, RFC 3339 times, Go
durations and decode errors, and the /api/chat and /api/generate reply objects.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

JSON_UTF8 = "application/json; charset=utf-8"  # gin's c.JSON
JSON_PLAIN = "application/json"  # a stream that fails before its first byte
NDJSON = "application/x-ndjson"
TEXT = "text/plain"  # gin's default 404/405 bodies


def go_json(obj: Any) -> bytes:
    """Compact JSON with Go's HTML-safe escapes (<, >, & and the JS line separators)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text.encode()


def go_time(moment: datetime, nanos: int = 0) -> str:
    """RFC3339Nano as Go writes it: trailing zeros trimmed, "Z" for UTC, else the offset."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}{nanos % 1000:03d}".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = moment.utcoffset()
    if offset is None or offset == timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _created_at() -> str:
    now = time.time_ns()
    return go_time(
        datetime.fromtimestamp(now // 1_000_000_000, UTC).replace(
            microsecond=now // 1000 % 1_000_000
        ),
        now,
    )


def local_now() -> datetime:
    return datetime.now().astimezone()


_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_keep_alive(value: Any) -> tuple[float | None, str | None]:
    """api.Duration.UnmarshalJSON: seconds as a number, or a Go duration string."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        kind = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}
        return None, f"Unsupported type: '{kind.get(type(value), type(value).__name__)}'"
    if not isinstance(value, str):
        return float(value), None
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0, None
    if not body or not re.fullmatch(f"(?:{_DURATION.pattern})+", body):
        if re.fullmatch(r"[0-9.]+", body):
            return None, f'time: missing unit in duration "{value}"'
        return None, f'time: invalid duration "{value}"'
    seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION.findall(body))
    return sign * seconds, None


def parse_think(value: Any) -> tuple[bool | str | None, str | None]:
    if value is None or isinstance(value, bool):
        return value, None
    if isinstance(value, str) and value in ("low", "medium", "high", "max"):
        return value, None
    return None, (
        f"invalid think value: {json.dumps(value)} "
        '(must be "high", "medium", "low", "max", true, or false)'
    )


def reply_object(
    name: str, chat: bool, content: str, thinking: str, **extra: Any
) -> dict[str, Any]:
    """One /api/chat or /api/generate object, fields in Ollama's order."""
    obj: dict[str, Any] = {"model": name, "created_at": _created_at()}
    if chat:
        obj["message"] = {"role": "assistant", "content": content}
        if thinking:
            obj["message"]["thinking"] = thinking
    else:
        obj["response"] = content
        if thinking:
            obj["thinking"] = thinking
    obj["done"] = "done_reason" in extra
    obj.update(extra)
    return obj


def go_decode_error(raw: bytes, exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        if exc.pos >= len(exc.doc.rstrip()):
            return "unexpected EOF"
        return f"invalid character '{exc.doc[exc.pos]}' looking for beginning of value"
    return "invalid character looking for beginning of value"
