"""Account forms: sign-up, an admin creating an account, and the site settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    """The site's choices. `chat_models` are the names of the installed models that can chat;
    models already chosen stay choices even while Ollama is down, so a save keeps them."""

    restrict_member_models = forms.TypedChoiceField(
        label="Models members may use",
        choices=[(False, "All models"), (True, "Only the models chosen below")],
        coerce=lambda value: value in (True, "True"),
        widget=forms.RadioSelect,
        required=False,  # left out (an older form): all models, see clean_restrict_member_models
    )
    member_models = forms.MultipleChoiceField(
        label="Chosen models", required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = SiteSettings
        fields = (
            "signup_mode",
            "admin_review",
            "default_model",
            "restrict_member_models",
            "member_models",
        )
        labels = {
            "signup_mode": "Sign-up",
            "admin_review": "Let admins open any user's conversation (read-only, recorded)",
        }
        widgets = {"signup_mode": forms.RadioSelect}

    def __init__(self, *args: Any, chat_models: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site = self.instance
        chosen = [str(name) for name in site.member_models]
        names = list(dict.fromkeys([*chat_models, *chosen]))
        self.fields["member_models"].choices = [(name, name) for name in names]  # type: ignore[attr-defined]  # a ChoiceField
        defaults = list(
            dict.fromkeys([*chat_models, *([site.default_model] if site.default_model else [])])
        )
        self.fields["default_model"] = forms.ChoiceField(
            label="Default model for new chats",
            required=False,
            choices=[("", "The first model listed"), *((name, name) for name in defaults)],
            help_text="Preselected for someone who has not chatted yet.",
        )

    def clean_restrict_member_models(self) -> bool:
        return self.cleaned_data["restrict_member_models"] is True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("restrict_member_models"):
            chosen = data.get("member_models") or []
            if not chosen:
                self.add_error(
                    "member_models",
                    "Choose at least one model members may use, or let them use all models.",
                )
            default = data.get("default_model")
            if default and default not in chosen:
                self.add_error(
                    "default_model",
                    f"Members may not use {default}: choose it below too, or pick another "
                    "default model.",
                )
        return data


class ThemeForm(forms.ModelForm):
    """The colour scheme a user picked on their settings page."""

    class Meta:
        model = User
        fields = ("theme",)
        labels = {"theme": "Colour scheme"}
        widgets = {"theme": forms.RadioSelect}
