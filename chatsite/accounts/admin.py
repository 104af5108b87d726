"""Django admin for accounts: a fallback to the in-site pages under /manage/."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from chatsite.accounts.models import SiteSettings, User


@admin.register(User)
class AccountAdmin(UserAdmin):
    list_display = ("username", "display_name", "is_staff", "is_approved", "is_active", "last_seen")
    list_filter = ("is_staff", "is_approved", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("chatsite", {"fields": ("display_name", "is_approved", "last_seen")}),
    )
    readonly_fields = ("last_seen",)


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    list_display = ("signup_mode", "updated_at")

    def has_add_permission(self, request) -> bool:
        return not SiteSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
