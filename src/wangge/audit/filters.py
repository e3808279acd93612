"""The auditor's search over the trail, shared by the page and the API."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import QuerySet
from django.utils import timezone

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import visible_to

from .models import AuditRecord


def search(
    user,
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    node: str = "",
    since: date | None = None,
    until: date | None = None,
    token=None,
) -> QuerySet[AuditRecord]:
    require_permission(user, "audit.view", token)
    qs = visible_to(AuditRecord, user)
    if actor:
        qs = qs.filter(actor__icontains=actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if node:
        qs = qs.filter(node_code__startswith=node)
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(at__gte=datetime.combine(since, time.min, tz))
    if until:
        qs = qs.filter(at__lte=datetime.combine(until, time.max, tz))
    return qs.order_by("-seq")
