"""Open WebUI's "export all chats" JSON: the branch shown (chat.history.currentId), the thinking
from <details type="reasoning"> blocks (before 0.12) or from the reply's `output` items (0.12)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from conversations.models import Message
from conversations.transfer.importers.foreign import (
    as_dict,
    epoch_time,
    failed_state,
    finished,
    first_count,
    model_text,
    shown_branch,
    title_text,
)
from conversations.transfer.importers.records import (
    MAX_NANOSECONDS,
    MAX_TOKENS,
    ROLES,
    Fields,
    ImportedConversation,
    ImportedMessage,
    valid_options,
)

# Open WebUI before 0.12 wrote a reasoning model's thinking into the reply as <details> blocks.
_REASONING_OPEN = '<details type="reasoning"'
_SPACE = re.compile(r"\s*")


def read_open_webui_chat(item: dict[str, Any], label: str) -> ImportedConversation:
    """One entry of Open WebUI's export: the branch named by chat.history.currentId."""
    chat = Fields(Fields(item, label).obj("chat"), f'{label}, "chat"')
    history = Fields(chat.obj("history"), f'{label}, "chat.history"')
    nodes = history.obj("messages")
    if nodes:
        current = history.data.get("currentId")
        branch = shown_branch(nodes, current, "parentId", f'{label}, "chat.history"', "currentId")
    else:  # older exports: a plain list of the messages shown
        branch = chat.items("messages") if "messages" in chat.data else []
    params = chat.obj("params")
    models = chat.data.get("models")
    conversation = ImportedConversation(
        title=title_text(item.get("title") or chat.data.get("title")),
        messages=[],
        model=model_text(models[0] if isinstance(models, list) and models else ""),
        system_prompt=system if isinstance(system := params.get("system"), str) else "",
        options=valid_options(
            {**params, "num_predict": params.get("num_predict") or params.get("max_tokens")},
            None,
        ),
        pinned=item.get("pinned") is True,
        archived=item.get("archived") is True,
        created_at=epoch_time(item.get("created_at")) or epoch_time(chat.data.get("timestamp")),
        updated_at=epoch_time(item.get("updated_at")),
    )
    for number, raw in enumerate(branch, start=1):
        message = Fields(raw, f"{label}, message {number} of the shown branch")
        role = message.text("role", required=True)
        content = message.text("content")
        if role == "system":
            conversation.system_prompt = conversation.system_prompt or content
        elif role in ROLES:
            conversation.messages.append(_open_webui_message(message, role, content))
    return finished(conversation)


def _open_webui_message(f: Fields, role: str, content: str) -> ImportedMessage:
    thinking = ""
    if role == Message.Role.ASSISTANT:
        thinking, content = split_reasoning(content)
        # 0.12 and later: the reply's parts as a list of items, the thinking among them.
        output_thinking, output_answer = _open_webui_output(f.data.get("output"))
        thinking = output_thinking or thinking
        content = content if content.strip() else output_answer
    usage = {**as_dict(f.data.get("info")), **as_dict(f.data.get("usage"))}
    error = f.data.get("error")
    written = error.get("content") if isinstance(error, dict) else error
    error_text = written if isinstance(written, str) else ""
    if error and error_text in ("", "True"):
        error_text = "The reply failed."
    return ImportedMessage(
        role=role,
        content=content,
        thinking=thinking,
        state=failed_state(content) if error_text else Message.State.COMPLETE,
        error=error_text,
        model=model_text(f.data.get("model") if role == Message.Role.ASSISTANT else ""),
        prompt_eval_count=first_count(usage, ("prompt_eval_count", "prompt_tokens"), MAX_TOKENS),
        eval_count=first_count(usage, ("eval_count", "completion_tokens"), MAX_TOKENS),
        eval_duration_ns=first_count(usage, ("eval_duration",), MAX_NANOSECONDS),
        total_duration_ns=first_count(usage, ("total_duration",), MAX_NANOSECONDS),
        created_at=epoch_time(f.data.get("timestamp")),
    )


def split_reasoning(content: str) -> tuple[str, str]:
    """(thinking, answer) of a reply that starts with <details type="reasoning"> blocks.

    Found with str.find, so the time is linear in the length whatever the text: a regular
    expression here backtracked quadratically on an unclosed block (60 KB took 10 seconds).
    """
    thoughts = []
    position = _after_space(content, 0)
    while content.startswith(_REASONING_OPEN, position):
        opened = content.find(">", position + len(_REASONING_OPEN))
        closed = content.find("</details>", opened) if opened != -1 else -1
        if closed == -1:
            break  # an unfinished block (the reply was cut off) stays part of the text
        start = _after_space(content, opened + 1)
        if content.startswith("<summary>", start):
            summary_end = content.find("</summary>", start, closed)
            if summary_end != -1:
                start = summary_end + len("</summary>")
        # The thinking is quoted Markdown ("> " before every line).
        lines = content[start:closed].splitlines()
        thoughts.append("\n".join(line.removeprefix(">").removeprefix(" ") for line in lines))
        position = _after_space(content, closed + len("</details>"))
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


def _after_space(text: str, position: int) -> int:
    """Where the white space starting at `position` ends."""
    match = _SPACE.match(text, position)
    return match.end() if match else position
