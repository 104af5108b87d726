"""Reading uploaded exports into plain records: chatsite's own JSON, Open WebUI's "export all
chats" JSON and ChatGPT's conversations.json (alone or in its data-export zip).

Nothing here touches the database: a file is read completely, or rejected with a message naming
the chat and the field, before transfer.save_imported() writes anything.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms as django_forms
from django.utils.dateparse import parse_datetime
from django.utils.text import Truncator

from conversations.forms import OPTION_FIELDS, ConversationSettingsForm
from conversations.models import Message

FORMAT_NAME = "chatsite"
FORMAT_VERSION = 1
TITLE_LENGTH = 200
MODEL_LENGTH = 300
# Open WebUI writes a reasoning model's thinking into the reply as a <details> block.
_OPEN_WEBUI_REASONING = re.compile(
    r'^\s*<details type="reasoning"[^>]*>\s*(?:<summary>.*?</summary>)?(.*?)</details>\s*',
    re.DOTALL,
)


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


def read_upload(data: bytes, max_bytes: int) -> ParsedFile:
    """Detect the format of an uploaded file and read every conversation in it."""
    if data.startswith(b"PK\x03\x04"):
        data = _json_from_zip(data, max_bytes)
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRejected("The file is not UTF-8 text, so it is not a JSON export.") from None
    except json.JSONDecodeError as error:
        raise ImportRejected(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise ImportRejected("The file nests too deeply to be a chat export.") from None
    return parse_document(document)


def parse_document(document: Any) -> ParsedFile:
    if isinstance(document, dict) and document.get("format") == FORMAT_NAME:
        return ParsedFile("chatsite", read_chatsite(document))
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
    with archive.open(chosen[0]) as member:
        # The sizes in a zip's directory can lie; count what actually comes out.
        content = member.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ImportRejected(
            f"{chosen[0]} in the zip archive is larger than the import limit of "
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
        return f'Chat {number} ("{Truncator(title.strip()).chars(60)}")'
    return f"Chat {number}"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


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
            shown = json.dumps(value) if isinstance(value, str | int | float) else _kind(value)
            raise ImportRejected(f'{self.where}: "{key}" must be {allowed}, not {shown}.')
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

    def count(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.reject(key, "a whole number of at least 0 or null")
        return value

    def moment(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise self.reject(key, "a date and time such as 2025-01-31T12:00:00+00:00")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
            if isinstance(value, bool):
                raise django_forms.ValidationError("not a number")
            options[name] = fields[name].clean(value)
        except django_forms.ValidationError as error:
            if where is not None:
                raise ImportRejected(
                    f'{where}: option "{name}": {" ".join(error.messages)}'
                ) from None
    return {k: v for k, v in options.items() if v is not None}


# chatsite's own format ------------------------------------------------------------------------


def read_chatsite(document: dict[str, Any]) -> list[ImportedConversation]:
    top = Fields(document, "The file")
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise ImportRejected(
            f"The file is chatsite export version {json.dumps(version)}; this site reads "
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
    state = f.choice("state", list(Message.State.values), default=Message.State.COMPLETE)
    error = f.text("error")
    if state == Message.State.STREAMING:
        # No process is writing this reply any more: keep what was exported, as a lost reply.
        state, error = Message.State.INTERRUPTED, error or "This reply was exported unfinished."
    return ImportedMessage(
        role=f.choice("role", list(Message.Role.values)),
        content=f.text("content", required=True),
        thinking=f.text("thinking"),
        state=state,
        error=error,
        model=f.text("model", max_length=MODEL_LENGTH),
        options=f.obj("options"),
        prompt_eval_count=f.count("prompt_eval_count"),
        eval_count=f.count("eval_count"),
        eval_duration_ns=f.count("eval_duration_ns"),
        total_duration_ns=f.count("total_duration_ns"),
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
        elif role in Message.Role.values:
            conversation.messages.append(_open_webui_message(message, role, content))
    return _finished(conversation)


def _open_webui_message(f: Fields, role: str, content: str) -> ImportedMessage:
    thinking = ""
    reasoning = _OPEN_WEBUI_REASONING.match(content)
    if role == Message.Role.ASSISTANT and reasoning:
        thinking = "\n".join(
            line.removeprefix(">").removeprefix(" ") for line in reasoning.group(1).splitlines()
        ).strip()
        content = content[reasoning.end() :]
    usage = {**_dict(f.data.get("info")), **_dict(f.data.get("usage"))}
    error = f.data.get("error")
    error_text = ""
    if error:
        error_text = str(error.get("content", "")) if isinstance(error, dict) else str(error)
        error_text = error_text if error_text not in ("", "True") else "The reply failed."
    return ImportedMessage(
        role=role,
        content=content,
        thinking=thinking,
        state=_failed_state(content) if error_text else Message.State.COMPLETE,
        error=error_text,
        model=_model(f.data.get("model") if role == Message.Role.ASSISTANT else ""),
        prompt_eval_count=_whole(usage.get("prompt_eval_count")),
        eval_count=_whole(usage.get("eval_count")),
        eval_duration_ns=_whole(usage.get("eval_duration")),
        total_duration_ns=_whole(usage.get("total_duration")),
        created_at=_epoch(f.data.get("timestamp")),
    )


# ChatGPT ----------------------------------------------------------------------------------------


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
    thinking: list[str] = []
    for node in branch:
        node_id = node.get("id", "?")
        raw = node.get("message")
        if raw is None:
            continue
        message = Fields(raw, f'{label}, node "{node_id}", "message"')
        role = Fields(message.obj("author"), f'{label}, node "{node_id}", "message.author"')
        text, thoughts = _chatgpt_text(message, f'{label}, node "{node_id}", "message.content"')
        thinking.extend(thoughts)
        metadata = message.obj("metadata")
        hidden = metadata.get("is_visually_hidden_from_conversation") is True
        if hidden or not text.strip() or message.data.get("recipient", "all") != "all":
            continue
        _chatgpt_append(conversation, role.text("role", required=True), text, message, thinking)
    return _finished(conversation)


def _chatgpt_text(message: Fields, where: str) -> tuple[str, list[str]]:
    content = Fields(message.obj("content"), where)
    kind = content.data.get("content_type")
    if kind in ("text", "multimodal_text"):
        parts = content.items("parts")
        return "\n\n".join(p for p in parts if isinstance(p, str) and p), []
    if kind == "thoughts":
        thoughts = content.data.get("thoughts")
        texts = [t.get("content", "") for t in thoughts or [] if isinstance(t, dict)]
        return "", [t for t in texts if isinstance(t, str) and t]
    return "", []  # tool calls, code runs, browsing and other parts chatsite has no place for


def _chatgpt_append(
    conversation: ImportedConversation,
    role: str,
    text: str,
    message: Fields,
    thinking: list[str],
) -> None:
    metadata = message.obj("metadata")
    created = _epoch(message.data.get("create_time"))
    if role == "system":
        conversation.system_prompt = conversation.system_prompt or text
        return
    if role not in Message.Role.values:
        return  # tool output: shown to the model, not part of the conversation people read
    previous = conversation.messages[-1] if conversation.messages else None
    if role == Message.Role.ASSISTANT and previous and previous.role == role:
        # ChatGPT splits one answer around tool use; chatsite shows it as one reply.
        previous.content += "\n\n" + text
        previous.thinking = "\n\n".join(filter(None, [previous.thinking, *thinking]))
    else:
        conversation.messages.append(
            ImportedMessage(
                role=role,
                content=text,
                thinking="\n\n".join(thinking) if role == Message.Role.ASSISTANT else "",
                model=_model(metadata.get("model_slug") if role == Message.Role.ASSISTANT else ""),
                created_at=created,
            )
        )
    thinking.clear()


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
            f'{where}: "{current_key}" must name one of its messages, '
            f"not {json.dumps(current) if isinstance(current, str) else _kind(current)}."
        )
    branch, seen, node_id = [], set(), current
    while node_id is not None:
        if node_id in seen:
            raise ImportRejected(f'{where}: the "{parent_key}" links of "{node_id}" form a loop.')
        seen.add(node_id)
        node = nodes.get(node_id)
        if not isinstance(node, dict):
            raise ImportRejected(
                f'{where}: "{parent_key}" names "{node_id}", which is not one of its messages.'
            )
        branch.append({"id": node_id, **node})
        node_id = node.get(parent_key)
        if node_id is not None and not isinstance(node_id, str):
            raise ImportRejected(f'{where}: message "{branch[-1]["id"]}" has a bad "{parent_key}".')
    return branch[::-1]


def _finished(conversation: ImportedConversation) -> ImportedConversation:
    """Fill what foreign formats leave out and make message times strictly increasing, since
    chatsite shows a conversation's messages in time order."""
    if not conversation.title:
        first = next((m.content for m in conversation.messages if m.role == "user"), "")
        conversation.title = Truncator(" ".join(first.split())).chars(60)
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
    return Truncator(value.strip()).chars(TITLE_LENGTH) if isinstance(value, str) else ""


def _model(value: Any) -> str:
    return value[:MODEL_LENGTH] if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def _epoch(value: Any) -> datetime | None:
    """Seconds since 1970 (Open WebUI, ChatGPT); milliseconds or nanoseconds when that large."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    while value > 1e11:  # later than the year 5138 in seconds: a finer unit
        value /= 1000
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
