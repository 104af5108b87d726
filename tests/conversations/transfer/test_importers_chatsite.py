"""chatsite's own format read without the database: a bad value is refused in a sentence naming
the chat, the message and the field; a number that is no number reads as null."""

from __future__ import annotations

import pytest

from conversations.transfer.importers.records import MAX_TOKENS, ImportRejected
from tests.conversations.transfer.files import MEGABYTE, RAW, chatsite_file, read


@pytest.mark.parametrize(
    ("value", "shown"),
    [("1e20", "1e+20"), ("-1e20", "-1e+20"), ("-1", "-1"), (str(2**40), str(2**40)),
     ('"5"', '"5"'), ("true", "true/false"), ("[]", "a list")],
)  # fmt: skip
def test_a_chatsite_count_out_of_range_is_refused_in_a_sentence(value, shown):
    with pytest.raises(ImportRejected) as refused:
        read(chatsite_file(eval_count=RAW), raw=value)

    assert str(refused.value) == (
        'Chat 1 ("Trip"), message 1: "eval_count" must be a whole number from 0 to '
        f"{MAX_TOKENS:,} or null, not {shown}."
    )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1" + "0" * 5000])
def test_a_chatsite_count_that_is_no_number_reads_as_null(value):
    message = read(chatsite_file(eval_count=RAW), raw=value).conversations[0].messages[0]

    assert message.eval_count is None


@pytest.mark.parametrize(
    "value",
    ["2025-02-30T10:00:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
     "2025-01-01T00:00:00" + " " * 100_000 + "x", "yesterday", 1718000000],
    ids=["no-such-day", "past-9999-in-utc", "before-year-1-in-utc", "long", "words", "number"],
)  # fmt: skip
def test_a_chatsite_time_that_is_no_time_is_refused_in_a_sentence(value):
    with pytest.raises(ImportRejected, match='"created_at" must be a date and time'):
        read(chatsite_file(created_at=value))


def test_a_chatsite_time_with_an_offset_is_read_as_the_same_moment_in_utc():
    message = read(chatsite_file(created_at="2025-03-01T10:30:00+01:00")).conversations[0]

    assert message.messages[0].created_at.isoformat() == "2025-03-01T09:30:00+00:00"


def test_a_long_value_is_shown_short_in_the_refusal():
    with pytest.raises(ImportRejected) as refused:
        read(chatsite_file(role="x" * MEGABYTE))

    assert len(str(refused.value)) < 200


def test_a_nested_message_options_object_is_left_out():
    nested = {"temperature": [[[[0.5]]]], "num_ctx": 4096, "extra": {"a": [1, 2]}}

    message = read(chatsite_file(options=nested)).conversations[0].messages[0]

    assert message.options == {"num_ctx": 4096}
