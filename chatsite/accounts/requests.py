"""Typed requests for account views: what the middleware stack has put on the request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from chatsite.accounts.models import User


class AccountRequest(HttpRequest):
    """A request behind login_required (or admin_required): the user is a real account."""

    user: User
    htmx: HtmxDetails

    if TYPE_CHECKING:  # for the type checker only: the request's own auser() returns it

        async def auser(self) -> User: ...
