from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridworkConfig(AppConfig):
    """Grid work — 网格事务: the grid matters list (网格事项准入清单) and, later, tasks."""

    name = "wangge.gridwork"
    label = "gridwork"
    verbose_name = _("Grid work")
