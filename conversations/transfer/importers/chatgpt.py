"""ChatGPT's conversations.json: the branch ending at current_node, an answer split around tool
use joined into one message, "thoughts" kept as the next answer's thinking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conversations.models import Message
from conversations.transfer.importers.foreign import (
    epoch_time,
    finished,
    model_text,
    shown_branch,
    title_text,
)
from conversations.transfer.importers.records import (
    ROLES,
    Fields,
    ImportedConversation,
    ImportedMessage,
    shown,
)


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
    branch = shown_branch(mapping, current, "parent", f'{label}, "mapping"', "current_node")
    conversation = ImportedConversation(
        title=title_text(item.get("title")),
        messages=[],
        model=model_text(item.get("default_model_slug")),
        created_at=epoch_time(item.get("create_time")),
        updated_at=epoch_time(item.get("update_time")),
    )
    turns: list[_Turn] = []
    thinking: list[str] = []
    for node in branch:
        node_id = shown(node.get("id", "?"))
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
    return finished(conversation)


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
            model=model_text(message.obj("metadata").get("model_slug") if assistant else ""),
            created_at=epoch_time(message.data.get("create_time")),
        )
    )


def _chatgpt_time(node: dict[str, Any]) -> float:
    message = node.get("message")
    value = message.get("create_time") if isinstance(message, dict) else None
    return value if isinstance(value, int | float) else 0.0
