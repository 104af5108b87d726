"""Who may use the site and who runs it: the checks pages and websocket consumers share, and
whether a socket opened earlier may stay open."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def can_use_site(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Signed in, active and approved: may chat. Safe for AnonymousUser and None."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "is_approved", False)
    )


def is_site_admin(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """May use the site and holds the admin role (is_staff)."""
    return can_use_site(user) and bool(getattr(user, "is_staff", False))


def socket_may_stay(
    user_id: int,
    session_key: str | None,
    *,
    admin: bool = False,
    ended_session: str | None = None,
) -> bool:
    """May a socket this user opened in this session stay open? Asked when the account changed.

    The account must still be allowed (to chat, or with `admin` to run the site), and the session
    the socket was opened in must still sign it in: not signed out (`ended_session` names the one
    being signed out right now, before Django deletes it), and holding the account's current
    password hash. A password change therefore closes every socket of the account, those of the
    browser that changed it too: Django keeps that browser signed in under a new session key, so
    its pages still work and a reloaded tab connects again.
    """
    user = get_user_model().objects.filter(pk=user_id).first()
    allowed = is_site_admin(user) if admin else can_use_site(user)
    if not allowed or not session_key or session_key == ended_session:
        return False
    assert user is not None  # allowed: an account
    return session_signs_in(session_key, user)


def session_signs_in(session_key: str, user: AbstractBaseUser) -> bool:
    """The stored session still exists, is this user's, and matches their password (as Django's
    own get_user checks it, fallback secret keys included)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if session.get(SESSION_KEY) != str(user.pk):
        return False
    stored = session.get(HASH_SESSION_KEY)
    if not stored:
        return False
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored, current) for current in hashes)
