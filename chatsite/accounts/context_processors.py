"""Template context for every page: whether the sign-up page is open (for the sign-in link)."""

from __future__ import annotations

from django.http import HttpRequest

from chatsite.accounts.models import User


def accounts(request: HttpRequest) -> dict[str, object]:
    # A callable, so only templates that ask for it pay its queries.
    return {"signup_is_open": User.objects.signup_is_open}
