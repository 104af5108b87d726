"""Playing a chat or generate script onto the wire: thinking and content tokens at their pace,
the final metrics, or the failure the script asks for.
"""

from __future__ import annotations

import time
from typing import Any

from .connection import Exchange
from .failures import Failure
from .scripts import ChatScript
from .wire import JSON_PLAIN, JSON_UTF8, reply_object


class Reply:
    """A scripted chat or generate reply: thinking tokens, content tokens, final metrics, and the
    failure the script asks for at its point."""

    def __init__(
        self,
        ex: Exchange,
        script: ChatScript,
        *,
        name: str,
        chat: bool,
        thinking_on: bool,
        stream: bool,
        prompt_tokens: int,
    ) -> None:
        self.ex = ex
        self.script = script
        self.name = name
        self.chat = chat
        self.stream = stream
        self.prompt_tokens = prompt_tokens
        thinking = script.thinking if thinking_on else ()
        self.steps = [("thinking", t) for t in thinking] + [("content", t) for t in script.tokens]
        self.started = time.monotonic_ns()

    async def run(self) -> None:
        ex, script, failure = self.ex, self.script, self.script.failure
        await ex.pause(script.first_token_delay)
        loaded = time.monotonic_ns()
        if failure is not None and failure.kind == "status":
            content_type = JSON_PLAIN if self.stream else JSON_UTF8
            return await ex.reply_error(failure.status_code, failure.message, content_type)
        for index, (kind, token) in enumerate(self.steps):
            if failure is not None and failure.after_tokens == index:
                return await self.fail(failure)
            if index:
                await ex.pause(script.token_delay)
            if self.stream:
                content, thinking = ("", token) if kind == "thinking" else (token, "")
                line = reply_object(self.name, self.chat, content, thinking)
                await ex.send_line(line, token=True)
        if failure is not None and failure.after_tokens >= len(self.steps):
            return await self.fail(failure)
        count = len(self.steps)
        load_duration = loaded - self.started
        prompt_eval_duration = self.prompt_tokens * 1_700_000
        # At least 12 ms a token, so tokens/s stays plausible when tests run at full speed.
        eval_duration = max(time.monotonic_ns() - loaded, count * 12_000_000)
        metrics = {
            "total_duration": load_duration + prompt_eval_duration + eval_duration + 250_000,
            "load_duration": load_duration,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": prompt_eval_duration,
            "eval_count": count,
            "eval_duration": eval_duration,
        }
        extra: dict[str, Any] = {"done_reason": script.done_reason}
        if not self.chat:
            extra["context"] = [128006, 882, 128007, 271, 13347]
        extra.update((key, value) for key, value in metrics.items() if value)
        if self.stream:
            await ex.send_line(reply_object(self.name, self.chat, "", "", **extra))
            return await ex.end_stream()
        thinking = "".join(t for kind, t in self.steps if kind == "thinking")
        content = "".join(t for kind, t in self.steps if kind == "content")
        ex.standin._count_tokens(ex.record, count)
        await ex.reply_json(200, reply_object(self.name, self.chat, content, thinking, **extra))

    async def fail(self, failure: Failure) -> None:
        ex = self.ex
        if failure.kind == "hang":
            await ex.hang()
        if failure.kind == "error":
            if not ex.headers_sent:
                # v0.12.6+: a failure before the first byte gets a real status.
                content_type = JSON_PLAIN if self.stream else JSON_UTF8
                return await ex.reply_error(500, failure.message, content_type)
            await ex.send_line({"error": failure.message})
            return await ex.end_stream()
        if failure.kind == "drop":
            return await ex.drop()
        if failure.kind == "malformed":
            broken = b'{"model":"' + self.name.encode() + b'","created_at":"2026-01-05T10:0'
            if not self.stream:
                return await ex.reply(200, broken, JSON_UTF8)
            await ex.send_line(broken)
            return await ex.end_stream()
        if failure.kind == "long_line":
            line = reply_object(self.name, self.chat, "x" * failure.size, "")
            if not self.stream:
                return await ex.reply_json(200, line)
            await ex.send_line(line)
            return await ex.end_stream()
        raise ValueError(f"unknown failure kind {failure.kind!r}")
