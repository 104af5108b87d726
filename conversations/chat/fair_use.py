"""Fair use of the GPU: how many replies one user may have generating at once, and how many
turns they may start a minute. Counted in the database so every process enforces the same limit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from chatsite.accounts.models import User
from conversations.models import Message, TurnStart

RATE_WINDOW = timedelta(minutes=1)


def claim_turn(user: User) -> str:
    """Inside the turn's transaction: record a new turn for `user`, or return why not ("" = ok).

    The user's row is locked first (PostgreSQL; SQLite's immediate transactions already write
    one at a time), so concurrent sends from one user are counted one after another.
    """
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    active_limit = settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER
    if Message.objects.for_user(user).live_streaming().count() >= active_limit:
        return (
            f"You already have {active_limit} {_replies(active_limit)} being written, the most at "
            "once. Wait for one to finish or stop it, then send again."
        )
    since = timezone.now() - RATE_WINDOW
    started = TurnStart.objects.filter(user_id=user.pk)
    started.filter(started_at__lt=since).delete()
    rate_limit = settings.CHAT_MAX_TURNS_PER_MINUTE
    if started.count() >= rate_limit:
        return (
            f"You have started {rate_limit} {_replies(rate_limit)} in the last minute, the most "
            "allowed. Wait a moment, then send again."
        )
    TurnStart.objects.create(user_id=user.pk)
    return ""


def generating_now(user_ids: list[int]) -> dict[int, int]:
    """How many replies each of these users has being written right now (for the users page)."""
    rows = (
        Message.objects.live_streaming()
        .filter(conversation__owner_id__in=user_ids)
        .order_by()
        .values("conversation__owner_id")
        .annotate(count=Count("id"))
        .values_list("conversation__owner_id", "count")
    )
    return dict(rows)


def _replies(count: int) -> str:
    return "reply" if count == 1 else "replies"
