from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Catalogue — 公共数据资源目录: datasets, sharing, lists sent down, collect-once forms."""

    name = "wangge.catalog"
    label = "catalog"
    verbose_name = _("Data catalogue")
