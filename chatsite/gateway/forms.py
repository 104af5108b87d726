"""The form for a new API key: a name and an optional last day."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django import forms
from django.utils import timezone


class KeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. 'laptop editor' or 'nightly script'."
    )
    expires = forms.DateField(
        required=False,
        label="Expires after",
        help_text="Optional: the last day it works. Empty: until you revoke it.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # Tells a form sent again (a reload of the answer that showed a new key) from a new one.
    once = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["once"].initial = secrets.token_urlsafe(16)

    def clean_expires(self) -> dt.date | None:
        expires: dt.date | None = self.cleaned_data.get("expires")
        if expires is not None and expires < timezone.localdate():
            raise forms.ValidationError("Pick today or a later day.")
        return expires

    def expires_at(self) -> dt.datetime | None:
        """The end of the chosen day, in the site's time zone."""
        expires = self.cleaned_data.get("expires")
        if expires is None:
            return None
        end = dt.datetime.combine(expires + dt.timedelta(days=1), dt.time())
        return timezone.make_aware(end)
