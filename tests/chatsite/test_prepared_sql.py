"""Statements built once and run again with new values: the same rows as the queryset they come
from, and a refusal of builders that would freeze a value into the SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from chatsite.accounts.models import User
from chatsite.gateway.models import UsageRecord
from chatsite.prepared_sql import PreparedQuery, insert_row, update_statement

pytestmark = pytest.mark.django_db


def records(user_id: int, since: dt.datetime, endpoint: str) -> Any:
    return (
        UsageRecord.objects.filter(user_id=user_id, started_at__gte=since, endpoint=endpoint)
        .order_by("pk")
        .values_list("pk", "model")
    )


def test_a_prepared_query_is_built_once_and_answers_as_its_queryset_does(alice: User, bob: User):
    now = timezone.now()
    rows = [
        (alice, now - dt.timedelta(minutes=5), "chat", "old"),
        (alice, now, "chat", "new"),
        (alice, now, "embed", "embedding"),
        (bob, now, "chat", "bob's"),
    ]
    for user, started_at, endpoint, model in rows:
        UsageRecord.objects.create(user=user, started_at=started_at, endpoint=endpoint, model=model)
    builds = []

    def build(user_id: int, since: dt.datetime, endpoint: str) -> Any:
        builds.append(user_id)
        return records(user_id, since, endpoint)

    prepared = PreparedQuery(build, user_id=int, since=dt.datetime, endpoint=str)
    cases = [
        (alice.pk, now - dt.timedelta(minutes=1), "chat"),
        (alice.pk, now - dt.timedelta(hours=1), "chat"),
        (alice.pk, now - dt.timedelta(hours=1), "embed"),
        (bob.pk, now - dt.timedelta(hours=1), "chat"),
        (bob.pk, now + dt.timedelta(hours=1), "chat"),
    ]
    for user_id, since, endpoint in cases:
        expected = list(records(user_id, since, endpoint))
        assert prepared.rows(user_id=user_id, since=since, endpoint=endpoint) == expected
    assert [m for _, m in prepared.rows(user_id=alice.pk, since=now, endpoint="chat")] == ["new"]
    assert len(builds) == 1


def test_a_builder_that_reads_the_clock_itself_is_refused(alice: User):
    def build(user_id: int) -> Any:
        return UsageRecord.objects.filter(user_id=user_id, started_at__gte=timezone.now())

    with pytest.raises(ValueError, match="a time that is not one of its values"):
        PreparedQuery(build, user_id=int).rows(user_id=alice.pk)


def test_a_builder_that_ignores_a_value_is_refused(alice: User):
    prepared = PreparedQuery(
        lambda user_id, endpoint: UsageRecord.objects.filter(user_id=user_id),
        user_id=int,
        endpoint=str,
    )
    with pytest.raises(ValueError, match="does not use \\['endpoint'\\]"):
        prepared.rows(user_id=alice.pk, endpoint="chat")


def test_insert_row_stores_the_defaults_and_returns_the_new_key(alice: User):
    record = UsageRecord(user_id=alice.pk, endpoint="chat", model="llama3.2")

    pk = insert_row(record)

    stored = UsageRecord.objects.get(pk=pk)
    assert record.pk == pk and not record._state.adding
    assert (stored.user, stored.endpoint, stored.model) == (alice, "chat", "llama3.2")
    assert stored.status == UsageRecord.Status.RUNNING and stored.prompt_tokens == 0
    assert stored.started_at == record.started_at
    second = insert_row(UsageRecord(user_id=alice.pk, endpoint="embed"))
    assert second != pk


def test_a_prepared_update_changes_the_rows_its_queryset_update_would(alice: User, bob: User):
    mine = UsageRecord.objects.create(user=alice, endpoint="chat", model="old")
    theirs = UsageRecord.objects.create(user=bob, endpoint="chat", model="old")
    later = timezone.now() + dt.timedelta(minutes=3)
    prepared = PreparedQuery(
        lambda record_id, model, finished_at: update_statement(
            UsageRecord.objects.filter(pk=record_id), model=model, finished_at=finished_at
        ),
        record_id=int,
        model=str,
        finished_at=dt.datetime,
    )

    changed = prepared.execute(record_id=mine.pk, model="new", finished_at=later)
    unknown = prepared.execute(record_id=theirs.pk + 100, model="x", finished_at=later)

    assert (changed, unknown) == (1, 0)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.model, mine.finished_at) == ("new", later)
    assert (theirs.model, theirs.finished_at) == ("old", None)
