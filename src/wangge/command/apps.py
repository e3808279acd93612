from django.apps import AppConfig


class CommandConfig(AppConfig):
    """Command centre — 指挥中心: the one map (一张图) and the figures pages."""

    name = "wangge.command"
    label = "command"
