"""The one refusal of an attachment: a sentence the user reads, nothing stored."""

from __future__ import annotations


class AttachmentRefused(Exception):
    """The file cannot be attached; str() is the sentence shown in the composer."""
