"""Notification services: the only code that writes inboxes and delivery records.

``notify`` puts the message in each recipient's inbox inside the caller's transaction (so an
escalation that rolls back leaves no message behind) and hands it to the outgoing channels
only after that transaction commits: an SMS can't be recalled, so none goes out for a change
that never happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from wangge.audit.services import record

from .channels import DeliveryResult, default_channels, get_channel
from .models import DeliveryAttempt, Notification

log = logging.getLogger(__name__)
SUBJECT_MAX = 200


_inbox_only: ContextVar[bool] = ContextVar("wangge_inbox_only", default=False)


@contextmanager
def inbox_only() -> Iterator[None]:
    """Inside the block, messages go to inboxes but on no channel: history replayed after the
    fact (the demo's past cases) must not text anyone today about last month."""
    token = _inbox_only.set(True)
    try:
        yield
    finally:
        _inbox_only.reset(token)


def notify(users: Iterable, subject: str, body: str, *, case=None,
           channels: Sequence[str] | None = None) -> list[Notification]:
    """Write ``subject``/``body`` to each active user's inbox, then send it on ``channels``.

    ``channels`` None means the deployment's default (NOTIFY_CHANNELS); an empty list means
    the inbox only. Returns the inbox rows written (one per distinct active user).
    """
    names = default_channels() if channels is None else list(channels)
    if _inbox_only.get():
        names = []
    for name in names:
        get_channel(name)  # an unknown channel is a programming error: fail before writing
    recipients = {}
    for user in users:
        if user is not None and user.is_active and user.pk not in recipients:
            recipients[user.pk] = user
    if not recipients:
        return []
    subject = subject[:SUBJECT_MAX]
    with transaction.atomic():
        notes = Notification.objects.bulk_create(
            [Notification(user=user, subject=subject, body=body, case=case)
             for user in recipients.values()])
        record("notifications.notify", case, object_type="" if case else "notifications",
               detail={"subject": subject, "users": sorted(recipients), "channels": names})
        if names:
            # SQLite ≥ 3.35 and PostgreSQL both return the new keys from a bulk insert.
            ids = [n.pk for n in notes]
            transaction.on_commit(lambda: deliver(ids, names))
    return notes


def deliver(notification_ids: Sequence[int], channels: Sequence[str]) -> list[DeliveryAttempt]:
    """Send stored notifications on ``channels`` and record every attempt's outcome."""
    attempts = []
    notes = Notification.objects.filter(pk__in=notification_ids).select_related("user")
    for note in notes:
        for name in channels:
            channel = get_channel(name)
            try:
                result = channel.send(note.user, note.subject, note.body)
            except Exception as exc:  # a broken adapter must not stop the other messages
                log.exception("notification channel %s failed", name)
                result = DeliveryResult.failed(f"{type(exc).__name__}: {exc}")
            attempts.append(DeliveryAttempt(notification=note, channel=name,
                                            status=result.status, detail=result.detail))
    DeliveryAttempt.objects.bulk_create(attempts)
    return attempts


def inbox(user) -> QuerySet[Notification]:
    """The user's own messages, newest first. Nobody reads another person's inbox."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user=user).select_related("case")


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


@transaction.atomic
def mark_read(user, notification_id: int) -> Notification:
    """Mark one of the user's own messages read; someone else's is ``DoesNotExist``."""
    note = inbox(user).get(pk=notification_id)
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
        record("notifications.read", note)
    return note


@transaction.atomic
def mark_all_read(user) -> int:
    """Mark every unread message of the user read; returns how many changed."""
    changed = inbox(user).filter(read_at__isnull=True).update(read_at=timezone.now())
    if changed:
        record("notifications.read_all", user, detail={"count": changed})
    return changed
