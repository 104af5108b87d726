"""Forms for the models page: every name is checked against Ollama's name grammar, and every
server against the configured list, before anything is sent to Ollama."""

from __future__ import annotations

from typing import Any

from django import forms

from chatsite.ollama import (
    CreateRequest,
    configured_hosts,
    is_valid_model_name,
    normalise_model_name,
)

NAME_HELP = "For example llama3.2, qwen3:8b or myteam/assistant:latest."
UNKNOWN_SERVER = "That is not one of this site's Ollama servers; nothing was sent to it."


def invalid_name(name: str) -> forms.ValidationError:
    return forms.ValidationError(
        f"“{name}” is not a valid Ollama model name. Names look like model or "
        "model:tag, optionally after namespace/ or host/namespace/; they use letters, "
        "digits, “_”, “-” and “.”, and start with a letter, digit or “_”.",
        code="invalid_name",
    )


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
            raise invalid_name(name)
        return name

    def refusal(self) -> str:
        """Every error in one line, for the notice an action answers with."""
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


class PullForm(ModelNameForm):
    def clean_name(self) -> str:
        # One spelling per model, so two admins asking for the same model join one pull.
        return normalise_model_name(super().clean_name())


# Ollama quantizes F16/F32 weights to these types (server/create.go); the base must allow it.
QUANTIZE_CHOICES = [
    ("", "Keep the base model's weights"),
    ("q4_K_M", "q4_K_M (smaller, a little less exact)"),
    ("q4_K_S", "q4_K_S (smallest)"),
    ("q8_0", "q8_0 (larger, closest to the original)"),
]
QUANTIZABLE_LEVELS = ("F16", "F32")
MAX_STOP_SEQUENCES = 8


class CreateModelForm(PullForm):
    """A model made from an installed one (Ollama's JSON create): the name it gets, its base,
    and what it changes. Whether the base is installed and the name free is the action's to
    check, on the server itself."""

    base = forms.CharField(
        label="Base model", max_length=500, error_messages={"required": "Pick a base model."}
    )
    system = forms.CharField(
        label="System prompt", required=False, max_length=20_000, widget=forms.Textarea
    )
    temperature = forms.FloatField(label="Temperature", required=False, min_value=0, max_value=2)
    top_p = forms.FloatField(label="Top p", required=False, min_value=0, max_value=1)
    top_k = forms.IntegerField(label="Top k", required=False, min_value=1, max_value=1000)
    num_ctx = forms.IntegerField(
        label="Context length", required=False, min_value=256, max_value=1_048_576
    )
    repeat_penalty = forms.FloatField(
        label="Repeat penalty", required=False, min_value=0, max_value=5
    )
    stop = forms.CharField(
        label="Stop sequences",
        required=False,
        max_length=2_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line; the model stops writing when it produces one.",
    )
    seed = forms.IntegerField(label="Seed", required=False, min_value=0, max_value=2**31 - 1)
    template = forms.CharField(
        label="Template", required=False, max_length=20_000, strip=False, widget=forms.Textarea
    )
    license = forms.CharField(
        label="License", required=False, max_length=50_000, widget=forms.Textarea
    )
    quantize = forms.ChoiceField(label="Quantize", required=False, choices=QUANTIZE_CHOICES)

    PARAMETERS = ("temperature", "top_p", "top_k", "num_ctx", "repeat_penalty", "seed")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its own ids: the pull form on the same page has a name field too.
        kwargs.setdefault("auto_id", "create_%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Name of the new model"

    def clean_base(self) -> str:
        base: str = self.cleaned_data["base"].strip()
        if not is_valid_model_name(base):
            raise invalid_name(base)
        return base

    def clean_stop(self) -> list[str]:
        lines = [line for line in self.cleaned_data["stop"].splitlines() if line.strip()]
        if len(lines) > MAX_STOP_SEQUENCES:
            raise forms.ValidationError(
                f"At most {MAX_STOP_SEQUENCES} stop sequences; you gave {len(lines)}."
            )
        return lines

    def create_request(self) -> CreateRequest:
        data = self.cleaned_data
        parameters: dict[str, Any] = {
            name: data[name] for name in self.PARAMETERS if data.get(name) is not None
        }
        if data["stop"]:
            parameters["stop"] = data["stop"]
        return CreateRequest(
            model=data["name"],
            base=data["base"],
            system=data["system"],
            parameters=parameters,
            template=data["template"],
            license=data["license"],
            quantize=data["quantize"],
        )


class CopyForm(ServerForm):
    """The new name of a copy; the model copied comes from the page's address."""

    destination = forms.CharField(label="New name", max_length=500, help_text=NAME_HELP)

    def clean_destination(self) -> str:
        name: str = self.cleaned_data["destination"].strip()
        if not is_valid_model_name(name):
            raise invalid_name(name)
        return normalise_model_name(name)
