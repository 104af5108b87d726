"""How a scripted chat or generate reply goes wrong, and the messages Ollama sends when it does."""

from __future__ import annotations

from dataclasses import dataclass

BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
RUNNER_FAILURE = "an error was encountered while running the model: unexpected EOF"
UNKNOWN_MANIFEST = "pull model manifest: file does not exist"


@dataclass(frozen=True)
class Failure:
    """How a scripted chat or generate reply goes wrong. Build one with the static methods."""

    kind: str  # status | error | drop | hang | malformed | long_line
    after_tokens: int = 0
    status_code: int = 500
    message: str = ""
    size: int = 0

    @staticmethod
    def status(code: int, message: str | None = None) -> Failure:
        """Before any byte: that status and {"error": message}."""
        if message is None:
            message = BUSY_MESSAGE if code == 503 else RUNNER_FAILURE
        return Failure("status", status_code=code, message=message)

    @staticmethod
    def error_mid_stream(after_tokens: int, message: str = RUNNER_FAILURE) -> Failure:
        """An {"error": ...} line after N tokens, then the end of the body. At 0 tokens this is
        what v0.12.6+ does: status 500 with Content-Type application/json."""
        return Failure("error", after_tokens=after_tokens, message=message)

    @staticmethod
    def drop_mid_stream(after_tokens: int) -> Failure:
        """Close the TCP connection after N tokens, without the terminating chunk."""
        return Failure("drop", after_tokens=after_tokens)

    @staticmethod
    def hang(after_tokens: int = 0) -> Failure:
        """Stop sending after N tokens until the client goes away or the server stops."""
        return Failure("hang", after_tokens=after_tokens)

    @staticmethod
    def malformed_line(after_tokens: int) -> Failure:
        """A line that is not JSON after N tokens, then the end of the body."""
        return Failure("malformed", after_tokens=after_tokens)

    @staticmethod
    def long_line(after_tokens: int, size: int = 9 * 1024 * 1024) -> Failure:
        """A valid but oversized line (default 9 MB, past the Go client's 8 MB limit)."""
        return Failure("long_line", after_tokens=after_tokens, size=size)
