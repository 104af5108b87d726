"""Which models a person may chat with: one rule from the site settings, applied to the picker,
to every send, and to anything else that starts a generation for a user (such as an API)."""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import sync_to_async

from chatsite.accounts.models import SiteSettings, User
from chatsite.ollama import normalise_model_name
from conversations.chat.catalog import ModelCatalog, ModelChoice


@dataclass(frozen=True)
class ModelAccess:
    restricted: bool
    allowed: frozenset[str]  # normalised names
    default_model: str

    @classmethod
    def from_settings(cls, site: SiteSettings) -> ModelAccess:
        return cls(
            restricted=site.restrict_member_models,
            allowed=frozenset(normalise_model_name(str(name)) for name in site.member_models),
            default_model=site.default_model,
        )

    def allows(self, user: User, model: str) -> bool:
        if not self.restricted or user.is_site_admin:
            return True
        return normalise_model_name(model) in self.allowed

    def choices_for(self, user: User, catalog: ModelCatalog) -> list[ModelChoice]:
        """The picker: models that can chat and that this user may use."""
        return [m for m in catalog.chat_models if self.allows(user, m.name)]

    def refusal(self, user: User, model: str) -> str | None:
        if self.allows(user, model):
            return None
        return f"The model '{model}' is not available to you on this site. Pick another model."


def load_model_access() -> ModelAccess:
    return ModelAccess.from_settings(SiteSettings.load())


aload_model_access = sync_to_async(load_model_access)


def cannot_chat(choice: ModelChoice | None) -> str | None:
    """Embedding-only models answer /api/chat with an error: refuse before storing anything."""
    if choice is None or choice.can_chat:
        return None
    return f"'{choice.name}' is an embedding model and cannot chat. Pick another model."
