"""Account forms: sign-up, an admin creating an account, and the site settings."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm

from chatsite.accounts.models import SiteSettings, User, UsernameTaken


class SignUpForm(BaseUserCreationForm):
    """Username, password twice (Django's validators apply), optional display name.

    It does not say whether the username is taken: answering that only to attempts that are
    otherwise valid and within the per-address limit is the sign-up view's job (through
    User.objects.sign_up), so the form cannot be used to list who has an account.
    """

    class Meta(BaseUserCreationForm.Meta):  # type: ignore[name-defined]  # missing in django-stubs
        model = User
        fields = ("username", "display_name")
        labels = {"display_name": "Display name (optional)"}
        help_texts = {"display_name": "Shown instead of your username."}

    def validate_unique(self) -> None:
        """Left to sign_up (see the class docstring)."""


class NewAccountForm(SignUpForm):
    """An admin creating an account (the way in when sign-up is closed)."""

    make_admin = forms.BooleanField(
        required=False, label="Make this account an admin", help_text="Admins manage users."
    )

    def clean_username(self) -> str:
        # Admins may know who has an account: say so at once.
        username = self.cleaned_data["username"]
        if User.objects.username_taken(username):
            raise forms.ValidationError(str(UsernameTaken()), code="unique")
        return username

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


class ThemeForm(forms.ModelForm):
    """The colour scheme a user picked on their settings page."""

    class Meta:
        model = User
        fields = ("theme",)
        labels = {"theme": "Colour scheme"}
        widgets = {"theme": forms.RadioSelect}
