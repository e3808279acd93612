from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    """Registry — 人、地、物、事、组织: the records collected once. For now: key places."""

    name = "wangge.registry"
    label = "registry"
    verbose_name = _("Registry")
