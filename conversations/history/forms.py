"""Validation for the history page: its filters (GET), renaming, and bulk actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils import timezone

from conversations.models import ConversationQuerySet

# More than a handful of loaded pages at once is not a selection a person made by hand.
MAX_BULK_IDS = 500


class HistoryFilterForm(forms.Form):
    """Filters and page number from the query string; bad values become messages, not 500s."""

    ARCHIVED_CHOICES = [
        ("", "Hide archived"),
        ("only", "Archived only"),
        ("all", "Include archived"),
    ]

    model = forms.CharField(required=False, max_length=300, label="Model")
    since = forms.DateField(required=False, label="Active since")
    until = forms.DateField(required=False, label="Active until")
    archived = forms.ChoiceField(required=False, choices=ARCHIVED_CHOICES, label="Archived")
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, label="Page")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(
                "The start date is after the end date; swap them or clear one.", code="order"
            )
        return cleaned

    def filtered(self, conversations: ConversationQuerySet) -> ConversationQuerySet:
        """Apply whichever filters are valid (an invalid one is shown as an error, not applied)."""
        data = self._valid_parts()
        archived = data.get("archived") or ""
        if archived == "only":
            conversations = conversations.filter(archived=True)
        elif archived != "all":
            conversations = conversations.unarchived()
        if data.get("model"):
            conversations = conversations.filter(model=data["model"])
        if data.get("since"):
            conversations = conversations.filter(updated_at__gte=_start_of(data["since"]))
        if data.get("until"):
            conversations = conversations.filter(
                updated_at__lt=_start_of(data["until"] + timedelta(days=1))
            )
        return conversations

    def page_number(self) -> int:
        return self._valid_parts().get("page") or 1

    def query_string(self, **changes: Any) -> str:
        """The current valid filters as a query string, for links that keep them."""
        params = {
            name: value
            for name, value in self._valid_parts().items()
            if name != "page" and value not in (None, "")
        }
        params.update({name: value for name, value in changes.items() if value})
        return "?" + urlencode({name: str(value) for name, value in params.items()})

    def has_filters(self) -> bool:
        parts = self._valid_parts()
        return any(parts.get(name) for name in ("model", "since", "until", "archived"))

    def _valid_parts(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        if "__all__" in self.errors:  # since/until contradict each other: apply neither
            return {k: v for k, v in self.cleaned_data.items() if k not in ("since", "until")}
        return dict(self.cleaned_data)


class RenameForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        strip=True,
        label="Title",
        error_messages={
            "required": "A title cannot be empty.",
            "max_length": "Keep the title to 200 characters or fewer (it has %(show_value)d).",
        },
    )
    # Where the title is shown, so the answer fits the place: a history row or the chat header.
    place = forms.ChoiceField(required=False, choices=[("", "History"), ("header", "Chat header")])


class UUIDListField(forms.Field):
    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one conversation first.",
        "invalid": "That selection is not valid; reload the page and try again.",
        "too_many": "Select at most %(limit)d conversations at once.",
    }

    def to_python(self, value: Any) -> list[uuid.UUID]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return list(dict.fromkeys(uuid.UUID(str(item)) for item in values))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value: list[uuid.UUID]) -> None:
        super().validate(value)
        if len(value) > MAX_BULK_IDS:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": MAX_BULK_IDS}
            )


class BulkForm(forms.Form):
    ACTIONS = [("archive", "Archive"), ("unarchive", "Unarchive"), ("delete", "Delete")]

    ids = UUIDListField()
    action = forms.ChoiceField(
        choices=ACTIONS, error_messages={"invalid_choice": "Pick an action for the selection."}
    )
    # Deleting asks first: the confirmation page posts again with confirm set.
    confirm = forms.BooleanField(required=False)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
