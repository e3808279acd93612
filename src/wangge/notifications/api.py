"""Inbox API — /api/v1/notifications: a person's own messages, and marking them read."""

# No "from __future__ import annotations": ninja reads these annotations at import time.
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from . import services
from .models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    case_code: str | None
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def resolve_case_code(obj: Notification) -> str | None:
        return obj.case.code if obj.case_id else None


class InboxFilter(Schema):
    unread: bool = False


class ReadAllOut(Schema):
    marked: int


def _person(request):
    """The inbox belongs to a person signed in; machine tokens have none to read."""
    if getattr(request, "api_token", None) is not None:
        raise PermissionDenied("notifications are read by people, not API tokens")
    return request.user


@router.get("", response=list[NotificationOut])
@paginate(LimitOffsetPagination)
def list_notifications(request, f: Query[InboxFilter]):
    qs = services.inbox(_person(request))
    if f.unread:
        qs = qs.filter(read_at__isnull=True)
    return qs


@router.post("/{notification_id}/read", response=NotificationOut)
def read(request, notification_id: int):
    try:
        return services.mark_read(_person(request), notification_id)
    except Notification.DoesNotExist:
        raise Http404 from None


@router.post("/read-all", response=ReadAllOut)
def read_all(request):
    return ReadAllOut(marked=services.mark_all_read(_person(request)))
