"""ASGI entry: HTTP goes to Django, except the API gateway's /ollama/ and /v1/ (a plain ASGI
app that streams without Django's overhead); websockets pass the origin check (same scheme, host
and port, see chatsite/origin.py), then auth, then routes."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Django must be set up before anything imports models (the routes below do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatsite.gateway.app import GatewayApp  # noqa: E402
from chatsite.origin import SameOriginValidator  # noqa: E402
from chatsite.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": GatewayApp(django_asgi_app),
        "websocket": SameOriginValidator(
            # The routes are consumers, which django-stubs' path() (typed for views) cannot say.
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]
        ),
    }
)
