"""The user account (approval, admin role, last seen), the site settings singleton, the record
of admins opening other people's conversations (admin review), and recent sign-up attempts.

Role changes that must keep at least one admin are manager methods under one transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.utils import timezone

from chatsite.accounts.live import revoke_sockets_on_commit

# "Last seen" is for humans reading the user list: a minute's precision is plenty and keeps
# page views from writing a row each.
LAST_SEEN_EVERY = timedelta(minutes=1)
# SIGNUP_MAX_PER_HOUR counts attempts within this window.
SIGNUP_WINDOW = timedelta(hours=1)


class UsernameTaken(Exception):
    """Someone has this username already, in any mix of upper and lower case."""

    def __init__(self) -> None:
        super().__init__("That username is taken. Pick another one.")


class LastAdminError(Exception):
    """The change would leave the site without an active admin."""

    def __init__(self) -> None:
        super().__init__("chatsite needs at least one admin: make someone else an admin first.")


class SiteSettings(models.Model):
    """One row of site-wide choices that admins make on /manage/settings/."""

    class SignupMode(models.TextChoices):
        OPEN = "open", "Open: new accounts can use the site at once"
        APPROVAL = "approval", "Approval: an admin approves each new account"
        CLOSED = "closed", "Closed: only admins create accounts"

    signup_mode = models.CharField(
        max_length=16, choices=SignupMode.choices, default=SignupMode.APPROVAL
    )
    # Off by default: admins read other people's conversations only where a team asks for it,
    # every opening is recorded, and users see on their settings page whether it is on.
    admin_review = models.BooleanField(
        "admin review",
        default=False,
        help_text="Admins can open any user's conversation read-only; every opening is recorded.",
    )
    default_model = models.CharField(
        "default model for new chats",
        max_length=200,
        blank=True,
        help_text="Preselected for someone who has not chatted yet; empty: the first model listed.",
    )
    # Admins always see every model; the rule is about what members may pick and send to.
    restrict_member_models = models.BooleanField(
        "members may use only the chosen models", default=False
    )
    member_models = models.JSONField("models members may use", default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "site settings"
        verbose_name_plural = "site settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="site_settings_singleton")
        ]

    def __str__(self) -> str:
        return "Site settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> SiteSettings:
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    @classmethod
    def lock(cls) -> SiteSettings:
        """Load the row locked for this transaction: sign-ups wait for each other on it."""
        cls.load()
        return cls.objects.select_for_update().get(pk=1)


class AccountManager(UserManager["User"]):
    def admins(self) -> models.QuerySet[User]:
        return self.filter(is_active=True, is_staff=True, is_approved=True)

    def with_conversation_count(self) -> models.QuerySet[User]:
        """For the admins' user list: a count per account, not the conversations themselves."""
        return self.annotate(conversation_count=models.Count("conversations"))

    def signup_is_open(self) -> bool:
        """Open unless an admin closed it; a fresh install always lets the first person in."""
        if not self.exists():
            return True
        return SiteSettings.load().signup_mode != SiteSettings.SignupMode.CLOSED

    def username_taken(self, username: str) -> bool:
        return self.filter(username__iexact=username).exists()

    def sign_up(self, *, username: str, password: str, display_name: str = "") -> User | None:
        """Create an account as the sign-up mode says; None when sign-up is closed.

        The first account on a fresh install is the admin, whatever the mode. Raises
        UsernameTaken: the sign-up form leaves that verdict to here, after the rate limit.
        """
        with transaction.atomic():
            mode = SiteSettings.lock().signup_mode
            first = not self.exists()
            if mode == SiteSettings.SignupMode.CLOSED and not first:
                return None
            if self.username_taken(username):
                raise UsernameTaken
            user = self.model(username=username, display_name=display_name)
            user.set_password(password)
            user.is_approved = first or mode == SiteSettings.SignupMode.OPEN
            user.is_staff = user.is_superuser = first
            user.save()
            return user

    def set_admin(self, user: User, admin: bool) -> None:
        with transaction.atomic():
            if not admin:
                self._keep_another_admin(user)
            user.is_staff = user.is_superuser = admin
            if admin:
                user.is_approved = True
            user.save(update_fields=["is_staff", "is_superuser", "is_approved"])

    def approve(self, user: User) -> None:
        user.is_approved = True
        user.save(update_fields=["is_approved"])

    def set_active(self, user: User, active: bool) -> None:
        with transaction.atomic():
            if not active:
                self._keep_another_admin(user)
            user.is_active = active
            user.save(update_fields=["is_active"])

    def remove(self, user: User) -> None:
        """Delete the account and, through the foreign keys, everything it owns."""
        with transaction.atomic():
            self._keep_another_admin(user)
            user.delete()

    def _keep_another_admin(self, user: User) -> None:
        admins = list(self.admins().select_for_update().values_list("pk", flat=True))
        if admins == [user.pk]:
            raise LastAdminError


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        AWAITING = "awaiting", "Awaiting approval"
        DEACTIVATED = "deactivated", "Deactivated"

    class Theme(models.TextChoices):
        SYSTEM = "system", "Same as my device"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    display_name = models.CharField(max_length=150, blank=True)
    # Rendered into every page's <html data-theme>, so the page is drawn in it from the start.
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    # Accounts exist approved unless the sign-up mode says otherwise (see AccountManager.sign_up).
    is_approved = models.BooleanField(
        "approved", default=True, help_text="Unapproved accounts only see the waiting page."
    )
    last_seen = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[AccountManager] = AccountManager()

    # The password hash as loaded, to notice a change of password however it is made (own page,
    # an admin, Django's admin, the changepassword command). A stale value (refresh_from_db)
    # costs at most a needless notice: sockets check again and stay.
    _loaded_password: str | None = None

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> User:
        user = super().from_db(db, field_names, values)
        user._loaded_password = dict(zip(field_names, values, strict=True)).get("password")
        return user

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        saves_password = update_fields is None or "password" in update_fields
        password_changed = (
            saves_password
            and self._loaded_password is not None
            and self.password != self._loaded_password
        )
        super().save(*args, **kwargs)
        if saves_password:
            self._loaded_password = self.password
        if password_changed:
            # Sessions signed in with the old password end (Django's session hash); so do
            # the sockets they opened.
            revoke_sockets_on_commit(self.pk)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def is_site_admin(self) -> bool:
        return self.is_active and self.is_approved and self.is_staff

    @property
    def role(self) -> User.Role:
        return self.Role.ADMIN if self.is_staff else self.Role.MEMBER

    @property
    def status(self) -> User.Status:
        if not self.is_active:
            return self.Status.DEACTIVATED
        return self.Status.ACTIVE if self.is_approved else self.Status.AWAITING

    def touch_last_seen(self) -> bool:
        """Record a visit, writing at most once a minute; True when a row was written."""
        now = timezone.now()
        if self.last_seen and now - self.last_seen < LAST_SEEN_EVERY:
            return False
        self.last_seen = now
        type(self).objects.filter(pk=self.pk).update(last_seen=now)
        return True

    async def atouch_last_seen(self) -> bool:
        """touch_last_seen for consumers: the same rule, without blocking the event loop."""
        now = timezone.now()
        if self.last_seen and now - self.last_seen < LAST_SEEN_EVERY:
            return False
        self.last_seen = now
        await type(self).objects.filter(pk=self.pk).aupdate(last_seen=now)
        return True


class SignupAttemptQuerySet(models.QuerySet["SignupAttempt"]):
    def admit(self, address: str, limit: int) -> bool:
        """Count one sign-up attempt from this address, unless it already had `limit` within the
        window. Under the sign-up lock, so attempts arriving at several processes at once count
        one after another."""
        since = timezone.now() - SIGNUP_WINDOW
        with transaction.atomic():
            SiteSettings.lock()
            self.filter(at__lt=since).delete()
            if self.filter(address=address).count() >= limit:
                return False
            self.create(address=address)
            return True


class SignupAttempt(models.Model):
    """A sign-up attempt that got an answer about its username, for the per-address limit."""

    address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SignupAttemptQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Sign-up attempt from {self.address} at {self.at:%Y-%m-%d %H:%M}"


class AdminReviewRecordQuerySet(models.QuerySet["AdminReviewRecord"]):
    def record(self, admin: User, conversation: Any) -> AdminReviewRecord:
        """One admin opened one conversation of someone else's: who, whose, which, when."""
        owner = conversation.owner
        return self.create(
            admin=admin,
            admin_username=admin.username,
            owner=owner,
            owner_username=owner.username,
            conversation_id=conversation.pk,
            conversation_title=(conversation.title or "New chat")[:200],
        )

    def about(self, user: User) -> AdminReviewRecordQuerySet:
        """The openings of this user's conversations, for their own settings page."""
        return self.filter(owner=user)


class AdminReviewRecord(models.Model):
    """An audit row; the names and title are copies so the record outlives the account or chat."""

    admin = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="reviews_made"
    )
    admin_username = models.CharField(max_length=150)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="reviews_received"
    )
    owner_username = models.CharField(max_length=150)
    conversation_id = models.UUIDField()
    conversation_title = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AdminReviewRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"{self.admin_username} opened {self.owner_username}'s {self.conversation_title!r}"
