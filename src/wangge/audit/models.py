"""The audit trail — 审计日志 (追踪归责): append-only and hash-chained.

Each record carries the hash of the one before it, so changing or removing any row breaks
every later link; ``wangge audit verify`` walks the chain and names the first broken record.
Database triggers (see the migrations) also refuse UPDATE and DELETE outright.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditRecord(models.Model):
    scope_path_field = "node_path"

    seq = models.BigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(_("time"), db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor = models.CharField(_("who"), max_length=150)
    role = models.CharField(_("role"), max_length=20, blank=True)
    node_code = models.CharField(_("node"), max_length=32, blank=True)
    node_path = models.CharField(max_length=400, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object"), max_length=80, blank=True, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    client_ip = models.CharField(_("client address"), max_length=45, blank=True)
    # Canonical JSON text, hashed as stored (a JSON column could re-serialise numbers).
    detail = models.TextField(blank=True, default="{}")
    alg = models.CharField(max_length=10)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("audit records are append-only")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit records are append-only")


class AuditHead(models.Model):
    """The chain's last link, one row. Appenders lock it, so the chain never forks."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
