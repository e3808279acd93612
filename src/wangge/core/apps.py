from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces with no tables of their own: base templates, context, check-deploy."""

    name = "wangge.core"
    label = "core"

    def ready(self) -> None:
        from .keys import ensure_field_key

        ensure_field_key()
