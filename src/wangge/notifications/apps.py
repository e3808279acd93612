from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """In-app inbox and outgoing channels (SMS, WeChat) — 消息通知."""

    name = "wangge.notifications"
    label = "notifications"
