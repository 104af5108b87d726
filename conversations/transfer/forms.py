"""Validation for the search box and the import upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Export file",
        error_messages={"required": "Choose a file to import.", "empty": "The file is empty."},
    )

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(too_big_message(upload.size, self.max_bytes))
        return upload


def too_big_message(size: int, limit: int) -> str:
    return (
        f"The file is {filesizeformat(size)}; imports are limited to {filesizeformat(limit)} "
        "(CHAT_IMPORT_MAX_BYTES). Nothing was imported."
    )
