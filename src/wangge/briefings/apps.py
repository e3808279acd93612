from django.apps import AppConfig


class BriefingsConfig(AppConfig):
    """Briefings — 工作简报: daily, weekly and monthly reports; the public transparency page."""

    name = "wangge.briefings"
    label = "briefings"
