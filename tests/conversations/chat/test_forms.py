"""conversations.chat.forms: what a send, an edit and a conversation's settings accept, the
options Ollama is given, and form_errors: every error as a sentence a person can read, never led
by "None:"."""

from __future__ import annotations

import uuid

import pytest
from django import forms

from conversations.chat.forms import ConversationSettingsForm, EditForm, SendForm, form_errors
from conversations.history.forms import BulkForm, HistoryFilterForm, RenameForm


def valid(form: forms.Form) -> forms.Form:
    assert form.is_valid(), form.errors
    return form


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


# The options Ollama is given


def test_ollama_options_hold_only_the_options_the_user_set():
    form = valid(SendForm({"message": "Hi", "model": "m", "temperature": "0.5", "top_p": ""}))

    assert form.ollama_options() == {"temperature": 0.5}


def test_a_zero_option_is_sent_while_a_blank_one_is_left_to_the_model():
    form = valid(ConversationSettingsForm({"model": "m", "seed": "0", "num_predict": ""}))

    assert form.ollama_options() == {"seed": 0}


def test_every_option_is_sent_with_its_type_and_nothing_else_is():
    form = valid(
        SendForm(
            {
                "message": "Hi",
                "model": "qwen3:8b",
                "system_prompt": "Be brief.",
                "think": "on",
                "temperature": "1.2",
                "top_p": "0.9",
                "num_ctx": "8192",
                "num_predict": "256",
                "seed": "42",
            }
        )
    )

    assert form.ollama_options() == {
        "temperature": 1.2,
        "top_p": 0.9,
        "num_ctx": 8192,
        "num_predict": 256,
        "seed": 42,
    }
    assert (form.cleaned_data["model"], form.cleaned_data["think"]) == ("qwen3:8b", True)


def test_thinking_is_off_unless_asked_for():
    assert valid(ConversationSettingsForm({"model": "m"})).cleaned_data["think"] is False


def test_conversation_settings_need_no_message_but_a_model():
    form = ConversationSettingsForm({"system_prompt": "Be brief."})

    assert form_errors(form) == ["Pick a model first."]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("temperature", "2.5", "Temperature: Ensure this value is less than or equal to 2.0."),
        ("temperature", "warm", "Temperature: Enter a number."),
        ("top_p", "1.5", "Top p: Ensure this value is less than or equal to 1.0."),
        ("num_ctx", "100", "Context length: Ensure this value is greater than or equal to 256."),
        ("num_ctx", "1.5", "Context length: Enter a whole number."),
        ("num_predict", "0", "Max tokens: Ensure this value is greater than or equal to 1."),
        ("seed", "-1", "Seed: Ensure this value is greater than or equal to 0."),
    ],
)
def test_an_option_out_of_its_range_is_refused_with_a_sentence_naming_it(field, value, error):
    form = SendForm({"message": "Hi", "model": "m", field: value})

    assert form_errors(form) == [error]


# The message


def test_a_message_is_kept_exactly_as_typed_with_its_spaces_and_newlines():
    form = valid(SendForm({"message": "  indented code\n", "model": "m", "system_prompt": " x\n"}))

    assert form.cleaned_data["message"] == "  indented code\n"
    assert form.cleaned_data["system_prompt"] == " x\n"


@pytest.mark.parametrize("message", ["", "   ", "\n\t "])
def test_an_empty_or_blank_message_asks_for_a_message_first(message):
    form = SendForm({"message": message, "model": "m"})

    assert form_errors(form) == ["Type a message first."]


def test_a_message_at_the_limit_is_accepted_and_one_past_it_names_both_lengths(settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 1_000

    at_limit = SendForm({"message": "x" * 1_000, "model": "m"})
    past_it = SendForm({"message": "x" * 1_234, "model": "m"})

    assert at_limit.is_valid()
    assert form_errors(past_it) == [
        "Your message is 1,234 characters long; the limit is 1,000. Shorten it and send again."
    ]


# Editing a message


def test_an_edit_names_the_message_and_its_new_text():
    message_id = uuid.uuid4()

    form = valid(EditForm({"message_id": str(message_id), "message": " new text"}))

    assert form.cleaned_data == {"message_id": message_id, "message": " new text"}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"message_id": "nope", "message": "Hi"}, ["That message does not exist."]),
        ({"message_id": str(uuid.UUID(int=1)), "message": "  "}, ["Type a message first."]),
        ({"message_id": str(uuid.UUID(int=1))}, ["Type a message first."]),
    ],
)
def test_a_bad_edit_is_refused_with_a_sentence(data, errors):
    assert form_errors(EditForm(data)) == errors


def test_an_edited_message_has_the_same_length_limit_as_a_new_one(settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10

    form = EditForm({"message_id": str(uuid.uuid4()), "message": "x" * 11})

    assert form_errors(form) == [
        "Your message is 11 characters long; the limit is 10. Shorten it and send again."
    ]
