from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from chatsite.library.signals import models_changed
        from conversations.attachments import intake  # noqa: F401 - connects its signal
        from conversations.search.index import repair_after_migrate

        post_migrate.connect(repair_after_migrate, sender=self)
        models_changed.connect(_forget_catalog, dispatch_uid="conversations.forget_catalog")


def _forget_catalog(**_: object) -> None:
    from conversations.chat.catalog import forget_catalog

    forget_catalog()
