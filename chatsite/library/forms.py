"""Forms for the models page: every name is checked against Ollama's name grammar before
anything is sent to Ollama."""

from __future__ import annotations

from django import forms

from chatsite.library.models import normalise_model_name
from chatsite.ollama import is_valid_model_name

NAME_HELP = "For example llama3.2, qwen3:8b or myteam/assistant:latest."


class ModelNameForm(forms.Form):
    """One model name, as Ollama would accept it (not necessarily installed)."""

    name = forms.CharField(label="Model name", max_length=500, strip=True, help_text=NAME_HELP)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if not is_valid_model_name(name):
            raise forms.ValidationError(
                f"“{name}” is not a valid Ollama model name. Names look like model or "
                "model:tag, optionally after namespace/ or host/namespace/; they use letters, "
                "digits, “_”, “-” and “.”, and start with a letter, digit or “_”.",
                code="invalid_name",
            )
        return name


class PullForm(ModelNameForm):
    def clean_name(self) -> str:
        # One spelling per model, so two admins asking for the same model join one pull.
        return normalise_model_name(super().clean_name())
