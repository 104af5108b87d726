"""The text of an attached document: a text file (UTF-8, with or without a byte-order mark, or
UTF-16 with one) or a PDF's text layer read with pypdf, cut at the configured length."""

from __future__ import annotations

import codecs
import io
import logging
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from conversations.attachments.refusal import AttachmentRefused

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
NOT_TEXT = (
    "{name} is not a text file or a PDF. Attach images, PDFs or text files (txt, md, csv, json, "
    "code)."
)


@dataclass(frozen=True)
class DocumentText:
    text: str  # at most the limit
    total_chars: int  # before it was cut
    content_type: str


def is_pdf(data: bytes) -> bool:
    # The PDF specification lets the header start within the first 1024 bytes.
    return PDF_MAGIC in data[:1024]


def read_document(name: str, data: bytes, max_chars: int) -> DocumentText:
    if is_pdf(data):
        text, total = _pdf_text(name, data, max_chars)
        return DocumentText(text, total, "application/pdf")
    text = _decoded(name, data)
    if not text.strip():
        raise AttachmentRefused(f"{name} is empty.")
    return DocumentText(text[:max_chars], len(text), "text/plain")


def _decoded(name: str, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise AttachmentRefused(NOT_TEXT.format(name=name)) from None
    # NUL and other control characters (tabs, newlines and form feeds aside) mean a binary file.
    controls = sum(1 for char in text[:65536] if ord(char) < 32 and char not in "\t\n\r\f")
    if controls:
        raise AttachmentRefused(NOT_TEXT.format(name=name))
    return text.replace("\r\n", "\n")


def _pdf_text(name: str, data: bytes, max_chars: int) -> tuple[str, int]:
    """The PDF's text, page after page; reading stops once the limit is passed (the total is
    then what was read, at least the limit plus one)."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise AttachmentRefused(_protected(name))
        pages: list[str] = []
        length = 0
        for page in reader.pages:
            text = (page.extract_text() or "").strip()
            if text:
                pages.append(text)
                length += len(text) + 2
            if length > max_chars:
                break
    except AttachmentRefused:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise AttachmentRefused(_protected(name)) from None
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError, RecursionError) as error:
        log.info("unreadable PDF %r: %s", name, error)
        raise AttachmentRefused(f"{name} could not be read as a PDF; it may be damaged.") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise AttachmentRefused(
            f"{name} has no text to read: it may be scanned pages (pictures of text). "
            "Attach the pages as images to a vision model, or a PDF with a text layer."
        )
    return text[:max_chars], len(text)


def _protected(name: str) -> str:
    return f"{name} is protected by a password. Remove the password and attach it again."
