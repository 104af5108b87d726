"""Tokens per day, per person and per model, from chat replies (stored on each Message) and API
generations (UsageRecord): the rows of the usage pages and the CSV, and the daily bar chart."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from chatsite.accounts.models import User
from chatsite.gateway.models import UsageRecord
from conversations.models import Message

CHART_HEIGHT = 120
BAR_WIDTH = 14
BAR_GAP = 4


@dataclass(frozen=True)
class UsageRow:
    day: dt.date
    username: str
    source: str  # "chat" or "api"
    model: str
    requests: int
    prompt_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


def usage_rows(days: int, user: User | None = None) -> list[UsageRow]:
    """Every day's usage over the last `days` days: one person's, or everyone's (user=None).

    Chat replies are read for their token counts only (never their text)."""
    since = timezone.localtime() - dt.timedelta(days=days - 1)
    start = since.replace(hour=0, minute=0, second=0, microsecond=0)
    replies = Message.objects.for_user(user) if user else Message.objects.all()
    records = UsageRecord.objects.filter(user=user) if user else UsageRecord.objects.all()
    chat = _per_day(
        replies.filter(role=Message.Role.ASSISTANT, created_at__gte=start),
        "created_at",
        "conversation__owner__username",
        prompt="prompt_eval_count",
        output="eval_count",
    )
    api = _per_day(
        records.filter(started_at__gte=start),
        "started_at",
        "user__username",
        prompt="prompt_tokens",
        output="output_tokens",
    )
    rows = [_row(r, "chat", "conversation__owner__username") for r in chat]
    rows += [_row(r, "api", "user__username") for r in api]
    return sorted(rows, key=lambda r: (r.day, r.username, r.source, r.model))


def _per_day(
    queryset: QuerySet[Any], when: str, username: str, *, prompt: str, output: str
) -> QuerySet[Any]:
    return (
        queryset.annotate(day=TruncDate(when))
        .order_by()
        .values("day", username, "model")
        .annotate(
            requests=Count("id"),
            prompt=Coalesce(Sum(prompt), Value(0)),
            output=Coalesce(Sum(output), Value(0)),
        )
    )


def _row(values: dict[str, Any], source: str, username: str) -> UsageRow:
    return UsageRow(
        day=values["day"],
        username=values[username],
        source=source,
        model=values["model"],
        requests=values["requests"],
        prompt_tokens=values["prompt"],
        output_tokens=values["output"],
    )


@dataclass(frozen=True)
class Total:
    key: tuple[str, ...]
    requests: int
    prompt_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


def totals(rows: list[UsageRow], *fields: str) -> list[Total]:
    """Sums by the given fields (e.g. "model", "source"), most tokens first."""
    sums: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        key = tuple(str(getattr(row, field)) for field in fields)
        sums[key][0] += row.requests
        sums[key][1] += row.prompt_tokens
        sums[key][2] += row.output_tokens
    found = [Total(key, *values) for key, values in sums.items()]
    return sorted(found, key=lambda t: (-t.tokens, t.key))


@dataclass(frozen=True)
class Bar:
    day: dt.date
    x: int
    chat: int
    api: int
    chat_y: int
    chat_height: int
    api_y: int
    api_height: int


def chart(rows: list[UsageRow], days: int) -> dict[str, Any]:
    """One stacked bar a day (chat below, API above), scaled to the busiest day."""
    today = timezone.localdate()
    per_day: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        per_day[row.day][0 if row.source == "chat" else 1] += row.tokens
    peak = max((sum(v) for v in per_day.values()), default=0) or 1
    bars = []
    for index in range(days):
        day = today - dt.timedelta(days=days - 1 - index)
        chat_tokens, api_tokens = per_day.get(day, [0, 0])
        chat_height = round(chat_tokens / peak * CHART_HEIGHT)
        api_height = round(api_tokens / peak * CHART_HEIGHT)
        bars.append(
            Bar(
                day=day,
                x=index * (BAR_WIDTH + BAR_GAP),
                chat=chat_tokens,
                api=api_tokens,
                chat_y=CHART_HEIGHT - chat_height,
                chat_height=chat_height,
                api_y=CHART_HEIGHT - chat_height - api_height,
                api_height=api_height,
            )
        )
    return {
        "bars": bars,
        "width": days * (BAR_WIDTH + BAR_GAP),
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
        "peak": peak if per_day else 0,
    }
