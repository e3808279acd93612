from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces with no tables of their own: base templates, context, check-deploy."""

    name = "wangge.core"
    label = "core"
