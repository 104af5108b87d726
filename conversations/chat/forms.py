"""Validation of everything a user sends to a chat: the message, the model, and its options."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings

# Conversation settings sent to Ollama as `options`, with their allowed ranges.
OPTION_FIELDS = ("temperature", "top_p", "num_ctx", "num_predict", "seed")


class ConversationSettingsForm(forms.Form):
    model = forms.CharField(
        max_length=300,
        error_messages={"required": "Pick a model first."},
    )
    system_prompt = forms.CharField(
        required=False, max_length=20_000, strip=False, label="System prompt"
    )
    temperature = forms.FloatField(
        required=False, min_value=0.0, max_value=2.0, label="Temperature"
    )
    top_p = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="Top p")
    num_ctx = forms.IntegerField(
        required=False, min_value=256, max_value=1_048_576, label="Context length"
    )
    num_predict = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, label="Max tokens"
    )
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1, label="Seed")
    think = forms.BooleanField(required=False, label="Thinking")

    def ollama_options(self) -> dict[str, Any]:
        """The options Ollama gets: only those the user set; blanks mean the model's default."""
        return {
            name: self.cleaned_data[name]
            for name in OPTION_FIELDS
            if self.cleaned_data.get(name) is not None
        }


class MessageTextField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strip=False, **kwargs)

    def clean(self, value: Any) -> str:
        text: str = super().clean(value)
        if not text.strip():
            raise forms.ValidationError("Type a message first.", code="empty")
        limit = settings.CHAT_MAX_MESSAGE_CHARS
        if len(text) > limit:
            raise forms.ValidationError(
                f"Your message is {len(text):,} characters long; the limit is {limit:,}. "
                "Shorten it and send again.",
                code="too_long",
            )
        return text


class AttachmentIdsField(forms.Field):
    """The ids of the composer's uploaded attachments: one hidden input per file, so a form
    post gives a list and a socket frame a string (one file) or a list (several)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[uuid.UUID]:
        if value is None:
            return []
        # A socket frame may carry any JSON value here; only a text or a list of texts is ids.
        values = [value] if isinstance(value, str) else value
        try:
            if not isinstance(values, list | tuple):
                raise ValueError(values)
            return [uuid.UUID(str(item)) for item in values if str(item).strip()]
        except ValueError:
            raise forms.ValidationError(
                "An attachment of this message is no longer there. Remove it and attach it again.",
                code="invalid",
            ) from None

    def validate(self, value: Any) -> None:
        # Empty is fine (no attachments); at most a handful of files fit in one composer.
        if len(value) > 50:
            raise forms.ValidationError("A message can carry at most 50 files.", code="too_many")


class SendForm(ConversationSettingsForm):
    message = MessageTextField(error_messages={"required": "Type a message first."})
    attachment = AttachmentIdsField(required=False)


class EditForm(forms.Form):
    message_id = forms.UUIDField(error_messages={"invalid": "That message does not exist."})
    message = MessageTextField(error_messages={"required": "Type a message first."})


def form_errors(form: forms.Form) -> list[str]:
    """Every error of a form as sentences a person can read, field label first."""
    errors: list[str] = []
    for name, messages in form.errors.items():
        # Only a label written for people leads; a field without one (label None) has messages
        # that are whole sentences.
        field = form.fields.get(name)
        label = (
            field.label
            if field is not None and name not in ("message", "model", "attachment")
            else None
        )
        prefix = f"{label}: " if label else ""
        errors.extend(f"{prefix}{message}" for message in messages)
    return errors
