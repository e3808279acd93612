from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinkageConfig(AppConfig):
    """Record linkage — 数据融合: the engine that links department records to one person."""

    name = "wangge.linkage"
    label = "linkage"
    verbose_name = _("Record linkage")
