"""View decorators for access rules: admin pages answer 403 to everyone but admins."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from chatsite.accounts.access import is_site_admin

View = Callable[..., Any]


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/forbidden.html", status=403)


def admin_required(view: View) -> View:
    """Anonymous visitors go to sign-in; signed-in non-admins get a plain 403 page.

    Works on sync and async views alike (async ones stay async).
    """
    if iscoroutinefunction(view):

        @wraps(view)
        async def checked_async(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not is_site_admin(await request.auser()):
                return _forbidden(request)
            return await view(request, *args, **kwargs)

        return login_required(checked_async)

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_site_admin(request.user):
            return _forbidden(request)
        return view(request, *args, **kwargs)

    return login_required(checked)
