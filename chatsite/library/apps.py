from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "chatsite.library"
    label = "library"
    verbose_name = "Model library"
