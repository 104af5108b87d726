"""The models page (mounted at /manage/models/)."""

from __future__ import annotations

from django.urls import path

from chatsite.library import views

app_name = "library"
urlpatterns = [
    path("", views.index, name="index"),
    path("pull/", views.pull, name="pull"),
    path("create/", views.create, name="create"),
    path("pulls/<uuid:pull_id>/cancel/", views.cancel_pull, name="cancel_pull"),
    path("unload/", views.unload, name="unload"),
    # Names hold "/" and ":" (host/namespace/model:tag), hence path converters.
    path("installed/<path:name>/delete/", views.delete, name="delete"),
    path("installed/<path:name>/copy/", views.copy, name="copy"),
    path("installed/<path:name>/", views.details, name="details"),
]
