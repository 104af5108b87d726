"""Vision models in the stand-in: /api/chat checks each message's `images` the way Ollama decodes
them (plain base64; a `data:` prefix is a 400), and a model with the `vision` capability answers,
unless a test scripted its reply, by saying what it was shown when it was shown images: how many
and their decoded sizes. Tests read the same from the recorded request with `received_images`."""

from __future__ import annotations

import base64
import binascii
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from .connection import Exchange
from .names import parse_name
from .recording import RecordedRequest
from .registry import Model
from .scripts import ChatScript, Scripts, split_tokens

VISION_CAPABILITIES = ("completion", "vision")


@dataclass(frozen=True)
class ReceivedImage:
    message: int  # index in the request's messages
    format: str  # "PNG", "JPEG", ... as Pillow reads the decoded bytes
    width: int
    height: int
    size: int  # decoded bytes


def received_images(record: RecordedRequest) -> list[ReceivedImage]:
    """Every image of a recorded /api/chat request, decoded."""
    found = []
    messages = (record.body or {}).get("messages") or []
    for index, message in enumerate(messages):
        for text in message.get("images") or []:
            data = base64.b64decode(text, validate=True)
            with Image.open(io.BytesIO(data)) as image:
                found.append(ReceivedImage(index, image.format or "", *image.size, len(data)))
    return found


def _base64_problem(images: Any) -> str | None:
    """Ollama's decode error for a message's `images`, or None when they are plain base64."""
    if not isinstance(images, list) or not all(isinstance(item, str) for item in images):
        return (
            "json: cannot unmarshal value into Go struct field Message.messages.images of type "
            "api.ImageData"
        )
    for text in images:
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            # Go's encoding/base64 names the first byte it could not read.
            bad = next((i for i, c in enumerate(text) if not (c.isalnum() or c in "+/=")), 0)
            return f"illegal base64 data at input byte {bad}"
    return None


class Vision:
    """OllamaStandin's vision behaviour (a mixin listed before Endpoints, whose _chat it wraps)."""

    _cond: threading.Condition
    _models: dict[str, Model]
    _chat_scripts: Scripts[ChatScript]

    if TYPE_CHECKING:

        def add_model(self, name: str, **kwargs: Any) -> None: ...  # ModelRegistry's

    def add_vision_model(
        self, name: str = "gemma3:4b", *, capabilities: Sequence[str] = VISION_CAPABILITIES
    ) -> None:
        self.add_model(name, family="gemma3", parameter_size="4.3B", capabilities=capabilities)

    async def _chat(self, ex: Exchange, body: dict[str, Any]) -> None:
        messages = body.get("messages")
        if isinstance(messages, list):
            for message in messages:
                if isinstance(message, dict) and "images" in message:
                    problem = _base64_problem(message["images"])
                    if problem:
                        return await ex.reply_error(400, problem)
        self._describe_what_was_shown(body)
        await super()._chat(ex, body)  # type: ignore[misc]

    def _describe_what_was_shown(self, body: dict[str, Any]) -> None:
        name = body.get("model")
        parsed = parse_name(name) if isinstance(name, str) else None
        if parsed is None:
            return
        with self._cond:
            model = self._models.get(parsed.key)
            if model is None or "vision" not in model.capabilities:
                return
            scripts = self._chat_scripts
            if any(s.model_key in (None, parsed.key) for s in [*scripts.once, *scripts.standing]):
                return  # the test said what to answer
            record = RecordedRequest("POST", "/api/chat", body, {}, 0.0)
            images = received_images(record)
            if not images:
                return  # the usual answer
            sizes = ", ".join(f"{i.width}x{i.height} {i.format}" for i in images)
            text = f"I was shown {len(images)} image{'' if len(images) == 1 else 's'}: {sizes}."
            scripts.add(
                ChatScript(tokens=tuple(split_tokens(text)), model_key=parsed.key), once=True
            )
