from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "wangge.audit"
    label = "audit"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (login/logout events)
