"""Response headers Django does not set itself: the Content-Security-Policy on every response, and
`Cache-Control: private, no-store` on what is served to a signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# No inline script, style or event handler anywhere: htmx runs with allowEval off and its
# indicator styles in app.css (templates/base.html), so 'self' is enough for both. 'self' in
# connect-src covers the same-origin ws:/wss: sockets (CSP Level 3, as Chromium and Firefox do).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Near the top of MIDDLEWARE, so static files and early answers carry the policy too."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        return self.with_policy(self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return self.with_policy(await self.get_response(request))

    @staticmethod
    def with_policy(response: HttpResponseBase) -> HttpResponseBase:
        # Django's DEBUG error pages are made of inline styles and scripts.
        if not (settings.DEBUG and response.status_code >= 400):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class PrivatePagesMiddleware:
    """After AuthenticationMiddleware. A signed-in user's pages stay out of shared caches and the
    browser's history cache (the back button after signing out shows nothing); a view's own
    Cache-Control (never_cache, a download's) is kept. Whitenoise answers static files before
    this runs, so they stay cacheable."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        response = self.get_response(request)
        return self.kept_private(response, signed_in=request.user.is_authenticated)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = await self.get_response(request)
        user = await request.auser()
        return self.kept_private(response, signed_in=user.is_authenticated)

    @staticmethod
    def kept_private(response: HttpResponseBase, *, signed_in: bool) -> HttpResponseBase:
        if signed_in and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "private, no-store"
        return response
