"""Response headers Django does not set itself: the Content-Security-Policy on every response, and
`Cache-Control: private, no-store` on what is served to a signed-in user."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

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


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Near the top of MIDDLEWARE, so static files and early answers carry the policy too."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        # Django's DEBUG error pages are made of inline styles and scripts.
        if not (settings.DEBUG and response.status_code >= 400):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class PrivatePagesMiddleware(MiddlewareMixin):
    """After AuthenticationMiddleware. A signed-in user's pages stay out of shared caches and the
    browser's history cache (the back button after signing out shows nothing); a view's own
    Cache-Control (never_cache, a download's) is kept. Whitenoise answers static files before
    this runs, so they stay cacheable."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if request.user.is_authenticated and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "private, no-store"
        return response
