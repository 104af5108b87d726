"""Assistant routes: personal ones under /assistants/, shared ones under /manage/assistants/."""

from __future__ import annotations

from django.urls import path

from conversations.assistants import views

app_name = "assistants"
urlpatterns = [
    path("assistants/", views.mine, name="mine"),
    path("assistants/new/", views.mine_new, name="mine_new"),
    path("assistants/<int:pk>/", views.mine_edit, name="mine_edit"),
    path("assistants/<int:pk>/delete/", views.mine_delete, name="mine_delete"),
    path("manage/assistants/", views.shared, name="shared"),
    path("manage/assistants/new/", views.shared_new, name="shared_new"),
    path("manage/assistants/<int:pk>/", views.shared_edit, name="shared_edit"),
    path("manage/assistants/<int:pk>/delete/", views.shared_delete, name="shared_delete"),
]
