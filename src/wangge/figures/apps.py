from django.apps import AppConfig


class FiguresConfig(AppConfig):
    """Figures at every level — 一网统管 数据: tallies kept as cases move, read by every node."""

    name = "wangge.figures"
    label = "figures"
