"""The platform's clock — 时钟: ``now()`` everywhere a case's time is taken.

It is the wall clock, except inside ``replaying(at)``: code that writes history that
happened earlier (the demo city's past cases, a backfill) sets the time each step took place,
so timelines, deadlines and figures say when things happened. The audit trail keeps the real
time of writing (it records what the platform did, and when).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from django.utils import timezone

_replayed: ContextVar[datetime | None] = ContextVar("wangge_clock", default=None)


def now() -> datetime:
    """The current time, or the replayed one inside ``replaying``."""
    return _replayed.get() or timezone.now()


def today() -> date:
    """The local date of ``now()``."""
    return timezone.localdate(now())


@contextmanager
def replaying(at: datetime) -> Iterator[None]:
    """Let ``now()`` read ``at`` inside the block (aware datetimes only)."""
    if timezone.is_naive(at):
        raise ValueError("replaying() needs an aware datetime")
    token = _replayed.set(at)
    try:
        yield
    finally:
        _replayed.reset(token)
