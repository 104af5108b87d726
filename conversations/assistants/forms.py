"""The assistant form: a chat's settings (validated as a chat's are) plus a name, a short
description and up to four starter prompts; the model must be one the maker may use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from conversations.assistants.models import MAX_STARTERS, Assistant
from conversations.chat.forms import OPTION_FIELDS, ConversationSettingsForm

STARTER_FIELDS = tuple(f"starter_{number}" for number in range(1, MAX_STARTERS + 1))


class AssistantForm(ConversationSettingsForm):
    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(label="Short description", max_length=200, required=False)
    starter_1 = forms.CharField(label="Starter prompt 1", max_length=500, required=False)
    starter_2 = forms.CharField(label="Starter prompt 2", max_length=500, required=False)
    starter_3 = forms.CharField(label="Starter prompt 3", max_length=500, required=False)
    starter_4 = forms.CharField(label="Starter prompt 4", max_length=500, required=False)

    field_order = ["name", "description", "model", "system_prompt"]
    option_fields = OPTION_FIELDS
    starter_fields = STARTER_FIELDS

    def __init__(self, *args: Any, models: Sequence[str], **kwargs: Any) -> None:
        """`models`: the chat models the maker may use now (empty when Ollama is down)."""
        super().__init__(*args, **kwargs)
        self.models = list(models)
        self.fields["think"].label = "Thinking on by default (for models that can think)"

    @classmethod
    def initial_for(cls, assistant: Assistant) -> dict[str, Any]:
        starters = dict(zip(STARTER_FIELDS, assistant.starters, strict=False))
        think = assistant.think
        fields = {"name": assistant.name, "description": assistant.description}
        return {**fields, **assistant.settings_data(), "think": think, **starters}

    def clean_model(self) -> str:
        model: str = self.cleaned_data["model"]
        if not self.models:
            raise forms.ValidationError(
                "Ollama is not reachable, so the model cannot be checked. Try again when it is."
            )
        if model not in self.models:
            raise forms.ValidationError(f"Pick one of the models listed; {model} is not one.")
        return model

    def apply(self, assistant: Assistant) -> Assistant:
        data = self.cleaned_data
        assistant.name = data["name"]
        assistant.description = data["description"]
        assistant.model = data["model"]
        assistant.system_prompt = data["system_prompt"]
        assistant.options = self.ollama_options()
        assistant.think = data["think"]
        assistant.starters = [data[name].strip() for name in STARTER_FIELDS if data[name].strip()]
        return assistant
