"""Fair use of the GPU: how many replies one user may have generating at once, and how many
turns they may start a minute. Counted in the database so every process enforces the same limit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from chatsite.accounts.models import User
from chatsite.gateway.models import UsageRecord
from chatsite.jobs import live_lease
from conversations.models import Message, TurnStart

RATE_WINDOW = timedelta(minutes=1)
# A reply or API generation ends at its own pace; asking again after this long is reasonable.
ACTIVE_RETRY_SECONDS = 5


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
    one at a time), so concurrent sends from one user are counted one after another.
    """
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    active_limit = settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER
    active = Message.objects.for_user(user).live_streaming().count()
    active += UsageRecord.objects.live_for(user.pk).count()
    if active >= active_limit:
        return TurnRefusal(
            f"You already have {active_limit} {_replies(active_limit)} being written, the most at "
            "once. Wait for one to finish or stop it, then send again.",
            ACTIVE_RETRY_SECONDS,
        )
    now = timezone.now()
    started = TurnStart.objects.filter(user_id=user.pk)
    started.filter(started_at__lt=now - RATE_WINDOW).delete()
    rate_limit = settings.CHAT_MAX_TURNS_PER_MINUTE
    if (count := started.count()) >= rate_limit:
        # The oldest turn leaves the window first; then one more may start.
        oldest = started.order_by("started_at").values_list("started_at", flat=True)[
            count - rate_limit
        ]
        wait = (oldest + RATE_WINDOW - now).total_seconds()
        return TurnRefusal(
            f"You have started {rate_limit} {_replies(rate_limit)} in the last minute, the most "
            "allowed. Wait a moment, then send again.",
            max(1, math.ceil(wait)),
        )
    TurnStart.objects.create(user_id=user.pk)
    return None


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
