from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from conversations.search_index import repair_after_migrate

        post_migrate.connect(repair_after_migrate, sender=self)
