"""Site-wide account rules: unapproved accounts see only the waiting page; visits set last seen."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect


class AccountStateMiddleware:
    """Runs after AuthenticationMiddleware (and HtmxMiddleware, for request.htmx)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            user.touch_last_seen()
            if not user.is_approved and not self.open_to_unapproved(request.path):
                waiting = reverse("accounts:awaiting_approval")
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(waiting)
                return redirect(waiting)
        return self.get_response(request)

    @staticmethod
    def open_to_unapproved(path: str) -> bool:
        allowed = {reverse("logout"), reverse("accounts:awaiting_approval"), reverse("healthz")}
        return path in allowed or path.startswith(settings.STATIC_URL)
