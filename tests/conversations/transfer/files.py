"""Export files for the import tests: the fixtures folder, small documents built in code, and the
two ways to read one, straight through read_upload() or uploaded to the import page."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversations.transfer.importers.reading import read_upload
from conversations.transfer.importers.records import ParsedFile

FIXTURES = Path(__file__).parent / "fixtures"
IMPORT = reverse("conversations:import")
RAW = "__raw_json__"  # replaced by a literal the json module writes no other way (1e400, ...)
MEGABYTE = 1024 * 1024

NO_TIMES = [
    "Infinity", "-Infinity", "NaN", "1e20", "-1e20", "1e19", "1e400", "1" + "0" * 5000, "-5",
    "0", '"yesterday"', '"1718000000"', "true", "[]", "{}",
]  # fmt: skip


def read(document, *, raw: str | None = None, max_message_chars: int = 100_000) -> ParsedFile:
    text = json.dumps(document)
    if raw is not None:
        text = text.replace(json.dumps(RAW), raw)
    return read_upload(text.encode(), max_bytes=100 * MEGABYTE, max_message_chars=max_message_chars)


def upload(client, content: bytes, name: str = "export.json"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})


def chatsite_file(**message_fields) -> dict:
    message = {"role": "assistant", "content": "Hi", **message_fields}
    conversation = {"title": "Trip", "messages": [message]}
    return {"format": "chatsite", "version": 1, "conversations": [conversation]}
