"""Scripted replies: what the next chat, generate or pull answers (tokens, delays, failures), queued
once or standing, and the methods tests call to script them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .failures import Failure
from .names import name_key
from .wire import JSON_UTF8


@dataclass(frozen=True)
class ChatScript:
    tokens: tuple[str, ...]
    thinking: tuple[str, ...] = ()
    model_key: str | None = None
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    failure: Failure | None = None
    done_reason: str = "stop"


@dataclass(frozen=True)
class PullScript:
    model_key: str | None = None
    layers: tuple[int, ...] = (2_000_000, 1429, 7711, 561)
    steps_per_layer: int = 4
    step_delay: float = 0.0
    unknown: bool = False
    fail_after_steps: int | None = None
    fail_message: str = "max retries exceeded: unexpected EOF"
    hang_after_steps: int | None = None


_S = TypeVar("_S", ChatScript, PullScript)


class Scripts(Generic[_S]):
    """Once-scripts are consumed in FIFO order; standing ones apply until reset, the most recent
    model-specific one first, then the most recent catch-all."""

    def __init__(self) -> None:
        self.once: list[_S] = []
        self.standing: list[_S] = []

    def add(self, script: _S, *, once: bool) -> None:
        (self.once if once else self.standing).append(script)

    def take(self, key: str) -> _S | None:
        for index, script in enumerate(self.once):
            if script.model_key in (None, key):
                return self.once.pop(index)
        for wanted in (key, None):
            for script in reversed(self.standing):
                if script.model_key == wanted:
                    return script
        return None


def split_tokens(text: str) -> list[str]:
    """Words with their leading whitespace, roughly how a model's tokens arrive."""
    return re.findall(r"\s*\S+", text)


def _tokens(text: str | Sequence[str]) -> tuple[str, ...]:
    return tuple(split_tokens(text)) if isinstance(text, str) else tuple(text)


class Scripting:
    """OllamaStandin's scripting methods (a mixin); its condition guards the scripts."""

    _cond: threading.Condition
    _chat_scripts: Scripts[ChatScript]
    _generate_scripts: Scripts[ChatScript]
    _pull_scripts: Scripts[PullScript]
    _raw: dict[str, list[tuple[int, bytes, str]]]

    def script_chat(
        self,
        reply: str | Sequence[str] = "Hello from the stand-in.",
        *,
        thinking: str | Sequence[str] = "",
        model: str | None = None,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        failure: Failure | None = None,
        done_reason: str = "stop",
        once: bool = False,
    ) -> None:
        script = ChatScript(
            tokens=_tokens(reply),
            thinking=_tokens(thinking),
            model_key=None if model is None else name_key(model),
            first_token_delay=first_token_delay,
            token_delay=token_delay,
            failure=failure,
            done_reason=done_reason,
        )
        with self._cond:
            self._chat_scripts.add(script, once=once)

    def script_generate(
        self,
        response: str | Sequence[str] = "A short title",
        *,
        model: str | None = None,
        delay: float = 0.0,
        failure: Failure | None = None,
        once: bool = False,
    ) -> None:
        script = ChatScript(
            tokens=_tokens(response),
            model_key=None if model is None else name_key(model),
            first_token_delay=delay,
            failure=failure,
        )
        with self._cond:
            self._generate_scripts.add(script, once=once)

    def script_pull(
        self,
        model: str | None = None,
        *,
        layers: Sequence[int] = (2_000_000, 1429, 7711, 561),
        steps_per_layer: int = 4,
        step_delay: float = 0.0,
        unknown: bool = False,
        fail_after_steps: int | None = None,
        fail_message: str = "max retries exceeded: unexpected EOF",
        hang_after_steps: int | None = None,
        once: bool = False,
    ) -> None:
        """Steps are the lines after "pulling manifest" (layer progress, verifying, writing)."""
        script = PullScript(
            model_key=None if model is None else name_key(model),
            layers=tuple(layers),
            steps_per_layer=max(1, steps_per_layer),
            step_delay=step_delay,
            unknown=unknown,
            fail_after_steps=fail_after_steps,
            fail_message=fail_message,
            hang_after_steps=hang_after_steps,
        )
        with self._cond:
            self._pull_scripts.add(script, once=once)

    def script_raw(
        self, path: str, body: bytes, *, status: int = 200, content_type: str = JSON_UTF8
    ) -> None:
        """Answer the next request to `path` with exactly these bytes (for parsing edge cases
        a real Ollama should never produce)."""
        with self._cond:
            self._raw.setdefault(path, []).append((status, body, content_type))
