"""Account forms: sign-up, an admin creating an account, and the site settings."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from chatsite.accounts.models import SiteSettings, User


class SignUpForm(UserCreationForm):
    """Username, password twice (Django's validators apply), optional display name."""

    class Meta:
        model = User
        fields = ("username", "display_name")
        labels = {"display_name": "Display name (optional)"}
        help_texts = {"display_name": "Shown instead of your username."}


class NewAccountForm(SignUpForm):
    """An admin creating an account (the way in when sign-up is closed)."""

    make_admin = forms.BooleanField(
        required=False, label="Make this account an admin", help_text="Admins manage users."
    )

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.is_approved = True
        user.is_staff = user.is_superuser = self.cleaned_data["make_admin"]
        if commit:
            user.save()
        return user


class SiteSettingsForm(forms.ModelForm):
    class Meta:
        model = SiteSettings
        fields = ("signup_mode", "admin_review")
        labels = {
            "signup_mode": "Sign-up",
            "admin_review": "Let admins open any user's conversation (read-only, recorded)",
        }
        widgets = {"signup_mode": forms.RadioSelect}
