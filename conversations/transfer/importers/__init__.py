"""Reading uploaded exports into plain records; the names other modules use, re-exported."""

from __future__ import annotations

from conversations.transfer.importers.records import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_TOKENS,
    TITLE_LENGTH,
    ImportedConversation,
    ImportedMessage,
    ImportRejected,
    ParsedFile,
    parse_document,
    read_upload,
    split_reasoning,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_TOKENS",
    "TITLE_LENGTH",
    "ImportRejected",
    "ImportedConversation",
    "ImportedMessage",
    "ParsedFile",
    "parse_document",
    "read_upload",
    "split_reasoning",
]
