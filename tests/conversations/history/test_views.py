"""conversations.history.views: list order, pagination and filters; rename, pin, archive,
delete and bulk actions, each isolated per user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.history.views import PER_PAGE
from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message

HTMX = {"HTTP_HX_REQUEST": "true"}


def aged(conversation: Conversation, days: float) -> Conversation:
    """Set last activity `days` ago (updated_at is auto_now, so only update() can set it)."""
    when = timezone.now() - timedelta(days=days)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=when)
    conversation.refresh_from_db()
    return conversation


def titles(response) -> list[str]:
    return [item.title for item in response.context["conversations"]]


def history(client, **params):
    return client.get(reverse("conversations:history"), params)


def snapshot() -> list:
    return [list(Conversation.objects.order_by("pk").values()), list(Message.objects.values())]


# The list


def test_history_lists_conversations_by_most_recent_activity_with_model_count_and_time(
    alice, alice_client
):
    old = aged(make_conversation(alice, title="Old one", model="qwen3:8b"), 3)
    make_message(old)
    make_message(old, role=Message.Role.ASSISTANT, content="Hi")
    aged(make_conversation(alice, title="Newest"), 0)
    aged(make_conversation(alice, title="Middle"), 1)

    response = history(alice_client)
    page = response.content.decode()

    assert titles(response) == ["Newest", "Middle", "Old one"]
    assert [c.message_count for c in response.context["conversations"]] == [0, 0, 2]
    assert "qwen3:8b" in page
    assert f'datetime="{old.updated_at.isoformat()}' in page
    assert "3 conversations" in page


def test_pinned_conversations_stay_on_top_of_the_list_and_the_sidebar(alice, alice_client, ollama):
    aged(make_conversation(alice, title="Recent"), 0)
    aged(make_conversation(alice, title="Pinned but old", pinned=True), 30)

    sidebar = alice_client.get(reverse("conversations:index")).context["conversations"]

    assert titles(history(alice_client)) == ["Pinned but old", "Recent"]
    assert [c.title for c in sidebar] == ["Pinned but old", "Recent"]


def test_archived_conversations_leave_the_default_list_and_the_sidebar(alice, alice_client, ollama):
    make_conversation(alice, title="Kept")
    make_conversation(alice, title="Put away", archived=True)

    sidebar = alice_client.get(reverse("conversations:index")).context["conversations"]

    assert titles(history(alice_client)) == ["Kept"]
    assert titles(history(alice_client, archived="only")) == ["Put away"]
    assert sorted(titles(history(alice_client, archived="all"))) == ["Kept", "Put away"]
    assert [c.title for c in sidebar] == ["Kept"]


def test_history_filters_by_model(alice, alice_client):
    make_conversation(alice, title="Llama chat", model="llama3.2:latest")
    make_conversation(alice, title="Qwen chat", model="qwen3:8b")

    response = history(alice_client, model="qwen3:8b")

    assert titles(response) == ["Qwen chat"]
    assert response.context["models"] == ["llama3.2:latest", "qwen3:8b"]


def test_history_filters_by_a_date_range_of_last_activity_inclusive(alice, alice_client):
    for days in (0, 2, 5, 9):
        aged(make_conversation(alice, title=f"{days} days ago"), days)
    today = timezone.localdate()

    response = history(
        alice_client,
        since=(today - timedelta(days=5)).isoformat(),
        until=(today - timedelta(days=2)).isoformat(),
    )

    assert titles(response) == ["2 days ago", "5 days ago"]
    assert "2 conversations match these filters" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "Active since: Enter a valid date."),
        ({"page": "0"}, "Page: Ensure this value is greater than or equal to 1."),
        ({"page": "two"}, "Page: Enter a whole number."),
        ({"archived": "maybe"}, "Archived: Select a valid choice."),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "The start date is after the end date"),
    ],
)
def test_bad_filter_values_are_explained_instead_of_failing(alice, alice_client, params, message):
    make_conversation(alice, title="Still listed")

    response = history(alice_client, **params)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert titles(response) == ["Still listed"]


def test_history_shows_fifty_a_page_with_a_real_next_page_link(alice, alice_client):
    for number in range(PER_PAGE + 5):
        aged(make_conversation(alice, title=f"Chat {number:02d}"), number / 100)
    next_link = reverse("conversations:history") + "?page=2"

    first = history(alice_client)
    second = history(alice_client, page=2)

    assert len(first.context["conversations"]) == PER_PAGE
    assert f'href="{next_link}"' in first.content.decode()
    assert titles(second) == [f"Chat {number:02d}" for number in range(PER_PAGE, PER_PAGE + 5)]
    assert second.context["next_page"] is None


def test_scrolling_loads_the_next_rows_as_a_fragment_that_keeps_the_filters(alice, alice_client):
    for number in range(PER_PAGE + 1):
        make_conversation(alice, title=f"Chat {number}", model="qwen3:8b")
    make_conversation(alice, title="Other model")

    first = history(alice_client, model="qwen3:8b").content.decode()
    more = alice_client.get(
        reverse("conversations:history"),
        {"model": "qwen3:8b", "page": "2"},
        **HTMX,
        HTTP_HX_TARGET="history-more",
    )

    assert 'hx-trigger="revealed"' in first
    assert "?model=qwen3%3A8b&amp;page=2" in first
    assert len(more.context["conversations"]) == 1
    assert more.content.decode().lstrip().startswith('<tr id="history-row-')
    assert "<html" not in more.content.decode()


def test_changing_a_filter_with_htmx_returns_only_the_results(alice, alice_client):
    make_conversation(alice, title="Put away", archived=True)

    response = alice_client.get(
        reverse("conversations:history"),
        {"archived": "only"},
        **HTMX,
        HTTP_HX_TARGET="history-results",
    )

    body = response.content.decode()
    assert body.startswith('<section id="history-results"')
    assert "Put away" in body


def test_the_list_counts_messages_for_the_shown_page_only_in_a_constant_number_of_queries(
    alice, alice_client
):
    def queries_for_history() -> int:
        with CaptureQueriesContext(connection) as captured:
            history(alice_client)
        return len(captured)

    make_message(make_conversation(alice))
    history(alice_client)  # the first visit also records "last seen"
    few = queries_for_history()
    for _ in range(PER_PAGE + 10):
        conversation = make_conversation(alice)
        make_message(conversation)
        make_message(conversation, role=Message.Role.ASSISTANT)
    many = queries_for_history()

    assert many == few


def test_history_lists_only_the_users_own_conversations(alice, bob, bob_client):
    make_conversation(alice, title="Alice's secret plans")
    make_conversation(bob, title="Bob's notes")

    response = history(bob_client)

    assert titles(response) == ["Bob's notes"]
    assert "secret" not in response.content.decode()


# Rename


def test_renaming_inline_trims_the_title_and_answers_with_the_title_fragment(alice, alice_client):
    conversation = aged(make_conversation(alice, title="Old title"), 2)

    response = alice_client.post(
        reverse("conversations:rename", args=[conversation.pk]),
        {"title": "  Trip to Lisbon  "},
        **HTMX,
    )

    conversation_after = Conversation.objects.get(pk=conversation.pk)
    assert conversation_after.title == "Trip to Lisbon"
    assert conversation_after.updated_at == conversation.updated_at  # not activity
    assert response.content.decode().startswith(f'<div id="title-{conversation.pk}"')
    assert "Trip to Lisbon" in response.content.decode()


def test_the_inline_rename_form_comes_with_the_current_title(alice, alice_client):
    conversation = make_conversation(alice, title="Old title")

    response = alice_client.get(reverse("conversations:rename", args=[conversation.pk]), **HTMX)

    body = response.content.decode()
    assert body.startswith(f'<form id="title-{conversation.pk}"')
    assert 'value="Old title"' in body


@pytest.mark.parametrize(
    ("title", "message"),
    [("", "A title cannot be empty."), ("   ", "A title cannot be empty."), ("x" * 201, "200")],
)
def test_an_empty_or_too_long_title_is_refused_and_the_title_kept(
    alice, alice_client, title, message
):
    conversation = make_conversation(alice, title="Keep me")
    url = reverse("conversations:rename", args=[conversation.pk])

    inline = alice_client.post(url, {"title": title}, **HTMX)
    page = alice_client.post(url, {"title": title})

    assert message in inline.content.decode()
    assert page.status_code == 400
    assert message in page.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).title == "Keep me"


def test_renaming_without_htmx_returns_to_the_history_page_with_a_notice(alice, alice_client):
    conversation = make_conversation(alice, title="Old title")

    response = alice_client.post(
        reverse("conversations:rename", args=[conversation.pk]), {"title": "New"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("conversations:history")
    assert "Renamed to “New”." in response.content.decode()


def test_renaming_from_the_chat_header_also_updates_the_sidebar_link(alice, alice_client):
    conversation = make_conversation(alice, title="Old title")

    response = alice_client.post(
        reverse("conversations:rename", args=[conversation.pk]),
        {"title": "New title", "place": "header"},
        **HTMX,
    )

    body = response.content.decode()
    assert (
        f'<span id="conversation-title-{conversation.pk}" title="New title" '
        'data-page-title="New title · chatsite">New title</span>'
    ) in body
    assert (
        f'<a id="conversation-link-{conversation.pk}" hx-swap-oob="innerHTML">'
        '<span title="New title">New title</span>'
    ) in body


def test_a_rename_settles_the_title_so_no_title_is_generated_over_it(alice, alice_client):
    conversation = make_conversation(alice, title="Why is the sky blue?")

    alice_client.post(
        reverse("conversations:rename", args=[conversation.pk]), {"title": "Sky"}, **HTMX
    )

    assert Conversation.objects.get(pk=conversation.pk).title_settled


def test_bob_cannot_rename_alices_conversation(alice, bob_client):
    conversation = make_conversation(alice, title="Alice's")

    response = bob_client.post(
        reverse("conversations:rename", args=[conversation.pk]), {"title": "Bob was here"}, **HTMX
    )

    assert response.status_code == 404
    assert Conversation.objects.get(pk=conversation.pk).title == "Alice's"


# Pin, archive, delete


def test_pinning_puts_a_conversation_on_top_without_counting_as_activity(alice, alice_client):
    old = aged(make_conversation(alice, title="Old"), 10)
    make_conversation(alice, title="New")

    response = alice_client.post(reverse("conversations:pin", args=[old.pk]), follow=True)

    assert titles(response) == ["Old", "New"]
    assert "Pinned “Old”." in response.content.decode()
    assert Conversation.objects.get(pk=old.pk).updated_at == old.updated_at


def test_unpinning_returns_a_conversation_to_its_place(alice, alice_client):
    old = aged(make_conversation(alice, title="Old", pinned=True), 10)
    make_conversation(alice, title="New")

    response = alice_client.post(reverse("conversations:unpin", args=[old.pk]), follow=True)

    assert titles(response) == ["New", "Old"]


def test_archiving_and_unarchiving_move_a_conversation_between_the_lists(alice, alice_client):
    conversation = make_conversation(alice, title="Done with it")

    archived = alice_client.post(reverse("conversations:archive", args=[conversation.pk]))
    in_archive = titles(history(alice_client, archived="only"))
    in_default = titles(history(alice_client))
    alice_client.post(reverse("conversations:unarchive", args=[conversation.pk]))

    assert archived.status_code == 302
    assert (in_archive, in_default) == (["Done with it"], [])
    assert titles(history(alice_client)) == ["Done with it"]


def test_an_action_returns_to_the_filtered_list_it_came_from_but_never_off_site(
    alice, alice_client
):
    conversation = make_conversation(alice)
    url = reverse("conversations:pin", args=[conversation.pk])
    filtered = reverse("conversations:history") + "?archived=all"

    kept = alice_client.post(url, {"next": filtered})
    refused = alice_client.post(url, {"next": "https://evil.example/"})

    assert kept["Location"] == filtered
    assert refused["Location"] == reverse("conversations:history")


def test_deleting_asks_for_confirmation_first_then_deletes_on_post(alice, alice_client):
    conversation = make_conversation(alice, title="Throwaway")
    make_message(conversation)
    url = reverse("conversations:delete", args=[conversation.pk])

    confirm = alice_client.get(url)
    still_there = Conversation.objects.filter(pk=conversation.pk).exists()
    response = alice_client.post(url, follow=True)

    assert "Delete “Throwaway”?" in confirm.content.decode()
    assert "1 message" in confirm.content.decode()
    assert still_there
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert "Deleted “Throwaway”." in response.content.decode()


@pytest.mark.parametrize("name", ["pin", "unpin", "archive", "unarchive", "delete"])
def test_bob_acting_on_alices_conversation_gets_404_and_changes_nothing(alice, bob_client, name):
    conversation = make_conversation(alice, title="Alice's", pinned=name == "unpin")
    before = snapshot()

    response = bob_client.post(reverse(f"conversations:{name}", args=[conversation.pk]))

    assert response.status_code == 404
    assert snapshot() == before


# Bulk actions


def bulk(client, action, conversations, **extra):
    data = {"action": action, "ids": [str(c.pk) for c in conversations], **extra}
    return client.post(reverse("conversations:bulk"), data, follow=True)


def test_archive_selected_archives_exactly_the_selection(alice, alice_client):
    first, second, untouched = (make_conversation(alice, title=t) for t in "ABC")

    response = bulk(alice_client, "archive", [first, second])

    archived = set(Conversation.objects.filter(archived=True).values_list("title", flat=True))
    assert archived == {"A", "B"}
    assert titles(response) == ["C"]
    assert "Archived 2 conversations." in response.content.decode()
    assert not Conversation.objects.get(pk=untouched.pk).archived


def test_unarchive_selected_brings_conversations_back(alice, alice_client):
    conversation = make_conversation(alice, archived=True)

    bulk(alice_client, "unarchive", [conversation])

    assert not Conversation.objects.get(pk=conversation.pk).archived


def test_delete_selected_asks_first_and_deletes_only_after_confirming(alice, alice_client):
    doomed = [make_conversation(alice, title=t) for t in ("Doomed one", "Doomed two")]
    kept = make_conversation(alice, title="Kept")

    asked = bulk(alice_client, "delete", doomed)
    nothing_deleted = Conversation.objects.count()
    done = bulk(alice_client, "delete", doomed, confirm="on")

    assert "Delete 2 conversations?" in asked.content.decode()
    assert "Doomed one" in asked.content.decode()
    assert nothing_deleted == 3
    assert list(Conversation.objects.values_list("pk", flat=True)) == [kept.pk]
    assert "Deleted 2 conversations." in done.content.decode()


def test_bulk_actions_ignore_other_peoples_ids_and_count_them_as_not_found(alice, bob, bob_client):
    alices = make_conversation(alice, title="Alice's")
    bobs = make_conversation(bob, title="Bob's")
    alice_before = list(Conversation.objects.filter(owner=alice).values())

    archived = bulk(bob_client, "archive", [alices, bobs])
    deleted = bulk(bob_client, "delete", [alices, bobs], confirm="on")

    assert "Archived 1 conversation. 1 selected conversation was not found." in (
        archived.content.decode()
    )
    assert "Deleted 1 conversation." in deleted.content.decode()
    assert list(Conversation.objects.filter(owner=alice).values()) == alice_before
    assert not Conversation.objects.filter(owner=bob).exists()


@pytest.mark.parametrize("action", ["archive", "unarchive", "delete"])
def test_a_bulk_action_on_only_someone_elses_ids_is_404_and_changes_nothing(
    alice, bob_client, action
):
    alices = make_conversation(alice, archived=action == "unarchive")
    before = snapshot()

    response = bob_client.post(
        reverse("conversations:bulk"), {"action": action, "ids": [str(alices.pk)], "confirm": "on"}
    )

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "archive"}, "Select at least one conversation first."),
        ({"action": "archive", "ids": ["not-a-uuid"]}, "That selection is not valid"),
        ({"action": "shred", "ids": ["6f1c1f39-6c1f-4b39-9c49-3a3b1f0c9e11"]}, "Pick an action"),
    ],
)
def test_a_bad_bulk_request_is_explained_and_changes_nothing(alice, alice_client, data, message):
    make_conversation(alice)
    before = snapshot()

    response = alice_client.post(reverse("conversations:bulk"), data, follow=True)

    assert message in response.content.decode()
    assert snapshot() == before
