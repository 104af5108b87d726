"""HTTP routes: each app owns its URLs under its own namespace."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from chatsite import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("chatsite.accounts.auth_urls")),
    path("", include("chatsite.accounts.urls")),  # sign-up, waiting page, manage/users, settings
    path("manage/models/", include("chatsite.library.urls")),
    path("", include("conversations.assistants.urls")),  # /assistants/, /manage/assistants/
    path("", include("chatsite.gateway.urls")),  # API keys and usage pages
    path("django-admin/", admin.site.urls),
    path("", include("conversations.urls")),
]
