"""The API keys and usage pages (namespace "gateway"); the API itself is not routed by Django
(see chatsite/gateway/app.py)."""

from __future__ import annotations

from django.urls import path

from chatsite.gateway import views

app_name = "gateway"
urlpatterns = [
    path("accounts/keys/", views.keys, name="keys"),
    path("accounts/keys/<int:pk>/revoke/", views.key_revoke, name="key_revoke"),
    path("accounts/usage/", views.usage, name="usage"),
    path("manage/keys/", views.manage_keys, name="manage_keys"),
    path("manage/keys/<int:pk>/revoke/", views.manage_key_revoke, name="manage_key_revoke"),
    path("manage/usage/", views.manage_usage, name="manage_usage"),
    path("manage/usage.csv", views.manage_usage_csv, name="manage_usage_csv"),
]
