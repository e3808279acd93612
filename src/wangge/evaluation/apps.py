from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    """Evaluation — 综合评价: indicators declared as data, the governance index, rankings."""

    name = "wangge.evaluation"
    label = "evaluation"
