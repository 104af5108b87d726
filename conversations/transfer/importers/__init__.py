"""Reading uploaded exports into plain records: chatsite's own JSON (chatsite.py), Open WebUI's
"export all chats" JSON (open_webui.py) and ChatGPT's conversations.json (chatgpt.py); reading.py
reads the upload and tells them apart, records.py and foreign.py hold what they share.

Nothing here touches the database: a file is read completely, or rejected with a message naming
the chat and the field, before store.save_imported() writes anything. Files are untrusted:
every step takes time linear in the file's size, a foreign field of the wrong type or out of
range is ignored (a bad value in chatsite's own format is refused in a sentence), and what comes
out fits the database and the page (texts cut at the message limit, no NUL, no lone surrogate).
"""

from __future__ import annotations

from conversations.transfer.importers.open_webui import split_reasoning
from conversations.transfer.importers.reading import parse_document, read_upload
from conversations.transfer.importers.records import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_TOKENS,
    TITLE_LENGTH,
    ImportedConversation,
    ImportedMessage,
    ImportRejected,
    ParsedFile,
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
