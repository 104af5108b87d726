"""conversations.history.forms driven directly: the history filters (which conversations, which
page, links that keep them; a bad value is explained and not applied), renaming, bulk choices."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from chatsite.accounts.models import User
from conversations.chat.forms import form_errors
from conversations.history.forms import MAX_BULK_IDS, BulkForm, HistoryFilterForm, RenameForm
from conversations.models import Conversation
from tests.factories import make_conversation

DAY = date(2026, 5, 10)


def active_at(conversation: Conversation, when: datetime) -> None:
    """Set last activity (updated_at is auto_now, so only update() can set it)."""
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=when)


def on(day: date, at: time) -> datetime:
    """A moment on the site's clock (TIME_ZONE)."""
    return timezone.make_aware(datetime.combine(day, at))


def shown(user: User, **query: str) -> list[str]:
    form = HistoryFilterForm(query or None)
    return sorted(
        form.filtered(Conversation.objects.for_user(user)).values_list("title", flat=True)
    )


# Which conversations


def test_without_filters_every_unarchived_conversation_is_shown(alice):
    make_conversation(alice, title="Kept")
    make_conversation(alice, title="Put away", archived=True)

    assert shown(alice) == ["Kept"]
    assert HistoryFilterForm().has_filters() is False


@pytest.mark.parametrize(
    ("archived", "titles"),
    [("", ["Kept"]), ("only", ["Put away"]), ("all", ["Kept", "Put away"])],
)
def test_the_archived_choice_hides_shows_only_or_includes_archived_conversations(
    alice, archived, titles
):
    make_conversation(alice, title="Kept")
    make_conversation(alice, title="Put away", archived=True)

    assert shown(alice, archived=archived) == titles


def test_the_model_filter_keeps_only_that_models_conversations(alice):
    make_conversation(alice, title="Llama", model="llama3.2:latest")
    make_conversation(alice, title="Qwen", model="qwen3:8b")

    assert shown(alice, model="qwen3:8b") == ["Qwen"]


def test_since_and_until_take_whole_days_at_both_ends(alice):
    moments = {
        "day before, last minute": (DAY - timedelta(days=1), time(23, 59)),
        "first day, midnight": (DAY, time(0, 0)),
        "last day, last minute": (DAY + timedelta(days=2), time(23, 59, 59)),
        "day after, midnight": (DAY + timedelta(days=3), time(0, 0)),
    }
    for title, (day, at) in moments.items():
        active_at(make_conversation(alice, title=title), on(day, at))

    chosen = shown(alice, since=DAY.isoformat(), until=(DAY + timedelta(days=2)).isoformat())

    assert chosen == ["first day, midnight", "last day, last minute"]


def test_days_are_the_sites_days_not_utcs(settings, alice):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+12 in May
    evening_in_utc = datetime.combine(DAY, time(20, 0), tzinfo=UTC)
    active_at(make_conversation(alice, title="Next morning in Auckland"), evening_in_utc)
    next_day = (DAY + timedelta(days=1)).isoformat()

    assert shown(alice, since=DAY.isoformat(), until=DAY.isoformat()) == []
    assert shown(alice, since=next_day, until=next_day) == ["Next morning in Auckland"]


# Bad values: explained, not applied, the rest still applied


def test_a_date_that_is_not_a_date_is_explained_and_the_other_filters_still_apply(alice):
    make_conversation(alice, title="Qwen", model="qwen3:8b")
    make_conversation(alice, title="Llama", model="llama3.2:latest")
    form = HistoryFilterForm({"since": "yesterday", "model": "qwen3:8b"})

    assert form_errors(form) == ["Active since: Enter a valid date."]
    assert shown(alice, since="yesterday", model="qwen3:8b") == ["Qwen"]


def test_a_start_after_the_end_applies_neither_date_and_says_so(alice):
    active_at(make_conversation(alice, title="Long ago"), on(DAY - timedelta(days=300), time(12)))
    make_conversation(alice, title="Put away", archived=True)
    query = {"since": "2026-05-02", "until": "2026-05-01", "archived": "all"}

    assert form_errors(HistoryFilterForm(query)) == [
        "The start date is after the end date; swap them or clear one."
    ]
    assert shown(alice, **query) == ["Long ago", "Put away"]


def test_an_unknown_archived_choice_falls_back_to_hiding_archived_ones(alice):
    make_conversation(alice, title="Kept")
    make_conversation(alice, title="Put away", archived=True)

    assert form_errors(HistoryFilterForm({"archived": "maybe"})) == [
        "Archived: Select a valid choice. maybe is not one of the available choices."
    ]
    assert shown(alice, archived="maybe") == ["Kept"]


# Page numbers


@pytest.mark.parametrize(
    ("page", "number"),
    [(None, 1), ("1", 1), ("7", 7), ("0", 1), ("-3", 1), ("two", 1), ("1000001", 1)],
)
def test_the_page_number_is_the_one_asked_for_or_else_the_first(page, number):
    form = HistoryFilterForm({"page": page} if page is not None else None)

    assert form.page_number() == number


def test_a_bad_page_number_is_explained():
    assert form_errors(HistoryFilterForm({"page": "two"})) == ["Page: Enter a whole number."]


# Links that keep the filters


def test_the_query_string_keeps_the_valid_filters_but_not_the_page():
    form = HistoryFilterForm(
        {"model": "qwen3:8b", "since": "2026-05-01", "archived": "all", "page": "4"}
    )

    assert form.query_string() == "?model=qwen3%3A8b&since=2026-05-01&archived=all"


def test_the_query_string_for_the_next_page_adds_the_page_only_when_there_is_one():
    form = HistoryFilterForm({"model": "qwen3:8b", "page": "2"})

    assert form.query_string(page=3) == "?model=qwen3%3A8b&page=3"
    assert form.query_string(page=None) == "?model=qwen3%3A8b"


def test_the_query_string_drops_a_bad_value_and_blank_ones():
    form = HistoryFilterForm({"model": "", "since": "yesterday", "until": "2026-05-01"})

    assert form.query_string() == "?until=2026-05-01"


def test_without_filters_the_query_string_is_empty():
    assert HistoryFilterForm().query_string() == "?"
    assert HistoryFilterForm({"page": "2"}).query_string() == "?"


@pytest.mark.parametrize(
    ("query", "filtered"),
    [
        ({"page": "3"}, False),
        ({"since": "yesterday"}, False),
        ({"model": "qwen3:8b"}, True),
        ({"until": "2026-05-01"}, True),
        ({"archived": "only"}, True),
    ],
)
def test_only_a_valid_filter_counts_as_filtering(query, filtered):
    assert HistoryFilterForm(query).has_filters() is filtered


# Renaming


def test_a_new_title_is_trimmed():
    form = RenameForm({"title": "  Trip to Lisbon \n"})

    assert form.is_valid()
    assert form.cleaned_data == {"title": "Trip to Lisbon", "place": ""}


@pytest.mark.parametrize(
    ("title", "error"),
    [
        ("", "Title: A title cannot be empty."),
        ("   ", "Title: A title cannot be empty."),
        ("x" * 201, "Title: Keep the title to 200 characters or fewer (it has 201)."),
    ],
)
def test_an_empty_or_too_long_title_is_refused_with_a_sentence(title, error):
    assert form_errors(RenameForm({"title": title})) == [error]


def test_a_title_can_be_answered_for_the_chat_header_or_a_history_row_only():
    header = RenameForm({"title": "T", "place": "header"})
    elsewhere = RenameForm({"title": "T", "place": "sidebar"})

    assert header.is_valid() and header.cleaned_data["place"] == "header"
    assert not elsewhere.is_valid()


# Bulk actions


def test_a_selection_is_read_as_ids_once_each_in_the_order_given():
    first, second = uuid.uuid4(), uuid.uuid4()
    form = BulkForm({"action": "archive", "ids": [str(first), str(second), str(first)]})

    assert form.is_valid()
    assert form.cleaned_data == {"action": "archive", "ids": [first, second], "confirm": False}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "archive"}, "Select at least one conversation first."),
        ({"action": "archive", "ids": ["not-a-uuid"]}, "That selection is not valid; reload"),
        ({"action": "shred", "ids": [str(uuid.UUID(int=1))]}, "Pick an action for the selection."),
    ],
)
def test_a_bad_selection_or_action_is_refused_with_a_sentence(data, error):
    errors = form_errors(BulkForm(data))

    assert len(errors) == 1 and errors[0].startswith(error), errors


def test_a_selection_of_more_than_the_limit_is_refused():
    at_limit = [str(uuid.uuid4()) for _ in range(MAX_BULK_IDS)]
    past_it = [*at_limit, str(uuid.uuid4())]

    assert BulkForm({"action": "delete", "ids": at_limit}).is_valid()
    assert form_errors(BulkForm({"action": "delete", "ids": past_it})) == [
        f"Select at most {MAX_BULK_IDS} conversations at once."
    ]
