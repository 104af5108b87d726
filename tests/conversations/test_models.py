"""conversations.models driven directly: ownership (for_user, for_admin_review), the history
order, message counts for a page, reaping replies whose process is gone, reply figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from chatsite.accounts.models import SiteSettings
from conversations.models import LOST_REPLY_ERROR, Conversation, Message
from tests.factories import make_conversation, make_message, make_user


def turn_admin_review(on: bool) -> None:
    settings = SiteSettings.load()
    settings.admin_review = on
    settings.save()


def titles(conversations) -> list[str]:
    return [conversation.title for conversation in conversations]


# Ownership


def test_for_user_gives_only_the_users_own_conversations_and_messages(alice, bob):
    make_message(make_conversation(alice, title="Alice's"), content="Alice's secret")
    make_message(make_conversation(bob, title="Bob's"), content="Bob's note")

    assert titles(Conversation.objects.for_user(bob)) == ["Bob's"]
    assert [m.content for m in Message.objects.for_user(bob)] == ["Bob's note"]


def test_an_anonymous_visitor_owns_nothing(alice):
    make_message(make_conversation(alice))

    assert not Conversation.objects.for_user(AnonymousUser()).exists()
    assert not Message.objects.for_user(AnonymousUser()).exists()
    assert not Conversation.objects.for_user(None).exists()


def test_admin_review_gives_an_admin_nothing_while_it_is_off(alice, admin_user):
    make_message(make_conversation(alice))

    assert not Conversation.objects.for_admin_review(admin_user).exists()
    assert not Message.objects.for_admin_review(admin_user).exists()


def test_admin_review_gives_an_admin_everyones_conversations_once_it_is_on(alice, bob, admin_user):
    make_message(make_conversation(alice, title="Alice's"))
    make_message(make_conversation(bob, title="Bob's"))
    turn_admin_review(True)

    assert sorted(titles(Conversation.objects.for_admin_review(admin_user))) == [
        "Alice's",
        "Bob's",
    ]
    assert Message.objects.for_admin_review(admin_user).count() == 2


def test_admin_review_never_gives_a_member_anything_even_when_it_is_on(alice, bob):
    make_message(make_conversation(alice))
    turn_admin_review(True)

    assert not Conversation.objects.for_admin_review(bob).exists()
    assert not Message.objects.for_admin_review(bob).exists()


# The history order


def aged(conversation: Conversation, days: float) -> Conversation:
    when = timezone.now() - timedelta(days=days)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=when)
    return conversation


def test_pinned_conversations_come_first_then_the_most_recently_active(alice):
    aged(make_conversation(alice, title="Old pinned", pinned=True), 9)
    aged(make_conversation(alice, title="Recent"), 1)
    aged(make_conversation(alice, title="Older"), 5)
    aged(make_conversation(alice, title="New pinned", pinned=True), 2)

    assert titles(Conversation.objects.for_user(alice).pinned_first()) == [
        "New pinned",
        "Old pinned",
        "Recent",
        "Older",
    ]


def test_conversations_active_at_the_same_moment_keep_one_order_by_id(alice):
    same_moment = timezone.now()
    made = [make_conversation(alice, title=f"Chat {n}") for n in range(5)]
    Conversation.objects.update(updated_at=same_moment)

    listed = list(Conversation.objects.for_user(alice).pinned_first())

    assert [c.pk for c in listed] == sorted((c.pk for c in made), reverse=True)


def test_the_sidebar_leaves_archived_conversations_out(alice):
    aged(make_conversation(alice, title="Kept"), 1)
    make_conversation(alice, title="Put away", archived=True)
    make_conversation(alice, title="Pinned", pinned=True)

    assert titles(Conversation.objects.for_user(alice).unarchived().order_by("title")) == [
        "Kept",
        "Pinned",
    ]
    assert titles(Conversation.objects.for_user(alice).in_sidebar()) == ["Pinned", "Kept"]


def test_message_counts_are_given_for_the_asked_ids_only_including_empty_ones(alice):
    two = make_conversation(alice)
    make_message(two)
    make_message(two, role=Message.Role.ASSISTANT)
    empty = make_conversation(alice)
    not_asked = make_conversation(alice)
    make_message(not_asked)

    counts = Conversation.objects.for_user(alice).message_counts([two.pk, empty.pk])

    assert counts == {two.pk: 2, empty.pk: 0}


def test_message_counts_never_count_someone_elses_conversation(alice, bob):
    alices = make_conversation(alice)
    make_message(alices)

    assert Conversation.objects.for_user(bob).message_counts([alices.pk]) == {}


# Replies whose process is gone


def a_second_ago() -> datetime:
    return timezone.now() - timedelta(seconds=1)


def streaming_reply(conversation: Conversation, **lease) -> Message:
    return make_message(
        conversation, role=Message.Role.ASSISTANT, state=Message.State.STREAMING, **lease
    )


@pytest.mark.django_db
def test_expired_leases_are_reaped_and_live_ones_left_alone():
    conversation = make_conversation(make_user("alice"))
    now = timezone.now()
    dead = make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        content="half a rep",
        lease_owner="gone:1",
        lease_expires_at=now - timedelta(seconds=1),
    )
    alive = make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        lease_owner="other-process:2",
        lease_expires_at=now + timedelta(seconds=30),
    )

    assert Message.objects.reap_expired() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.state == Message.State.INTERRUPTED
    assert dead.error == LOST_REPLY_ERROR
    assert dead.content == "half a rep"
    assert alive.state == Message.State.STREAMING


def test_a_reaped_reply_is_released_and_finished(alice):
    reply = streaming_reply(
        make_conversation(alice), lease_owner="gone:1", lease_expires_at=a_second_ago()
    )

    Message.objects.reap_expired()

    reply.refresh_from_db()
    assert (reply.lease_owner, reply.lease_expires_at) == ("", None)
    assert reply.finished_at is not None


def test_a_streaming_reply_that_never_took_a_lease_is_reaped(alice):
    reply = streaming_reply(make_conversation(alice))

    assert Message.objects.reap_expired() == 1
    reply.refresh_from_db()
    assert reply.state == Message.State.INTERRUPTED


def test_only_streaming_replies_are_reaped(alice):
    conversation = make_conversation(alice)
    finished = make_message(conversation, role=Message.Role.ASSISTANT, content="Done.")

    assert Message.objects.reap_expired() == 0
    finished.refresh_from_db()
    assert (finished.state, finished.error) == (Message.State.COMPLETE, "")


def test_live_streaming_is_the_replies_a_live_process_still_runs(alice):
    conversation = make_conversation(alice)
    soon = timezone.now() + timedelta(seconds=30)
    running = streaming_reply(conversation, lease_owner="here:1", lease_expires_at=soon)
    streaming_reply(conversation, lease_owner="gone:1", lease_expires_at=a_second_ago())
    make_message(conversation, role=Message.Role.ASSISTANT, lease_expires_at=soon)

    assert list(Message.objects.live_streaming()) == [running]


# Figures shown with a reply


def test_tokens_per_second_needs_both_a_count_and_a_duration():
    reply = Message(eval_count=120, eval_duration_ns=4_000_000_000)

    assert reply.tokens_per_second == pytest.approx(30.0)
    assert Message(eval_count=120).tokens_per_second is None
    assert Message(eval_count=0, eval_duration_ns=1).tokens_per_second is None


def test_total_seconds_is_the_total_duration_when_ollama_gave_one():
    assert Message(total_duration_ns=5_250_000_000).total_seconds == 5.25
    assert Message(total_duration_ns=0).total_seconds == 0.0
    assert Message().total_seconds is None


def test_a_conversation_without_a_title_is_called_new_chat(alice):
    assert str(make_conversation(alice, title="")) == "New chat"
    assert str(make_conversation(alice, title="Trip")) == "Trip"


def test_a_conversation_links_to_its_chat_page(alice):
    conversation = make_conversation(alice)

    assert conversation.get_absolute_url() == f"/c/{conversation.pk}/"
