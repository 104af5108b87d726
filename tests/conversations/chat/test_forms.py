"""form_errors: every form error as a sentence a person can read, never led by "None:"."""

from __future__ import annotations

import pytest
from django import forms

from conversations.chat.forms import EditForm, SendForm, form_errors
from conversations.history.forms import BulkForm, HistoryFilterForm, RenameForm


class Unlabelled(forms.Form):
    note = forms.CharField(max_length=3)

    def clean(self):
        raise forms.ValidationError("The form as a whole is wrong.")


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            SendForm({"message": "Hi", "model": "m", "system_prompt": "x" * 20_001}),
            "System prompt: Ensure this value has at most 20000 characters (it has 20001).",
        ),
        (SendForm({"message": "Hi", "model": "m", "temperature": "7"}), "Temperature: "),
        (SendForm({"message": "Hi"}), "Pick a model first."),
        (EditForm({"message": "Hi", "message_id": "nope"}), "That message does not exist."),
        (BulkForm({"action": "archive"}), "Select at least one conversation first."),
        (BulkForm({"ids": "x", "action": "dance"}), "Pick an action for the selection."),
        (HistoryFilterForm({"page": "0"}), "Page: "),
        (RenameForm({"title": "x" * 1000}), "Title: "),
        (Unlabelled({"note": "long"}), "Ensure this value has at most 3 characters (it has 4)."),
        (Unlabelled({"note": "ok"}), "The form as a whole is wrong."),
    ],
)
def test_errors_lead_with_a_written_label_or_stand_alone_never_with_none(form, expected):
    errors = form_errors(form)

    assert any(error.startswith(expected) for error in errors), errors
    assert not any(error.startswith("None") for error in errors)
