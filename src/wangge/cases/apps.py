from django.apps import AppConfig


class CasesConfig(AppConfig):
    """The closed loop — 事件闭环: intake, workflow, routing, deadlines, Open311."""

    name = "wangge.cases"
    label = "cases"
