"""Notifications — 消息通知: an in-app inbox per user and a record of every delivery attempt."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core import clock


class Notification(models.Model):
    """One message in one user's inbox — 站内消息. Outgoing channels only copy it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="notifications")
    created_at = models.DateTimeField(default=clock.now, editable=False)  # see core.clock
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The inbox page: one user's newest first, and the unread count.
            models.Index(fields=["user", "-created_at"], name="notification_inbox"),
            models.Index(fields=["user", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.subject}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DeliveryStatus(models.TextChoices):
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("skipped")


class DeliveryAttempt(models.Model):
    """What one channel (SMS, WeChat, log) did with one notification — 发送记录.

    "sent" is written only when the channel has evidence it delivered (a gateway's message
    id, a log handler that took the record); anything else is "failed" or "skipped" with why.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE,
                                     related_name="deliveries")
    channel = models.CharField(max_length=20)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices)
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.channel} {self.status}"
