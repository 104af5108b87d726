"""Every open socket of a user is in one channel-layer group, so the site can reach all their tabs:
new titles, and closing sockets when access is taken away (by an admin, a password change or a
sign-out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from chatsite.channel_layer import default_layer

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def revoke_sockets(user_id: int, *, ended_session: str | None = None) -> None:
    """Ask every socket of the user to check its access again (pages already refuse at once).

    `ended_session` is the session being signed out: its sockets close even if they check
    before Django has deleted it. The key is worthless a moment later, so it may travel.
    """
    event = {"type": "account.revoked", "ended_session": ended_session}
    async_to_sync(default_layer().group_send)(user_group(user_id), event)


def revoke_sockets_on_commit(user_id: int, *, ended_session: str | None = None) -> None:
    """revoke_sockets once the change is committed, so every process's check sees it."""
    transaction.on_commit(lambda: revoke_sockets(user_id, ended_session=ended_session))


@receiver(user_logged_out, dispatch_uid="chatsite.accounts.live.signed_out")
def signed_out(
    sender: Any,
    request: HttpRequest | None,
    user: AbstractBaseUser | None,
    **kwargs: Any,
) -> None:
    """Signing out closes the sockets that browser opened (other browsers keep theirs)."""
    if user is None or user.pk is None or request is None or not hasattr(request, "session"):
        return
    revoke_sockets_on_commit(user.pk, ended_session=request.session.session_key)
