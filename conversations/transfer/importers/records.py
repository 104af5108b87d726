"""Reading uploaded exports into plain records: chatsite's own JSON, Open WebUI's "export all
chats" JSON and ChatGPT's conversations.json (alone or in its data-export zip).

Nothing here touches the database: a file is read completely, or rejected with a message naming
the chat and the field, before store.save_imported() writes anything. Files are untrusted:
every step takes time linear in the file's size, a foreign field of the wrong type or out of
range is ignored (a bad value in chatsite's own format is refused in a sentence), and what comes
out fits the database and the page (texts cut at the message limit, no NUL, no lone surrogate).
"""

from __future__ import annotations

import io
import json
import math
import re
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
ERROR_LENGTH = 2_000
SYSTEM_PROMPT_LENGTH: int = ConversationSettingsForm.base_fields["system_prompt"].max_length
# The largest counts the database columns hold (PositiveIntegerField, PositiveBigIntegerField).
MAX_TOKENS = 2**31 - 1
MAX_NANOSECONDS = 2**63 - 1
# No number in a chat export has this many digits; longer ones are ignored before int() spends
# time on them (and Python refuses more than 4,300 digits with a ValueError).
_LONGEST_NUMBER = 40
# A date is never longer; longer text is not parsed as one.
_LONGEST_DATE = 64
# Open WebUI before 0.12 wrote a reasoning model's thinking into the reply as <details> blocks.
_REASONING_OPEN = '<details type="reasoning"'
_SPACE = re.compile(r"\s*")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Django's choices enums build these lists anew on every access: once here, not once a message.
ROLES = list(Message.Role.values)
STATES = list(Message.State.values)


class ImportRejected(Exception):
    """The file cannot be imported; the message says where and why, for the person importing."""


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


@dataclass(frozen=True)
class ParsedFile:
    format: str  # a name people know: "chatsite", "Open WebUI", "ChatGPT"
    conversations: list[ImportedConversation]
    cut_messages: int = 0  # messages whose text or thinking was over the limit and was cut


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
            f"{_shown(chosen[0])} in the zip archive cannot be read ({error})."
        ) from None
    if len(content) > max_bytes:
        raise ImportRejected(
            f"{_shown(chosen[0])} in the zip archive is larger than the import limit of "
            f"{max_bytes:,} bytes."
        )
    return content


def _each(
    chats: list[Any], read: Callable[[dict[str, Any], str], ImportedConversation]
) -> list[ImportedConversation]:
    conversations = []
    for number, chat in enumerate(chats, start=1):
        if not isinstance(chat, dict):
            raise ImportRejected(f"Chat {number}: expected an object, found {_kind(chat)}.")
        conversations.append(read(chat, chat_label(number, chat.get("title"))))
    return conversations


def chat_label(number: int, title: Any) -> str:
    if isinstance(title, str) and title.strip():
        return f'Chat {number} ("{Truncator(title[:200].strip()).chars(60)}")'
    return f"Chat {number}"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _shown(value: Any) -> str:
    """A value from the file quoted in a message, never longer than a line."""
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:59] + "…", ensure_ascii=False)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return _kind(value)


class Fields:
    """Typed reads of one JSON object; a wrong value is rejected naming where it was."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ImportRejected(f"{where}: expected an object, found {_kind(data)}.")
        self.data = data
        self.where = where

    def reject(self, key: str, expected: str) -> ImportRejected:
        found = _kind(self.data.get(key))
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
            raise ImportRejected(f'{self.where}: "{key}" must be {allowed}, not {_shown(value)}.')
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
                f"not {_shown(value)}."
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


# chatsite's own format ------------------------------------------------------------------------


def read_chatsite(document: dict[str, Any]) -> list[ImportedConversation]:
    top = Fields(document, "The file")
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise ImportRejected(
            f"The file is chatsite export version {_shown(version)}; this site reads "
            f"version {FORMAT_VERSION}."
        )
    conversations = []
    for number, raw in enumerate(top.items("conversations"), start=1):
        label = chat_label(number, raw.get("title") if isinstance(raw, dict) else None)
        conversations.append(_chatsite_conversation(Fields(raw, label)))
    return conversations


def _chatsite_conversation(f: Fields) -> ImportedConversation:
    messages = [
        _chatsite_message(Fields(raw, f"{f.where}, message {number}"))
        for number, raw in enumerate(f.items("messages"), start=1)
    ]
    return ImportedConversation(
        title=f.text("title", max_length=TITLE_LENGTH),
        messages=messages,
        model=f.text("model", max_length=MODEL_LENGTH),
        system_prompt=f.text("system_prompt"),
        options=valid_options(f.obj("options"), f.where),
        think=f.boolean("think", True),
        pinned=f.boolean("pinned", False),
        archived=f.boolean("archived", False),
        created_at=f.moment("created_at"),
        updated_at=f.moment("updated_at"),
    )


def _chatsite_message(f: Fields) -> ImportedMessage:
    state = f.choice("state", STATES, default=Message.State.COMPLETE)
    error = f.text("error")
    if state == Message.State.STREAMING:
        # No process is writing this reply any more: keep what was exported, as a lost reply.
        state, error = Message.State.INTERRUPTED, error or "This reply was exported unfinished."
    return ImportedMessage(
        role=f.choice("role", ROLES),
        content=f.text("content", required=True),
        thinking=f.text("thinking"),
        state=state,
        error=error,
        model=f.text("model", max_length=MODEL_LENGTH),
        # What the reply was generated with: the options chatsite sends, nothing else.
        options=valid_options(f.obj("options"), None),
        prompt_eval_count=f.count("prompt_eval_count", MAX_TOKENS),
        eval_count=f.count("eval_count", MAX_TOKENS),
        eval_duration_ns=f.count("eval_duration_ns", MAX_NANOSECONDS),
        total_duration_ns=f.count("total_duration_ns", MAX_NANOSECONDS),
        created_at=f.moment("created_at"),
        finished_at=f.moment("finished_at"),
    )


# Open WebUI -------------------------------------------------------------------------------------


def read_open_webui_chat(item: dict[str, Any], label: str) -> ImportedConversation:
    """One entry of Open WebUI's export: the branch named by chat.history.currentId."""
    chat = Fields(Fields(item, label).obj("chat"), f'{label}, "chat"')
    history = Fields(chat.obj("history"), f'{label}, "chat.history"')
    nodes = history.obj("messages")
    if nodes:
        current = history.data.get("currentId")
        branch = _branch(nodes, current, "parentId", f'{label}, "chat.history"', "currentId")
    else:  # older exports: a plain list of the messages shown
        branch = chat.items("messages") if "messages" in chat.data else []
    params = chat.obj("params")
    models = chat.data.get("models")
    conversation = ImportedConversation(
        title=_title(item.get("title") or chat.data.get("title")),
        messages=[],
        model=_model(models[0] if isinstance(models, list) and models else ""),
        system_prompt=params.get("system") if isinstance(params.get("system"), str) else "",
        options=valid_options(
            {**params, "num_predict": params.get("num_predict") or params.get("max_tokens")},
            None,
        ),
        pinned=item.get("pinned") is True,
        archived=item.get("archived") is True,
        created_at=_epoch(item.get("created_at")) or _epoch(chat.data.get("timestamp")),
        updated_at=_epoch(item.get("updated_at")),
    )
    for number, raw in enumerate(branch, start=1):
        message = Fields(raw, f"{label}, message {number} of the shown branch")
        role = message.text("role", required=True)
        content = message.text("content")
        if role == "system":
            conversation.system_prompt = conversation.system_prompt or content
        elif role in ROLES:
            conversation.messages.append(_open_webui_message(message, role, content))
    return _finished(conversation)


def _open_webui_message(f: Fields, role: str, content: str) -> ImportedMessage:
    thinking = ""
    if role == Message.Role.ASSISTANT:
        thinking, content = split_reasoning(content)
        # 0.12 and later: the reply's parts as a list of items, the thinking among them.
        output_thinking, output_answer = _open_webui_output(f.data.get("output"))
        thinking = output_thinking or thinking
        content = content if content.strip() else output_answer
    usage = {**_dict(f.data.get("info")), **_dict(f.data.get("usage"))}
    error = f.data.get("error")
    error_text = ""
    if error:
        error_text = error.get("content") if isinstance(error, dict) else error
        error_text = error_text if isinstance(error_text, str) else ""
        error_text = error_text if error_text not in ("", "True") else "The reply failed."
    return ImportedMessage(
        role=role,
        content=content,
        thinking=thinking,
        state=_failed_state(content) if error_text else Message.State.COMPLETE,
        error=error_text,
        model=_model(f.data.get("model") if role == Message.Role.ASSISTANT else ""),
        prompt_eval_count=_whole(usage, ("prompt_eval_count", "prompt_tokens"), MAX_TOKENS),
        eval_count=_whole(usage, ("eval_count", "completion_tokens"), MAX_TOKENS),
        eval_duration_ns=_whole(usage, ("eval_duration",), MAX_NANOSECONDS),
        total_duration_ns=_whole(usage, ("total_duration",), MAX_NANOSECONDS),
        created_at=_epoch(f.data.get("timestamp")),
    )


def split_reasoning(content: str) -> tuple[str, str]:
    """(thinking, answer) of a reply that starts with <details type="reasoning"> blocks.

    Found with str.find, so the time is linear in the length whatever the text: a regular
    expression here backtracked quadratically on an unclosed block (60 KB took 10 seconds).
    """
    thoughts = []
    position = _SPACE.match(content).end()
    while content.startswith(_REASONING_OPEN, position):
        opened = content.find(">", position + len(_REASONING_OPEN))
        closed = content.find("</details>", opened) if opened != -1 else -1
        if closed == -1:
            break  # an unfinished block (the reply was cut off) stays part of the text
        start = _SPACE.match(content, opened + 1).end()
        if content.startswith("<summary>", start):
            summary_end = content.find("</summary>", start, closed)
            if summary_end != -1:
                start = summary_end + len("</summary>")
        # The thinking is quoted Markdown ("> " before every line).
        lines = content[start:closed].splitlines()
        thoughts.append("\n".join(line.removeprefix(">").removeprefix(" ") for line in lines))
        position = _SPACE.match(content, closed + len("</details>")).end()
    if not thoughts:
        return "", content
    return "\n\n".join(t.strip() for t in thoughts if t.strip()), content[position:]


def _open_webui_output(output: Any) -> tuple[str, str]:
    """(thinking, answer) from an `output` list: "reasoning" items and "message" items, each
    holding a list of {"type": "output_text", "text": ...} parts. Tool calls are left out."""
    if not isinstance(output, list):
        return "", ""
    thoughts, answers = [], []
    for item in output:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "reasoning":
            thoughts.append(_output_text(item.get("content")) or _output_text(item.get("summary")))
        elif item.get("type") == "message":
            answers.append(_output_text(item.get("content")))
    return _paragraphs(thoughts).strip(), _paragraphs(answers)


def _output_text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return ""
    return _paragraphs(part.get("text") for part in parts if isinstance(part, dict))


def _paragraphs(texts: Iterable[Any]) -> str:
    return "\n\n".join(t for t in texts if isinstance(t, str) and t.strip())


# ChatGPT ----------------------------------------------------------------------------------------


@dataclass
class _Turn:
    """One message being put together: ChatGPT splits an answer around tool use into several
    nodes, and chatsite shows it as one. Parts are joined once at the end (adding to a string
    node by node copies it every time: quadratic for a long run of nodes)."""

    role: str
    texts: list[str]
    thoughts: list[str]
    model: str
    created_at: datetime | None

    def message(self) -> ImportedMessage:
        return ImportedMessage(
            role=self.role,
            content="\n\n".join(self.texts),
            thinking="\n\n".join(self.thoughts),
            model=self.model,
            created_at=self.created_at,
        )


def read_chatgpt_chat(item: dict[str, Any], label: str) -> ImportedConversation:
    """One conversation of ChatGPT's conversations.json: the branch ending at current_node."""
    f = Fields(item, label)
    mapping = f.obj("mapping")
    current = item.get("current_node")
    if current is None and mapping:  # older exports: the newest leaf is the one shown
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        current = max(leaves, key=lambda k: _chatgpt_time(mapping[k]), default=None)
    branch = _branch(mapping, current, "parent", f'{label}, "mapping"', "current_node")
    conversation = ImportedConversation(
        title=_title(item.get("title")),
        messages=[],
        model=_model(item.get("default_model_slug")),
        created_at=_epoch(item.get("create_time")),
        updated_at=_epoch(item.get("update_time")),
    )
    turns: list[_Turn] = []
    thinking: list[str] = []
    for node in branch:
        node_id = _shown(node.get("id", "?"))
        raw = node.get("message")
        if raw is None:
            continue
        message = Fields(raw, f'{label}, node {node_id}, "message"')
        role = Fields(message.obj("author"), f'{label}, node {node_id}, "message.author"')
        text, thoughts = _chatgpt_text(message, f'{label}, node {node_id}, "message.content"')
        thinking.extend(thoughts)
        metadata = message.obj("metadata")
        hidden = metadata.get("is_visually_hidden_from_conversation") is True
        if hidden or not text.strip() or message.data.get("recipient", "all") != "all":
            continue
        role_name = role.text("role", required=True)
        if role_name == "system":
            conversation.system_prompt = conversation.system_prompt or text
        elif role_name in ROLES:  # not tool output, shown to the model only
            _chatgpt_add(turns, role_name, text, message, thinking)
            thinking = []
    conversation.messages = [turn.message() for turn in turns]
    return _finished(conversation)


def _chatgpt_text(message: Fields, where: str) -> tuple[str, list[str]]:
    content = Fields(message.obj("content"), where)
    kind = content.data.get("content_type")
    if kind in ("text", "multimodal_text"):
        parts = content.items("parts")
        return "\n\n".join(p for p in parts if isinstance(p, str) and p), []
    if kind == "thoughts":
        thoughts = content.data.get("thoughts")
        thoughts = thoughts if isinstance(thoughts, list) else []
        texts = [t.get("content") for t in thoughts if isinstance(t, dict)]
        return "", [t for t in texts if isinstance(t, str) and t]
    return "", []  # tool calls, code runs, browsing and other parts chatsite has no place for


def _chatgpt_add(
    turns: list[_Turn], role: str, text: str, message: Fields, thinking: list[str]
) -> None:
    previous = turns[-1] if turns else None
    if role == Message.Role.ASSISTANT and previous and previous.role == role:
        previous.texts.append(text)
        previous.thoughts.extend(thinking)
        return
    assistant = role == Message.Role.ASSISTANT
    turns.append(
        _Turn(
            role=role,
            texts=[text],
            thoughts=list(thinking) if assistant else [],
            model=_model(message.obj("metadata").get("model_slug") if assistant else ""),
            created_at=_epoch(message.data.get("create_time")),
        )
    )


def _chatgpt_time(node: dict[str, Any]) -> float:
    message = node.get("message")
    value = message.get("create_time") if isinstance(message, dict) else None
    return value if isinstance(value, int | float) else 0.0


# Shared by both foreign formats -----------------------------------------------------------------


def _branch(
    nodes: dict[str, Any], current: Any, parent_key: str, where: str, current_key: str
) -> list[dict[str, Any]]:
    """The messages from the root to `current`, following parent links: the branch shown."""
    if not isinstance(current, str) or current not in nodes:
        raise ImportRejected(
            f'{where}: "{current_key}" must name one of its messages, not {_shown(current)}.'
        )
    branch, seen, node_id = [], set(), current
    while node_id is not None:
        if node_id in seen:
            raise ImportRejected(
                f'{where}: the "{parent_key}" links of {_shown(node_id)} form a loop.'
            )
        seen.add(node_id)
        node = nodes.get(node_id)
        if not isinstance(node, dict):
            raise ImportRejected(
                f'{where}: "{parent_key}" names {_shown(node_id)}, which is not one of its '
                "messages."
            )
        branch.append({"id": node_id, **node})
        node_id = node.get(parent_key)
        if node_id is not None and not isinstance(node_id, str):
            raise ImportRejected(
                f'{where}: message {_shown(branch[-1]["id"])} has a bad "{parent_key}".'
            )
    return branch[::-1]


def _finished(conversation: ImportedConversation) -> ImportedConversation:
    """Fill what foreign formats leave out and make message times strictly increasing, since
    chatsite shows a conversation's messages in time order."""
    if not conversation.title:
        first = next((m.content for m in conversation.messages if m.role == "user"), "")
        conversation.title = Truncator(" ".join(first[:500].split())).chars(60)
    previous = None
    for message in conversation.messages:
        moment = message.created_at
        if previous is not None and (moment is None or moment <= previous):
            moment = previous + timedelta(milliseconds=1)
        message.created_at = moment or conversation.created_at
        previous = message.created_at
    if conversation.created_at is None and conversation.messages:
        conversation.created_at = conversation.messages[0].created_at
    if conversation.updated_at is None or (
        previous is not None and conversation.updated_at < previous
    ):
        conversation.updated_at = previous or conversation.created_at
    return conversation


def _failed_state(content: str) -> str:
    return Message.State.INTERRUPTED if content else Message.State.FAILED


def _title(value: Any) -> str:
    return Truncator(value[:1000].strip()).chars(TITLE_LENGTH) if isinstance(value, str) else ""


def _model(value: Any) -> str:
    return value[:MODEL_LENGTH] if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _whole(values: dict[str, Any], keys: tuple[str, ...], maximum: int) -> int | None:
    """The first of `keys` holding a count the database can store; anything else is ignored."""
    for key in keys:
        value = values.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and 0 <= value <= maximum:
            return int(value)
    return None


# Times later than this are no time a chat happened: ignored, like a missing time.
_FUTURE_ALLOWANCE = 24 * 3600


def _epoch(value: Any) -> datetime | None:
    """Seconds since 1970 (Open WebUI, ChatGPT); milliseconds, microseconds or nanoseconds when
    that large. Anything else (text, NaN, infinities, the far future) is no time: None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    seconds = next((value / scale for scale in (1, 1e3, 1e6, 1e9) if value / scale < 1e11), None)
    if seconds is None or seconds <= 0 or seconds > time.time() + _FUTURE_ALLOWANCE:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
