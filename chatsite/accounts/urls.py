"""chatsite's own account pages (namespace "accounts"): sign-up, waiting, your settings, and the
admin pages.

Sign-in, sign-out and password change keep Django's global names; see auth_urls.py.
"""

from __future__ import annotations

from django.urls import path

from chatsite.accounts import manage_views, views

app_name = "accounts"
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/awaiting-approval/", views.awaiting_approval, name="awaiting_approval"),
    path("accounts/settings/", views.my_settings, name="my_settings"),
    path("accounts/settings/theme/", views.set_theme, name="set_theme"),
    path("manage/users/", manage_views.users, name="users"),
    path("manage/users/new/", manage_views.user_create, name="user_create"),
    path("manage/users/<int:pk>/approve/", manage_views.user_approve, name="user_approve"),
    path("manage/users/<int:pk>/deactivate/", manage_views.user_deactivate, name="user_deactivate"),
    path("manage/users/<int:pk>/reactivate/", manage_views.user_reactivate, name="user_reactivate"),
    path("manage/users/<int:pk>/make-admin/", manage_views.user_make_admin, name="user_make_admin"),
    path(
        "manage/users/<int:pk>/remove-admin/",
        manage_views.user_remove_admin,
        name="user_remove_admin",
    ),
    path("manage/users/<int:pk>/password/", manage_views.user_password, name="user_password"),
    path("manage/users/<int:pk>/delete/", manage_views.user_delete, name="user_delete"),
    path("manage/settings/", manage_views.site_settings, name="site_settings"),
    path("manage/review-log/", manage_views.review_log, name="review_log"),
]
