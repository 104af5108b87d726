"""What reading an export produces and how its values are read: the records store.py saves, the
ImportRejected refusal, the limits that fit the database, and Fields, the typed reads of one
object that name where a bad value was."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django import forms as django_forms
from django.utils.dateparse import parse_datetime
from django.utils.text import Truncator

from conversations.chat.forms import OPTION_FIELDS, ConversationSettingsForm
from conversations.models import Message

FORMAT_NAME = "chatsite"
FORMAT_VERSION = 1
TITLE_LENGTH = 200
MODEL_LENGTH = 300
ASSISTANT_NAME_LENGTH = 100
ERROR_LENGTH = 2_000
_SYSTEM_PROMPT = ConversationSettingsForm.base_fields["system_prompt"]
assert isinstance(_SYSTEM_PROMPT, django_forms.CharField) and _SYSTEM_PROMPT.max_length
SYSTEM_PROMPT_LENGTH: int = _SYSTEM_PROMPT.max_length
# The largest counts the database columns hold (PositiveIntegerField, PositiveBigIntegerField).
MAX_TOKENS = 2**31 - 1
MAX_NANOSECONDS = 2**63 - 1
# A date is never longer; longer text is not parsed as one.
_LONGEST_DATE = 64
# Django's choices enums build these lists anew on every access: once here, not once a message.
ROLES = list(Message.Role.values)
STATES = list(Message.State.values)


class ImportRejected(Exception):
    """The file cannot be imported; the message says where and why, for the person importing."""


@dataclass
class ImportedAttachment:
    """An image (already checked and re-encoded, as an upload is) or a document's text."""

    kind: str
    name: str
    content_type: str
    size: int
    data: bytes = b""
    width: int | None = None
    height: int | None = None
    text: str = ""
    text_chars: int = 0


@dataclass
class ImportedMessage:
    role: str
    content: str
    thinking: str = ""
    state: str = Message.State.COMPLETE
    error: str = ""
    model: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    eval_duration_ns: int | None = None
    total_duration_ns: int | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    attachments: list[ImportedAttachment] = field(default_factory=list)


@dataclass
class ImportedConversation:
    title: str
    messages: list[ImportedMessage]
    model: str = ""
    system_prompt: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    think: bool = True
    pinned: bool = False
    archived: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The assistant it started from: its name and the settings it copied (never an assistant
    # of the importing site).
    assistant_name: str = ""
    assistant_settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedFile:
    format: str  # a name people know: "chatsite", "Open WebUI", "ChatGPT"
    conversations: list[ImportedConversation]
    cut_messages: int = 0  # messages whose text or thinking was over the limit and was cut


def chat_label(number: int, title: Any) -> str:
    if isinstance(title, str) and title.strip():
        return f'Chat {number} ("{Truncator(title[:200].strip()).chars(60)}")'
    return f"Chat {number}"


def kind_of(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def shown(value: Any) -> str:
    """A value from the file quoted in a message, never longer than a line."""
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:59] + "…", ensure_ascii=False)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return kind_of(value)


class Fields:
    """Typed reads of one JSON object; a wrong value is rejected naming where it was."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ImportRejected(f"{where}: expected an object, found {kind_of(data)}.")
        self.data = data
        self.where = where

    def reject(self, key: str, expected: str) -> ImportRejected:
        found = kind_of(self.data.get(key))
        return ImportRejected(f'{self.where}: "{key}" must be {expected}, not {found}.')

    def text(self, key: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = self.data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            raise self.reject(key, "text")
        if max_length is not None and len(value) > max_length:
            raise ImportRejected(
                f'{self.where}: "{key}" is {len(value):,} characters long; '
                f"the limit is {max_length:,}."
            )
        return value

    def choice(self, key: str, choices: list[str], default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            allowed = " or ".join(f'"{c}"' for c in choices)
            raise ImportRejected(f'{self.where}: "{key}" must be {allowed}, not {shown(value)}.')
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.reject(key, "true or false")
        return value

    def obj(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.reject(key, "an object")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise self.reject(key, "a list")
        return value

    def count(self, key: str, maximum: int) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise ImportRejected(
                f'{self.where}: "{key}" must be a whole number from 0 to {maximum:,} or null, '
                f"not {shown(value)}."
            )
        return value

    def moment(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            return None
        moment = _datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise self.reject(key, "a date and time such as 2025-01-31T12:00:00+00:00")
        return moment


def _datetime(text: str) -> datetime | None:
    """An ISO 8601 time in UTC (UTC when it names no zone), or None for anything else: a long
    text, a well-formed time that does not exist (2025-02-30), one that leaves the calendar once
    moved to UTC (9999-12-31T23:59-23:59)."""
    if len(text) > _LONGEST_DATE:
        return None
    try:
        moment = parse_datetime(text)
        if moment is None:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def valid_options(raw: dict[str, Any], where: str | None) -> dict[str, Any]:
    """The Ollama options chatsite understands; with a `where`, a bad value rejects the file,
    without one (foreign formats) it is left out."""
    fields = ConversationSettingsForm.base_fields
    options = {}
    for name in OPTION_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        try:
            # A list or an object is no option; str() of a deeply nested one would even recurse
            # past Python's limit inside the form field.
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise django_forms.ValidationError("not a number")
            options[name] = fields[name].clean(value)
        except django_forms.ValidationError as error:
            if where is not None:
                raise ImportRejected(
                    f'{where}: option "{name}": {" ".join(error.messages)}'
                ) from None
    return {k: v for k, v in options.items() if v is not None}
