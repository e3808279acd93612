from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Privacy — 个人信息保护: field encryption, blind indexes, masks, reveal with purpose.

    No tables of its own: the protected values live in the models that declare them
    (``fields.ProtectedField``); reveals and rotations go to the audit trail.
    """

    name = "wangge.privacy"
    label = "privacy"
    verbose_name = _("Privacy")
