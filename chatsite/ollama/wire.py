"""Reading Ollama's wire format: NDJSON streams split into lines, and JSON objects turned into the
typed results, leniently about optional fields and strictly about types. No HTTP here.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, TypeVar

from .errors import OllamaResponseError, OllamaStreamError
from .results import (
    ChatChunk,
    ChatMessage,
    ChatMetrics,
    GenerateResult,
    InstalledModel,
    ModelDetails,
    ModelInfo,
    PullProgress,
    RunningModel,
)

# The official Go client reads stream lines of up to 8 MB (api/client.go maxBufferSize); a longer
# line means something is wrong, and buffering it without bound would let one reply eat memory.
MAX_LINE_BYTES = 8 * 1024 * 1024

_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------
# Replies, as the client asks for them


def parse(build: Callable[[], _T], *, host: str, streaming: bool) -> _T:
    """Run a parser over Ollama's JSON, turning a shape we cannot read into an OllamaError."""
    try:
        return build()
    except _Malformed as exc:
        if streaming:
            raise OllamaStreamError(
                f"a reply line could not be read ({exc})", host=host, status=200
            ) from None
        raise OllamaResponseError(
            f"the reply could not be read ({exc})",
            host=host,
            status=200,
            sentence=f"Ollama at {host} sent a reply that could not be read ({exc})",
        ) from None


def reply_object(body: bytes, *, host: str, status: int) -> dict[str, Any]:
    """A plain call's reply, which must be one JSON object."""
    try:
        reply = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        reply = None
    if not isinstance(reply, dict):
        raise OllamaResponseError(
            "the reply is not a JSON object",
            host=host,
            status=status,
            sentence=f"Ollama at {host} sent a reply that could not be read",
        )
    return reply


def version(reply: Mapping[str, Any]) -> str:
    return _str(reply, "version", required=True)


def installed_models(reply: Mapping[str, Any]) -> list[InstalledModel]:
    return [_installed(m) for m in _objects(reply, "models")]


def running_models(reply: Mapping[str, Any]) -> list[RunningModel]:
    return [_running(m) for m in _objects(reply, "models")]


def model_info(name: str, obj: Mapping[str, Any]) -> ModelInfo:
    info = _object(obj, "model_info")
    details = _details(obj)
    architecture = info.get("general.architecture")
    context_length = None
    if isinstance(architecture, str):
        context_length = _optional_int(info, f"{architecture}.context_length")
    return ModelInfo(
        name=name,
        capabilities=_strs(obj, "capabilities"),
        context_length=context_length if context_length is not None else details.context_length,
        parameters=_str(obj, "parameters"),
        template=_str(obj, "template"),
        license=_str(obj, "license"),
        modelfile=_str(obj, "modelfile"),
        system=_str(obj, "system"),
        details=details,
        model_info=MappingProxyType(dict(info)),
        modified_at=_time(obj, "modified_at"),
    )


def generate_result(obj: Mapping[str, Any]) -> GenerateResult:
    return GenerateResult(
        response=_str(obj, "response"),
        thinking=_str(obj, "thinking"),
        done_reason=_str(obj, "done_reason") or None,
        metrics=_metrics(obj) if _done(obj) else None,
    )


def chat_chunk(obj: Mapping[str, Any]) -> ChatChunk:
    message = _object(obj, "message")
    done = _done(obj)
    return ChatChunk(
        content=_str(message, "content"),
        thinking=_str(message, "thinking"),
        done=done,
        done_reason=_str(obj, "done_reason") or None,
        metrics=_metrics(obj) if done else None,
    )


def pull_progress(obj: Mapping[str, Any]) -> PullProgress:
    return PullProgress(
        status=_str(obj, "status", required=True),
        digest=_str(obj, "digest") or None,
        total=_optional_int(obj, "total"),
        completed=_optional_int(obj, "completed"),
    )


def message_payload(message: ChatMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.thinking:
        payload["thinking"] = message.thinking
    if message.images:
        payload["images"] = list(message.images)
    return payload


# ---------------------------------------------------------------------------------------------
# NDJSON streams


class NdjsonBuffer:
    """Splits a streamed body into its non-blank lines, none longer than MAX_LINE_BYTES."""

    def __init__(self, chunks: AsyncIterator[bytes], *, host: str) -> None:
        self._chunks = chunks
        self._host = host
        self._buffer = bytearray()
        self._scanned = 0
        self._eof = False

    async def readline(self) -> bytes | None:
        """The next line without its newline, or None at the end of the body."""
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                self._scanned = 0
                self._check_length(len(line))
                if line.strip():
                    return line
                continue
            self._scanned = len(self._buffer)
            self._check_length(len(self._buffer))
            if self._eof:
                # A single-object reply (load, or an error) has no trailing newline.
                line, self._buffer = bytes(self._buffer), bytearray()
                self._scanned = 0
                return line if line.strip() else None
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._eof = True
                continue
            self._buffer += chunk

    def _check_length(self, length: int) -> None:
        if length > MAX_LINE_BYTES:
            raise OllamaStreamError(
                f"a line of the reply was longer than {MAX_LINE_BYTES // (1024 * 1024)} MB",
                host=self._host,
                status=200,
            )


def stream_object(line: bytes, *, host: str) -> dict[str, Any]:
    """One line of a stream as its JSON object; an {"error": ...} line raises."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        obj = None
    if not isinstance(obj, dict):
        raise OllamaStreamError("Ollama sent a line that is not valid JSON", host=host, status=200)
    if obj.get("error"):
        # Same rule as the Go client: any line with a non-empty "error" ends the stream.
        raise OllamaStreamError(str(obj["error"]), host=host, status=200)
    return obj


# ---------------------------------------------------------------------------------------------
# Fields. Lenient about optional ones (older servers omit them, `families` may be null), strict
# about types, so a reply we cannot read becomes one clear error.


class _Malformed(Exception):
    pass


def _objects(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Malformed(f"{key!r} is not a list of objects")
    return value


def _str(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise _Malformed(f"{key!r} is missing")
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} is not a string")
    return value


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed(f"{key!r} is not a number")
    return value


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = _optional_int(obj, key)
    return 0 if value is None else value


def _strs(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Malformed(f"{key!r} is not a list of strings")
    return tuple(value)


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"{key!r} is not an object")
    return value


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))?"
)


def _time(obj: Mapping[str, Any], key: str) -> datetime | None:
    """RFC 3339 with up to 9 fractional digits (Go's RFC3339Nano); None when absent, unreadable
    or Go's zero time, since a timestamp is never worth failing a whole reply over."""
    value = obj.get(key)
    match = _RFC3339.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    tz = UTC
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError:
        return None
    return None if moment.year <= 1 else moment


def _details(obj: Mapping[str, Any]) -> ModelDetails:
    details = _object(obj, "details")
    return ModelDetails(
        format=_str(details, "format"),
        family=_str(details, "family"),
        families=_strs(details, "families"),
        parameter_size=_str(details, "parameter_size"),
        quantization_level=_str(details, "quantization_level"),
        context_length=_optional_int(details, "context_length"),
    )


def _installed(obj: Mapping[str, Any]) -> InstalledModel:
    name = _str(obj, "name") or _str(obj, "model", required=True)
    return InstalledModel(
        name=name,
        model=_str(obj, "model") or name,
        size=_int(obj, "size"),
        digest=_str(obj, "digest"),
        modified_at=_time(obj, "modified_at"),
        details=_details(obj),
        capabilities=_strs(obj, "capabilities"),
    )


def _running(obj: Mapping[str, Any]) -> RunningModel:
    name = _str(obj, "name") or _str(obj, "model", required=True)
    return RunningModel(
        name=name,
        model=_str(obj, "model") or name,
        size=_int(obj, "size"),
        size_vram=_int(obj, "size_vram"),
        digest=_str(obj, "digest"),
        expires_at=_time(obj, "expires_at"),
        context_length=_optional_int(obj, "context_length"),
        details=_details(obj),
    )


def _metrics(obj: Mapping[str, Any]) -> ChatMetrics:
    return ChatMetrics(
        total_duration=_int(obj, "total_duration"),
        load_duration=_int(obj, "load_duration"),
        prompt_eval_count=_int(obj, "prompt_eval_count"),
        prompt_eval_duration=_int(obj, "prompt_eval_duration"),
        eval_count=_int(obj, "eval_count"),
        eval_duration=_int(obj, "eval_duration"),
    )


def _done(obj: Mapping[str, Any]) -> bool:
    done = obj.get("done", False)
    if not isinstance(done, bool):
        raise _Malformed("'done' is not true or false")
    return done
