"""API keys (stored hashed, shown once) and the usage record of every generation made through
the API gateway. A running record holds a lease, so the per-user limits count it on every process.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q
from django.utils import timezone

from chatsite.jobs import lapsed_lease, live_lease, released_lease

# Keys read "cs-" + 43 URL-safe characters (256 bits); the first characters are kept to tell
# keys apart on the pages. Only the SHA-256 of the whole key is stored: a key has enough entropy
# that a slow hash would add cost per request and no safety.
KEY_PREFIX = "cs-"
SHOWN_CHARS = 11
# "Last used" is for people reading the key list: a minute's precision keeps requests from
# writing a row each.
LAST_USED_EVERY = timedelta(minutes=1)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def for_user(self, user: Any) -> ApiKeyQuerySet:
        """A user's own keys: every query a member's request makes about keys starts here."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user_id=user.pk)

    def create_key(
        self,
        user: Any,
        name: str,
        expires_at: datetime | None = None,
        form_token: str = "",
    ) -> tuple[ApiKey, str]:
        """A new key and its secret, which is returned here once and never stored. A form token
        the user already made a key with raises IntegrityError (see ApiKey.form_token)."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = self.create(
            user=user,
            name=name,
            prefix=secret[:SHOWN_CHARS],
            hashed=hash_key(secret),
            expires_at=expires_at,
            form_token=form_token,
        )
        return key, secret


class ApiKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=SHOWN_CHARS)
    hashed = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The random token of the form that made the key (never a secret): the database refuses a
    # second key from one form, so a reload or a double-click racing itself makes one key.
    # Keys made elsewhere (scripts, tests) have none.
    form_token = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "form_token"],
                condition=~Q(form_token=""),
                name="one_key_per_key_form",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and not self.expired

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired else "active"

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class UsageRecordQuerySet(models.QuerySet["UsageRecord"]):
    def live_for(self, user_id: int | OuterRef, now: datetime | None = None) -> UsageRecordQuerySet:
        """This user's API generations still running on a live process (for the limits)."""
        # Q, not a keyword: the type checker's plugin takes no expression for an id.
        return self.filter(live_lease(now), Q(user_id=user_id), status=UsageRecord.Status.RUNNING)

    def reap_expired(self) -> int:
        """Running records whose process stopped renewing the lease: that process is gone."""
        return self.filter(lapsed_lease(), status=UsageRecord.Status.RUNNING).update(
            status=UsageRecord.Status.INTERRUPTED, finished_at=timezone.now(), **released_lease()
        )


class UsageRecord(models.Model):
    """One generation through the API: who, with which key, which model on which server, the
    tokens Ollama counted, how long it took and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Client went away"
        INTERRUPTED = "interrupted", "Interrupted"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_usage"
    )
    key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, related_name="usage")
    endpoint = models.CharField(max_length=40)
    model = models.CharField(max_length=300, blank=True)
    server = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    duration_ns = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects = UsageRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["user", "status"]),
            models.Index(fields=["user", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.model} by {self.user_id} ({self.status})"
