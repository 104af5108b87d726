"""Reading an upload without the database: what comes out can be stored and shown (long texts
cut with a note, no NUL, no lone surrogate), and a damaged zip is refused in a sentence."""

from __future__ import annotations

import io
import zipfile

import pytest

from conversations.transfer.importers.reading import read_upload
from conversations.transfer.importers.records import ImportRejected
from tests.conversations.transfer.files import FIXTURES, MEGABYTE, chatsite_file, read


def test_a_long_message_is_cut_with_a_note_and_counted():
    parsed = read(chatsite_file(content="a" * 150, thinking="b" * 90), max_message_chars=100)

    message = parsed.conversations[0].messages[0]
    note = "\n\n[… cut at 100 characters on import]"
    assert message.content == "a" * (100 - len(note)) + note
    assert message.thinking == "b" * 90
    assert parsed.cut_messages == 1


def test_a_long_system_prompt_is_cut_to_what_the_settings_form_accepts():
    document = chatsite_file()
    document["conversations"][0]["system_prompt"] = "s" * 50_000

    conversation = read(document).conversations[0]

    assert len(conversation.system_prompt) == 20_000
    assert conversation.system_prompt.endswith("[… cut at 20,000 characters on import]")


def test_nul_characters_and_lone_surrogates_become_storable_text():
    parsed = read(chatsite_file(content="a\x00b \ud800 c", thinking="\udfff"))

    message = parsed.conversations[0].messages[0]
    assert (message.content, message.thinking) == ("ab \ufffd c", "\ufffd")


def test_a_damaged_zip_member_is_refused_in_a_sentence():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("conversations.json", (FIXTURES / "chatgpt_conversations.json").read_bytes())
    data = bytearray(archive.getvalue())
    data[60:90] = bytes(30)  # inside the compressed data, after the local header

    with pytest.raises(ImportRejected, match='"conversations.json" in the zip archive cannot be'):
        read_upload(bytes(data), max_bytes=MEGABYTE, max_message_chars=100_000)


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("open_webui_export.json", "Open WebUI"),
        ("open_webui_0_12_export.json", "Open WebUI"),
        ("chatgpt_conversations.json", "ChatGPT"),
    ],
)
def test_each_vendors_export_is_read_as_that_vendors_format(name, format):
    content = (FIXTURES / name).read_bytes()

    parsed = read_upload(content, max_bytes=MEGABYTE, max_message_chars=100_000)

    assert parsed.format == format
    assert len(parsed.conversations) == 2


def test_chatsites_own_format_is_read_as_chatsite():
    parsed = read(chatsite_file())

    assert (parsed.format, parsed.conversations[0].title) == ("chatsite", "Trip")


def test_a_zip_with_two_json_files_and_no_conversations_json_is_refused_in_a_sentence():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.json", "[]")
        z.writestr("b.json", "[]")

    with pytest.raises(ImportRejected, match="exactly one .json file; it holds 2 .json files"):
        read_upload(archive.getvalue(), max_bytes=MEGABYTE, max_message_chars=100_000)
