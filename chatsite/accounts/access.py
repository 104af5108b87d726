"""Who may use the site and who runs it: the checks pages and websocket consumers share."""

from __future__ import annotations

from typing import Any


def can_use_site(user: Any) -> bool:
    """Signed in, active and approved: may chat. Safe for AnonymousUser and None."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "is_approved", False)
    )


def is_site_admin(user: Any) -> bool:
    """May use the site and holds the admin role (is_staff)."""
    return can_use_site(user) and bool(user.is_staff)
