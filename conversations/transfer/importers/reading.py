"""Reading an uploaded file: the zip around it, JSON with NaN and Infinity as null, which vendor's
export the document is, and texts made storable (no NUL, no lone surrogate, cut with a note)."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

from conversations.transfer.importers.chatgpt import read_chatgpt_chat
from conversations.transfer.importers.chatsite import read_chatsite
from conversations.transfer.importers.open_webui import read_open_webui_chat
from conversations.transfer.importers.records import (
    ERROR_LENGTH,
    FORMAT_NAME,
    SYSTEM_PROMPT_LENGTH,
    ImportedConversation,
    ImportRejected,
    ParsedFile,
    chat_label,
    kind_of,
    shown,
)

# No number in a chat export has this many digits; longer ones are ignored before int() spends
# time on them (and Python refuses more than 4,300 digits with a ValueError).
_LONGEST_NUMBER = 40
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_upload(data: bytes, *, max_bytes: int, max_message_chars: int) -> ParsedFile:
    """Detect the format of an uploaded file and read every conversation in it; a message's
    text or thinking longer than `max_message_chars` is cut, with a note saying so."""
    if data.startswith(b"PK\x03\x04"):
        data = _json_from_zip(data, max_bytes)
    try:
        document = json.loads(
            data.decode("utf-8-sig"),
            # NaN, Infinity, 1e999 and 10**5000 are no value a chat export means: null.
            parse_constant=lambda name: None,
            parse_float=_finite_float,
            parse_int=_sane_int,
        )
    except UnicodeDecodeError:
        raise ImportRejected("The file is not UTF-8 text, so it is not a JSON export.") from None
    except json.JSONDecodeError as error:
        raise ImportRejected(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise ImportRejected("The file nests too deeply to be a chat export.") from None
    return parse_document(document, max_message_chars=max_message_chars)


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _sane_int(text: str) -> int | None:
    return int(text) if len(text) <= _LONGEST_NUMBER else None


def parse_document(document: Any, *, max_message_chars: int) -> ParsedFile:
    if isinstance(document, dict) and document.get("format") == FORMAT_NAME:
        parsed = ParsedFile("chatsite", read_chatsite(document))
    else:
        parsed = _foreign_document(document)
    cut = fit_for_storage(parsed.conversations, max_message_chars)
    return ParsedFile(parsed.format, parsed.conversations, cut_messages=cut)


def _foreign_document(document: Any) -> ParsedFile:
    chats = document if isinstance(document, list) else [document]
    first = chats[0] if chats and isinstance(chats[0], dict) else {}
    if "mapping" in first:
        return ParsedFile("ChatGPT", _each(chats, read_chatgpt_chat))
    if isinstance(first.get("chat"), dict):
        return ParsedFile("Open WebUI", _each(chats, read_open_webui_chat))
    if isinstance(document, list) and not document:
        raise ImportRejected("The file holds an empty list: there are no conversations in it.")
    raise ImportRejected(
        "This file is not a chatsite, Open WebUI or ChatGPT export: expected chatsite's "
        '{"format": "chatsite", ...}, a list of Open WebUI chats (each with "chat"), or '
        'ChatGPT\'s conversations.json (each with "mapping").'
    )


def _json_from_zip(data: bytes, max_bytes: int) -> bytes:
    """conversations.json from ChatGPT's data-export zip, or the zip's only .json file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = [n for n in archive.namelist() if n.lower().endswith(".json")]
    except zipfile.BadZipFile:
        raise ImportRejected("The file looks like a zip archive but cannot be read.") from None
    chosen = [n for n in names if n.rsplit("/", 1)[-1] == "conversations.json"] or names
    if len(chosen) != 1:
        raise ImportRejected(
            "The zip archive should hold conversations.json (ChatGPT's export) or exactly one "
            f".json file; it holds {len(names)} .json files."
        )
    try:
        with archive.open(chosen[0]) as member:
            # The sizes in a zip's directory can lie; count what actually comes out.
            content = member.read(max_bytes + 1)
    # A damaged member (bad CRC, broken deflate stream, cut short), an encrypted one, or a
    # compression method Python does not have.
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as error:
        raise ImportRejected(
            f"{shown(chosen[0])} in the zip archive cannot be read ({error})."
        ) from None
    if len(content) > max_bytes:
        raise ImportRejected(
            f"{shown(chosen[0])} in the zip archive is larger than the import limit of "
            f"{max_bytes:,} bytes."
        )
    return content


def _each(
    chats: list[Any], read: Callable[[dict[str, Any], str], ImportedConversation]
) -> list[ImportedConversation]:
    conversations = []
    for number, chat in enumerate(chats, start=1):
        if not isinstance(chat, dict):
            raise ImportRejected(f"Chat {number}: expected an object, found {kind_of(chat)}.")
        conversations.append(read(chat, chat_label(number, chat.get("title"))))
    return conversations


def fit_for_storage(conversations: list[ImportedConversation], max_message_chars: int) -> int:
    """Make every text storable and bounded: no NUL (PostgreSQL refuses it), no lone surrogate
    (no database can encode it), a message's text and thinking cut at `max_message_chars` with a
    note saying so. Returns how many messages were cut."""
    cut = 0
    for conversation in conversations:
        conversation.title = _storable(conversation.title)
        conversation.model = _storable(conversation.model)
        conversation.system_prompt, _ = _capped(
            _storable(conversation.system_prompt), SYSTEM_PROMPT_LENGTH
        )
        for message in conversation.messages:
            message.content, content_cut = _capped(_storable(message.content), max_message_chars)
            message.thinking, thinking_cut = _capped(_storable(message.thinking), max_message_chars)
            message.error, _ = _capped(_storable(message.error), ERROR_LENGTH)
            message.model = _storable(message.model)
            for attachment in message.attachments:
                attachment.name = _storable(attachment.name) or "file"
                attachment.text = _storable(attachment.text)
            cut += int(content_cut or thinking_cut)
    return cut


def _storable(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # "\ud800" in JSON: half of a character, alone
        return _SURROGATE.sub("\ufffd", text)
    return text


def _capped(text: str, limit: int) -> tuple[str, bool]:
    """The text, or its beginning and a visible note when it is longer than `limit`; the result
    is never longer than `limit` (so the settings form accepts a cut system prompt)."""
    if len(text) <= limit:
        return text, False
    note = f"\n\n[… cut at {limit:,} characters on import]"
    return text[: max(limit - len(note), 0)] + note, True
