"""conversations.attachments.documents: text files and PDFs give their text, cut at the limit;
a PDF without text or with a password is refused in a sentence."""

from __future__ import annotations

import pytest

from conversations.attachments.documents import read_document
from conversations.attachments.refusal import AttachmentRefused
from tests.conversations.attachments import files


def test_a_text_file_gives_its_text():
    document = read_document("notes.md", b"# Notes\r\n\nAlpha\n", 1000)
    assert (document.text, document.total_chars) == ("# Notes\n\nAlpha\n", 15)


def test_a_utf8_byte_order_mark_is_dropped_and_utf16_is_read():
    assert read_document("a.csv", b"\xef\xbb\xbfa,b\n", 100).text == "a,b\n"
    assert read_document("b.txt", "héllo".encode("utf-16"), 100).text == "héllo"


def test_a_long_text_is_cut_at_the_limit_and_its_length_kept():
    document = read_document("big.txt", b"x" * 5000, 1200)
    assert (len(document.text), document.total_chars) == (1200, 5000)


def test_a_binary_file_is_refused():
    with pytest.raises(AttachmentRefused, match=r"tool\.exe is not a text file or a PDF"):
        read_document("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", 1000)


def test_a_pdf_gives_the_text_of_its_pages():
    document = read_document("report.pdf", files.pdf("Quarterly revenue", "Page two"), 1000)
    assert document.text == "Quarterly revenue\n\nPage two"
    assert document.content_type == "application/pdf"


def test_a_pdf_with_no_text_is_refused_saying_it_may_be_scanned():
    with pytest.raises(AttachmentRefused) as refused:
        read_document("scan.pdf", files.pdf("", ""), 1000)
    assert str(refused.value).startswith(
        "scan.pdf has no text to read: it may be scanned pages (pictures of text)."
    )


def test_an_encrypted_pdf_is_refused_asking_for_the_password_to_be_removed():
    with pytest.raises(AttachmentRefused) as refused:
        read_document("secret.pdf", files.pdf("Salaries", password="hunter2"), 1000)
    assert str(refused.value) == (
        "secret.pdf is protected by a password. Remove the password and attach it again."
    )


def test_a_pdf_with_an_empty_user_password_is_read():
    document = read_document("open.pdf", files.pdf("Readable", password=""), 1000)
    assert document.text == "Readable"


def test_a_damaged_pdf_is_refused():
    with pytest.raises(AttachmentRefused, match="could not be read as a PDF"):
        read_document("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 20, 1000)
