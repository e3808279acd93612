"""Briefing periods and their schedule — 简报周期: which day, ISO week or month a briefing
covers, the one before it (for the comparison), and which period is due at a given moment.

A period is due once it has ended and ``GRACE`` has passed (so a change committed a moment
before midnight, and the escalation pass right after it, are in): the daily one shortly after
midnight local time, the weekly one on Monday for the ISO week before, the monthly one on the
1st for the month before. A worker that was down catches up the latest period when it comes
back; older periods are filled by ``wangge briefings generate --backfill``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from .models import Kind

GRACE = timedelta(minutes=15)


def period_containing(kind: str, day: date) -> tuple[date, date]:
    """The first and last day of the period of ``kind`` that contains ``day``."""
    if kind == Kind.DAILY:
        return day, day
    if kind == Kind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if kind == Kind.MONTHLY:
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    raise ValueError(f"unknown briefing kind {kind!r}")


def previous_period(kind: str, start: date) -> tuple[date, date]:
    """The period just before the one starting on ``start`` (what a briefing compares with)."""
    return period_containing(kind, start - timedelta(days=1))


def latest_complete(kind: str, now: datetime | None = None) -> tuple[date, date]:
    """The most recent period of ``kind`` that ended at least ``GRACE`` before ``now``."""
    now = now or timezone.now()
    today = timezone.localtime(now - GRACE).date()
    current_start, _ = period_containing(kind, today)
    return previous_period(kind, current_start)


def due_periods(now: datetime | None = None) -> list[tuple[str, date, date]]:
    """(kind, first day, last day) of the latest complete period of each kind."""
    return [(kind, *latest_complete(kind, now)) for kind in Kind.values]


def periods_between(kind: str, first: date, last: date) -> list[tuple[date, date]]:
    """Every period of ``kind`` that starts on or after ``first``'s period and ends by
    ``last`` (a backfill)."""
    out = []
    start, end = period_containing(kind, first)
    while end <= last:
        out.append((start, end))
        start, end = period_containing(kind, end + timedelta(days=1))
    return out
