from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "chatsite.gateway"
    label = "gateway"
    verbose_name = "API gateway"
