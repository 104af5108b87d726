"""Who is calling the API and whether this request may run: the key (one database lookup per
request, so a revoked key or a deactivated account is refused at once on every process), admin-only
endpoints, the model access rule, and the per-user limits that chat replies count against too."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from chatsite import loop_sqlite
from chatsite.accounts.access import can_use_site, is_site_admin
from chatsite.accounts.models import SiteSettings, User
from chatsite.gateway.models import LAST_USED_EVERY, ApiKey, UsageRecord, hash_key
from chatsite.jobs import released_lease, taken_lease
from chatsite.prepared_sql import PreparedQuery, insert_row, update_statement
from conversations.chat.fair_use import (
    RATE_WINDOW,
    TurnCounts,
    refuse_turn,
    store_turn,
    turn_counts,
)
from conversations.chat.model_access import load_model_access


class Refused(Exception):
    """The request is answered by the gateway itself: status, a sentence, and for 429 a wait."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


MISSING_KEY = (
    "This endpoint needs an API key: send it as 'Authorization: Bearer <key>'. "
    "Create one on your API keys page."
)
BAD_KEY = "The API key is not valid: it is unknown, revoked or expired, or its account is disabled."
ADMINS_ONLY = "Only an admin's API key may do this."


@dataclass(frozen=True)
class Caller:
    user: User
    key_id: int
    # Whether the site settings restrict members' models, read with the key (None: not read).
    members_restricted: bool | None = None
    # "Last used" is due for an update that the caller's own transaction makes.
    use_unnoted: bool = False

    @property
    def admin(self) -> bool:
        return is_site_admin(self.user)


def authenticate(authorization: str | None, *, note_use: bool = True) -> Caller:
    """The caller behind an Authorization header, or Refused(401). With `note_use` off, a due
    "last used" update is left to the caller (`Caller.use_unnoted`), to make in its own
    transaction rather than in one of its own."""
    hashed = hashed_secret(authorization)
    now = timezone.now()
    found = _KEY.rows(hashed=hashed, now=now, touch_before=now - LAST_USED_EVERY)
    caller = _caller(found[0] if found else None)
    if caller.use_unnoted and note_use:
        note_key_use(caller.key_id)
        return dataclasses.replace(caller, use_unnoted=False)
    return caller


def hashed_secret(authorization: str | None) -> str:
    """The hash the key behind an Authorization header is stored under; Refused(401) when
    the header does not carry a key."""
    scheme, _, secret = (authorization or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Refused(401, MISSING_KEY)
    return hash_key(secret)


def _caller(row: Sequence[Any] | None) -> Caller:
    """The caller from a key lookup's row (`_KEY_COLUMNS` first), or Refused(401)."""
    if row is None:
        raise Refused(401, BAD_KEY)
    key_id, user_id, active, approved, staff, restricted, touch = row[: len(_KEY_COLUMNS)]
    # Only what the checks read: whether the account may use the site and is an admin.
    user = User(
        pk=user_id, is_active=bool(active), is_approved=bool(approved), is_staff=bool(staff)
    )
    if not can_use_site(user):
        raise Refused(401, BAD_KEY)
    restricted_now = None if restricted is None else bool(restricted)
    return Caller(user, key_id, restricted_now, use_unnoted=bool(touch))


def note_key_use(key_id: int, *, cursor: Any = None) -> None:
    _NOTE_USE.execute(cursor=cursor, key_id=key_id, now=timezone.now())


_KEY_COLUMNS = (
    "pk",
    "user_id",
    "user__is_active",
    "user__is_approved",
    "user__is_staff",
    "members_restricted",
    "touch",
)


def _usable_key(hashed: str, now: datetime, touch_before: datetime) -> QuerySet[ApiKey]:
    """A usable key by its hash, with what the checks need of its account (`_KEY_COLUMNS`):
    the site settings' model switch (most sites never restrict models, and then the model
    access rule needs no query of its own), and whether "last used" is a minute old."""
    restricted = SiteSettings.objects.filter(pk=1).values("restrict_member_models")[:1]
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=touch_before)
    return (
        ApiKey.objects.filter(hashed=hashed, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .annotate(
            members_restricted=Subquery(restricted),
            touch=Case(When(stale, then=Value(True)), default=Value(False)),
        )
    )


def _key_and_turns(
    hashed: str, now: datetime, touch_before: datetime, since: datetime
) -> QuerySet[Any]:
    """The key lookup and its user's turn counts (TurnCounts) in one statement."""
    counts = turn_counts(OuterRef("user_id"), now, since)
    return (
        _usable_key(hashed, now, touch_before)
        .annotate(**counts)
        .values_list(*_KEY_COLUMNS, *counts)
    )


# Built once per database: every API request runs these (see chatsite/prepared_sql.py).
_KEY = PreparedQuery(
    lambda hashed, now, touch_before: _usable_key(hashed, now, touch_before).values_list(
        *_KEY_COLUMNS
    ),
    hashed=str,
    now=datetime,
    touch_before=datetime,
)
_KEY_AND_TURNS = PreparedQuery(
    _key_and_turns, hashed=str, now=datetime, touch_before=datetime, since=datetime
)
_NOTE_USE = PreparedQuery(
    lambda key_id, now: update_statement(ApiKey.objects.filter(pk=key_id), last_used_at=now),
    key_id=int,
    now=datetime,
)


def _model_rule_applies(caller: Caller, model: str, embedding_model: bool) -> bool:
    # An empty name is Ollama's to refuse, in its own words.
    return not (caller.admin or embedding_model or not model or caller.members_restricted is False)


def check_model(caller: Caller, model: str, *, embedding_model: bool = False) -> None:
    """The model access rule of the chat picker; embedding models are fine for embeddings."""
    if not _model_rule_applies(caller, model, embedding_model):
        return
    if problem := load_model_access().refusal(caller.user, model):
        raise Refused(403, problem)


def admit(
    authorization: str | None,
    *,
    caller: Caller | None = None,
    endpoint: str,
    model: str,
    server: str,
    admin_only: bool = False,
    counted: bool = False,
    embedding_model: bool = False,
) -> tuple[Caller, int | None]:
    """Authenticate and authorise one request; a counted one (it runs a model) also takes a
    turn under the per-user limits and opens its usage record, whose id is returned. A caller
    already authenticated in this request is not looked up again."""
    caller = caller or authenticate(authorization, note_use=not counted)
    if admin_only and not caller.admin:
        raise Refused(403, ADMINS_ONLY)
    check_model(caller, model, embedding_model=embedding_model)
    if not counted:
        return caller, None
    # One transaction (one commit) for the key's use, the turn and the usage record; a refused
    # turn writes nothing but the key's use.
    with transaction.atomic():
        if caller.use_unnoted:
            note_key_use(caller.key_id)
        if refusal := refuse_turn(caller.user):
            record_id = None
        else:
            record_id = insert_row(
                _running_record(caller, endpoint=endpoint, model=model, server=server)
            )
    if refusal:
        raise Refused(429, refusal.message, retry_after=refusal.retry_after)
    return caller, record_id


class Undecided(Exception):
    """The loop cannot settle this request without waiting: `admit` it in the database thread.
    Nothing was written. Nothing was sent to Ollama either, unless the commit itself failed;
    then the request's connection is closed, which stops Ollama."""


class AdmissionAtOnce:
    """`admit` for a generation, on the event loop's own SQLite connection and without a thread
    hop, in the transaction the request to Ollama is sent in: the key and the limits are
    checked (one statement) right before the request is written, the rows are written right
    after it, so their commit overlaps Ollama's start.

    `start()` refuses a request without a key; `sending()` wraps the write of the request
    (chatsite/ollama/passthrough.py) and refuses a bad key there, as `admit` does. Anything
    but the common case (a model rule to read, a limit reached, another connection writing)
    is `Undecided`, and `admit` decides in the database thread (chatsite/loop_sqlite.py)."""

    def __init__(
        self, authorization: str | None, hashed: str, *, endpoint: str, model: str, server: str
    ) -> None:
        self.authorization = authorization
        self.hashed = hashed
        self.endpoint = endpoint
        self.model = model
        self.server = server
        self.caller: Caller | None = None  # known once the key is checked
        self.record_id: int | None = None

    @classmethod
    def start(
        cls, authorization: str | None, *, endpoint: str, model: str, server: str
    ) -> AdmissionAtOnce | None:
        """Refused(401) without a key; None: `admit` decides."""
        if not loop_sqlite.available():
            return None
        hashed = hashed_secret(authorization)
        return cls(authorization, hashed, endpoint=endpoint, model=model, server=server)

    def admit(self) -> int | None:
        """The usual way, in the database thread (after Undecided): the usage record's id."""
        return admit(
            self.authorization,
            caller=self.caller,
            endpoint=self.endpoint,
            model=self.model,
            server=self.server,
            counted=True,
        )[1]

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Entered right before the request is written: the write lock, a good key (else
        Refused) and a free turn (else Undecided); nothing is sent then. Left right after:
        the turn, the usage record and the key's use are stored and committed. Nothing may be
        awaited inside."""
        now = timezone.now()
        try:
            with loop_sqlite.immediate_transaction() as cursor:
                found = _KEY_AND_TURNS.rows(
                    cursor=cursor,
                    hashed=self.hashed,
                    now=now,
                    touch_before=now - LAST_USED_EVERY,
                    since=now - RATE_WINDOW,
                )
                caller = self.caller = _caller(found[0] if found else None)
                turns = TurnCounts(*found[0][len(_KEY_COLUMNS) :])
                if _model_rule_applies(caller, self.model, False) or not turns.turn_free_at_once():
                    raise Undecided  # the rule's settings are read through the ORM
                yield
                store_turn(caller.user.pk, now, cursor=cursor)
                if caller.use_unnoted:
                    note_key_use(caller.key_id, cursor=cursor)
                self.record_id = insert_row(
                    _running_record(
                        caller, endpoint=self.endpoint, model=self.model, server=self.server
                    ),
                    cursor=cursor,
                )
        except loop_sqlite.NotNow as error:
            raise Undecided from error


def _running_record(caller: Caller, *, endpoint: str, model: str, server: str) -> UsageRecord:
    return UsageRecord(
        user_id=caller.user.pk,
        key_id=caller.key_id,
        endpoint=endpoint,
        model=model[:300],
        server=server,
        **taken_lease(settings.CHAT_LEASE_SECONDS),
    )


def renew(record_id: int) -> bool:
    """Keep a long generation counted (its process is alive); False when its key or account
    no longer may use the site, so the generation ends."""
    record = UsageRecord.objects.select_related("key", "user").filter(pk=record_id).first()
    if record is None or record.key is None or not record.key.usable:
        return False
    if not can_use_site(record.user):
        return False
    until = timezone.now() + timedelta(seconds=settings.CHAT_LEASE_SECONDS)
    UsageRecord.objects.filter(pk=record_id, status=UsageRecord.Status.RUNNING).update(
        lease_expires_at=until
    )
    return True


def finish(
    record_id: int,
    *,
    status: str,
    http_status: int | None,
    prompt_tokens: int,
    output_tokens: int,
    duration_ns: int,
    error: str = "",
) -> None:
    UsageRecord.objects.filter(pk=record_id).update(
        status=status,
        http_status=http_status,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        duration_ns=duration_ns,
        error=error[:2000],
        finished_at=timezone.now(),
        **released_lease(),
    )
