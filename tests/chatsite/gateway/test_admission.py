"""The gateway's checks in the database: keys, accounts, admin-only endpoints, and the per-user
limits that chat replies and API generations share."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from chatsite.accounts.models import SiteSettings, User
from chatsite.gateway.admission import BAD_KEY, MISSING_KEY, Refused, admit, authenticate, finish
from chatsite.gateway.models import ApiKey, UsageRecord
from chatsite.jobs import taken_lease
from conversations.chat.fair_use import (
    STALE_TURNS_KEPT,
    claim_turn,
    count_each,
    generating_now,
    refuse_turn,
)
from conversations.models import Message, TurnStart
from tests.factories import make_conversation, make_message


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


def test_a_key_authenticates_its_owner_and_notes_when_it_was_used(alice: User):
    key, secret = ApiKey.objects.create_key(alice, "script")

    caller = authenticate(bearer(secret))

    assert caller.user == alice and caller.key_id == key.pk
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Token cs-x"])
def test_no_bearer_key_is_refused_with_how_to_send_one(header: str | None, db):
    with pytest.raises(Refused) as refused:
        authenticate(header)

    assert refused.value.status == 401 and refused.value.message == MISSING_KEY


def test_revoked_expired_unknown_keys_and_disabled_accounts_are_refused(alice: User, bob: User):
    revoked, revoked_secret = ApiKey.objects.create_key(alice, "old")
    revoked.revoke()
    _, expired_secret = ApiKey.objects.create_key(
        alice, "expired", timezone.now() - dt.timedelta(seconds=1)
    )
    _, bobs_secret = ApiKey.objects.create_key(bob, "bob's")
    User.objects.set_active(bob, False)
    unapproved = User.objects.create_user("newbie", is_approved=False)
    _, unapproved_secret = ApiKey.objects.create_key(unapproved, "waiting")

    for secret in (revoked_secret, expired_secret, bobs_secret, unapproved_secret, "cs-nope"):
        with pytest.raises(Refused) as refused:
            authenticate(bearer(secret))
        assert (refused.value.status, refused.value.message) == (401, BAD_KEY)


def test_admin_only_endpoints_refuse_members(alice: User, admin_user: User):
    _, member = ApiKey.objects.create_key(alice, "m")
    _, admin = ApiKey.objects.create_key(admin_user, "a")

    with pytest.raises(Refused) as refused:
        admit(bearer(member), endpoint="pull", model="x", server="s", admin_only=True)
    caller, record = admit(bearer(admin), endpoint="pull", model="x", server="s", admin_only=True)

    assert refused.value.status == 403
    assert caller.admin and record is None


def test_a_counted_request_opens_a_running_record_that_finish_closes(alice: User):
    key, secret = ApiKey.objects.create_key(alice, "m")

    _, record_id = admit(
        bearer(secret), endpoint="chat", model="llama3.2", server="http://s", counted=True
    )
    running = UsageRecord.objects.get(pk=record_id)
    finish(
        record_id,
        status="complete",
        http_status=200,
        prompt_tokens=3,
        output_tokens=9,
        duration_ns=5,
    )
    done = UsageRecord.objects.get(pk=record_id)

    assert (running.status, running.key_id, running.lease_expires_at is not None) == (
        "running",
        key.pk,
        True,
    )
    assert (done.status, done.prompt_tokens, done.output_tokens, done.lease_expires_at) == (
        "complete",
        3,
        9,
        None,
    )


def test_api_generations_count_against_the_chat_limit_and_the_other_way_round(
    alice: User, settings
):
    settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER = 2
    conversation = make_conversation(alice)
    make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        **taken_lease(15),
    )
    UsageRecord.objects.create(user=alice, endpoint="chat", **taken_lease(15))

    refusal = refuse_turn(alice)

    assert refusal is not None and refusal.retry_after >= 1
    assert "2 replies being written" in refusal.message
    assert claim_turn(alice) == refusal.message


def test_an_api_generation_whose_process_died_stops_counting(alice: User, settings):
    settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER = 1
    UsageRecord.objects.create(
        user=alice, endpoint="chat", lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert refuse_turn(alice) is None
    assert UsageRecord.objects.reap_expired() == 1
    assert UsageRecord.objects.get().status == "interrupted"


def test_over_the_rate_limit_the_wait_is_until_the_oldest_turn_leaves_the_minute(
    alice: User, settings
):
    settings.CHAT_MAX_TURNS_PER_MINUTE = 2
    _, secret = ApiKey.objects.create_key(alice, "m")
    for _ in range(2):
        admit(bearer(secret), endpoint="chat", model="m", server="s", counted=True)
        UsageRecord.objects.update(status="complete", lease_expires_at=None)

    with pytest.raises(Refused) as refused:
        admit(bearer(secret), endpoint="chat", model="m", server="s", counted=True)

    assert refused.value.status == 429
    assert 55 <= (refused.value.retry_after or 0) <= 60
    assert "2 replies in the last minute" in refused.value.message
    assert UsageRecord.objects.count() == 2  # the refused one stored nothing


def test_the_users_page_count_of_who_is_generating_includes_api_generations(alice: User, bob: User):
    UsageRecord.objects.create(user=alice, endpoint="chat", **taken_lease(15))
    UsageRecord.objects.create(
        user=bob, endpoint="chat", lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert generating_now([alice.pk, bob.pk]) == {alice.pk: 1}


def test_turns_older_than_the_minute_do_not_count_and_are_deleted_in_batches(alice: User, settings):
    settings.CHAT_MAX_TURNS_PER_MINUTE = 1
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    TurnStart.objects.bulk_create(
        [TurnStart(user=alice, started_at=long_ago) for _ in range(STALE_TURNS_KEPT - 1)]
    )

    assert refuse_turn(alice) is None  # the old turns are outside the window
    assert TurnStart.objects.filter(started_at=long_ago).count() == STALE_TURNS_KEPT - 1
    TurnStart.objects.exclude(started_at=long_ago).update(started_at=long_ago)
    assert refuse_turn(alice) is None
    assert TurnStart.objects.count() == 1  # the batch went; the new turn stays
    assert refuse_turn(alice) is not None  # and it counts


def test_count_each_counts_several_querysets_in_one_statement(
    alice: User, bob: User, django_assert_num_queries
):
    conversation = make_conversation(alice)
    make_message(conversation, role=Message.Role.USER)
    make_message(conversation, role=Message.Role.USER)
    UsageRecord.objects.create(user=bob, endpoint="chat")

    with django_assert_num_queries(1):
        counts = count_each(
            Message.objects.filter(conversation__owner=alice),
            UsageRecord.objects.filter(user=bob),
            UsageRecord.objects.filter(user=alice),
        )

    assert counts == [2, 1, 0]


def test_a_site_without_model_restrictions_admits_with_the_key_lookup_alone(
    alice: User, django_assert_num_queries
):
    _, secret = ApiKey.objects.create_key(alice, "m")
    SiteSettings.load()  # a site has its settings row from its first page on
    authenticate(bearer(secret))  # notes last use: the requests below write no timestamp

    # The key (with the settings' switch); then the limits' transaction: begin, (PostgreSQL:
    # the user's row locked), the counts, the turn, the usage record, commit.
    with django_assert_num_queries(6 + connection.features.has_select_for_update):
        admit(bearer(secret), endpoint="chat", model="qwen3", server="s", counted=True)
    with django_assert_num_queries(1):
        admit(bearer(secret), endpoint="show", model="qwen3", server="s")


def test_a_first_counted_request_notes_the_key_use_inside_its_own_transaction(
    alice: User, settings, django_assert_num_queries
):
    settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER = 1
    _, secret = ApiKey.objects.create_key(alice, "m")
    SiteSettings.load()

    # As above, plus the update of the key's "last used".
    with django_assert_num_queries(7 + connection.features.has_select_for_update):
        admit(bearer(secret), endpoint="chat", model="qwen3", server="s", counted=True)
    assert ApiKey.objects.get().last_used_at is not None

    ApiKey.objects.update(last_used_at=None)
    with pytest.raises(Refused) as refused:  # the first request is still running
        admit(bearer(secret), endpoint="chat", model="qwen3", server="s", counted=True)
    assert refused.value.status == 429
    assert ApiKey.objects.get().last_used_at is not None  # a refused turn is still a use
    assert UsageRecord.objects.count() == 1


def test_a_restricted_site_still_applies_the_model_rule_read_with_the_key(alice: User):
    _, secret = ApiKey.objects.create_key(alice, "m")
    site = SiteSettings.load()
    site.restrict_member_models = True
    site.member_models = ["llama3.2"]
    site.save()

    assert authenticate(bearer(secret)).members_restricted is True
    admit(bearer(secret), endpoint="show", model="llama3.2", server="s")
    with pytest.raises(Refused) as refused:
        admit(bearer(secret), endpoint="show", model="qwen3", server="s")
    assert refused.value.status == 403
