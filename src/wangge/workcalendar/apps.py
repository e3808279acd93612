from django.apps import AppConfig


class WorkcalendarConfig(AppConfig):
    """The official working-day calendar — 工作日历 (holidays and 调休 make-up days)."""

    name = "wangge.workcalendar"
    label = "workcalendar"
