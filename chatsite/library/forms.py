"""Forms for the models page: every name is checked against Ollama's name grammar, and every
server against the configured list, before anything is sent to Ollama."""

from __future__ import annotations

from typing import Any

from django import forms

from chatsite.ollama import configured_hosts, is_valid_model_name, normalise_model_name

NAME_HELP = "For example llama3.2, qwen3:8b or myteam/assistant:latest."
UNKNOWN_SERVER = "That is not one of this site's Ollama servers; nothing was sent to it."


class ServerForm(forms.Form):
    """The Ollama server to act on: one of `configured_hosts()`, never an address the browser
    made up. With a single server it may be left out (links and forms from before several
    servers keep working); with several it is required."""

    host = forms.ChoiceField(
        label="Server", required=False, error_messages={"invalid_choice": UNKNOWN_SERVER}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: the configured servers are settings.
        self.hosts = configured_hosts()
        field = self.fields["host"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(host, host) for host in self.hosts]
        field.required = len(self.hosts) > 1
        if field.required:
            field.error_messages["required"] = "Choose the Ollama server to act on."

    @property
    def several_servers(self) -> bool:
        return len(self.hosts) > 1

    def clean_host(self) -> str:
        return self.cleaned_data["host"] or self.hosts[0]


class ModelNameForm(ServerForm):
    """One model name, as Ollama would accept it (not necessarily installed), on one server."""

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

    def refusal(self) -> str:
        """Every error in one line, for the notice an action answers with."""
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


class PullForm(ModelNameForm):
    def clean_name(self) -> str:
        # One spelling per model, so two admins asking for the same model join one pull.
        return normalise_model_name(super().clean_name())
