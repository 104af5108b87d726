"""Fair use of the GPU: how many replies one user may have generating at once, and how many
turns they may start a minute. Counted in the database so every process enforces the same limit."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Func, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from chatsite.accounts.models import User
from chatsite.gateway.models import UsageRecord
from chatsite.jobs import live_lease
from chatsite.prepared_sql import PreparedQuery, insert_row
from conversations.models import Message, TurnStart

RATE_WINDOW = timedelta(minutes=1)
# A reply or API generation ends at its own pace; asking again after this long is reasonable.
ACTIVE_RETRY_SECONDS = 5
# Turns older than the window no longer count; they are deleted in batches rather than one
# statement per turn.
STALE_TURNS_KEPT = 50


@dataclass(frozen=True)
class TurnRefusal:
    message: str
    retry_after: int  # seconds, for the API's Retry-After


def claim_turn(user: User) -> str:
    """Inside the turn's transaction: record a new turn for `user`, or return why not ("" = ok)."""
    refusal = refuse_turn(user)
    return refusal.message if refusal else ""


def refuse_turn(user: User) -> TurnRefusal | None:
    """claim_turn with the wait it implies. Chat replies and API generations count together.

    The user's row is locked first (PostgreSQL; SQLite's immediate transactions already write
    one at a time), so concurrent sends from one user are counted one after another. Everything
    is counted in one statement: on a busy process each statement run from a worker thread also
    waits for the GIL, so fewer statements keep the turn's transaction short.
    """
    if connection.features.has_select_for_update:
        _LOCK_USER.rows(user_id=user.pk)
    now = timezone.now()
    window_start = now - RATE_WINDOW
    started = TurnStart.objects.filter(user_id=user.pk)
    counts = TurnCounts(*_COUNTS.rows(user_id=user.pk, now=now, since=window_start)[0])
    active_limit = settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER
    if counts.at_active_limit():
        return TurnRefusal(
            f"You already have {active_limit} {_replies(active_limit)} being written, the most at "
            "once. Wait for one to finish or stop it, then send again.",
            ACTIVE_RETRY_SECONDS,
        )
    rate_limit = settings.CHAT_MAX_TURNS_PER_MINUTE
    if counts.at_rate_limit():
        # The oldest turn leaves the window first; then one more may start.
        oldest = (
            started.filter(started_at__gte=window_start)
            .order_by("started_at")
            .values_list("started_at", flat=True)[counts.recent - rate_limit]
        )
        wait = (oldest + RATE_WINDOW - now).total_seconds()
        return TurnRefusal(
            f"You have started {rate_limit} {_replies(rate_limit)} in the last minute, the most "
            "allowed. Wait a moment, then send again.",
            max(1, math.ceil(wait)),
        )
    if counts.stale >= STALE_TURNS_KEPT:
        started.filter(started_at__lt=window_start).delete()
    store_turn(user.pk, now)
    return None


def store_turn(user_id: int, now: datetime, *, cursor: Any = None) -> None:
    insert_row(TurnStart(user_id=user_id, started_at=now), cursor=cursor)


@dataclass(frozen=True)
class TurnCounts:
    """What a turn is checked against (`turn_counts`), in this order."""

    replies: int  # live chat replies
    api: int  # live API generations
    recent: int  # turns started within the window
    stale: int  # older turns not yet deleted

    def at_active_limit(self) -> bool:
        return self.replies + self.api >= settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER

    def at_rate_limit(self) -> bool:
        return self.recent >= settings.CHAT_MAX_TURNS_PER_MINUTE

    def turn_free_at_once(self) -> bool:
        """`refuse_turn`'s common case: a turn is free and no clean-up is due. True: the
        caller stores the turn (`store_turn`) in the transaction it counted in. False:
        `refuse_turn` decides, and words any refusal."""
        return not (
            self.at_active_limit() or self.at_rate_limit() or self.stale >= STALE_TURNS_KEPT
        )


def count_statement(*querysets: QuerySet[Any]) -> tuple[str, list[Any]]:
    """One SELECT of the number of rows of each queryset."""
    parts: list[str] = []
    params: list[Any] = []
    for number, queryset in enumerate(querysets):
        sql, values = queryset.order_by().values("pk").query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted_{number})")
        params.extend(values)
    return "SELECT " + ", ".join(parts), params


def count_each(*querysets: QuerySet[Any]) -> list[int]:
    """The number of rows of each queryset, in one statement (one round trip, one GIL wait)."""
    sql, params = count_statement(*querysets)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return [int(count) for count in row]


def _counted(user_id: int | OuterRef, now: datetime, since: datetime) -> list[QuerySet[Any]]:
    """What a turn is checked against (TurnCounts): the user's live replies, live API
    generations, turns started since the window opened, and older turns. `user_id` may be an
    outer query's column (`turn_counts`)."""
    user = get_user_model()(pk=user_id)
    started = TurnStart.objects.filter(Q(user_id=user_id))  # Q: as in live_for
    return [
        Message.objects.for_user(user).live_streaming(now),
        UsageRecord.objects.live_for(user_id, now),
        started.filter(started_at__gte=since),
        started.filter(started_at__lt=since),
    ]


def turn_counts(user_id: OuterRef, now: datetime, since: datetime) -> dict[str, Subquery]:
    """TurnCounts' figures as subqueries of a query whose rows name the user (annotate with
    these, then read them in TurnCounts' order)."""
    names = [field.name for field in fields(TurnCounts)]
    return {
        f"turns_{name}": Subquery(
            queryset.order_by().annotate(counted=Func(F("pk"), function="COUNT")).values("counted")
        )
        for name, queryset in zip(names, _counted(user_id, now, since), strict=True)
    }


def _counts(user_id: int, now: datetime, since: datetime) -> tuple[str, list[Any]]:
    return count_statement(*_counted(user_id, now, since))


# Built once: every chat send and API generation runs these (see chatsite/prepared_sql.py).
_COUNTS = PreparedQuery(_counts, user_id=int, now=datetime, since=datetime)
_LOCK_USER = PreparedQuery(
    lambda user_id: get_user_model().objects.select_for_update().filter(pk=user_id).values("pk"),
    user_id=int,
)


def generating_now(user_ids: list[int]) -> dict[int, int]:
    """How many replies and API generations each of these users has running right now (for the
    users page)."""
    rows = (
        Message.objects.live_streaming()
        .filter(conversation__owner_id__in=user_ids)
        .order_by()
        .values("conversation__owner_id")
        .annotate(count=Count("id"))
        .values_list("conversation__owner_id", "count")
    )
    counts = dict(rows)
    api = (
        UsageRecord.objects.filter(live_lease(), status=UsageRecord.Status.RUNNING)
        .filter(user_id__in=user_ids)
        .order_by()
        .values("user_id")
        .annotate(count=Count("id"))
        .values_list("user_id", "count")
    )
    for user_id, count in api:
        counts[user_id] = counts.get(user_id, 0) + count
    return counts


def _replies(count: int) -> str:
    return "reply" if count == 1 else "replies"
