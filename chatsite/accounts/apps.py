from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "chatsite.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Connects the sign-out receiver that closes the browser's open sockets.
        from chatsite.accounts import live  # noqa: F401
