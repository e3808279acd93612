"""Periods of a recurring inspection — 巡检周期: a key per round and its first and last day.

A monthly fire-safety check has one set of targets per month ("2026-11"); the key names the
round in ``TaskTarget.period`` / ``TaskTally.period`` and in ``Task.periods``. Each frequency
is declared once as data: how to name the period holding a day, and its bounds.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable
from dataclasses import dataclass

from wangge.gridwork.models import Frequency


@dataclass(frozen=True)
class Period:
    """One round of an inspection: its key, first and last day (both included)."""

    key: str
    start: datetime.date
    end: datetime.date


def _week(day: datetime.date) -> Period:
    year, week, weekday = day.isocalendar()
    start = day - datetime.timedelta(days=weekday - 1)
    return Period(f"{year}-W{week:02d}", start, start + datetime.timedelta(days=6))


def _month(day: datetime.date) -> Period:
    last = calendar.monthrange(day.year, day.month)[1]
    return Period(f"{day.year}-{day.month:02d}", day.replace(day=1), day.replace(day=last))


def _quarter(day: datetime.date) -> Period:
    q = (day.month - 1) // 3 + 1
    start = datetime.date(day.year, 3 * q - 2, 1)
    end_month = 3 * q
    end = datetime.date(day.year, end_month, calendar.monthrange(day.year, end_month)[1])
    return Period(f"{day.year}-Q{q}", start, end)


def _year(day: datetime.date) -> Period:
    return Period(str(day.year), datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31))


# The frequencies an inspection may repeat at, and how each finds the period of a day.
PERIOD_OF: dict[str, Callable[[datetime.date], Period]] = {
    Frequency.WEEKLY: _week,
    Frequency.MONTHLY: _month,
    Frequency.QUARTERLY: _quarter,
    Frequency.YEARLY: _year,
}
RECURRENCES = tuple(PERIOD_OF)


def period_of(recurrence: str, day: datetime.date) -> Period:
    """The period of ``recurrence`` holding ``day``."""
    try:
        return PERIOD_OF[recurrence](day)
    except KeyError:
        raise ValueError(f"{recurrence!r} is not a recurrence of inspections") from None


def next_period(recurrence: str, period: Period) -> Period:
    """The period right after ``period``."""
    return period_of(recurrence, period.end + datetime.timedelta(days=1))


def missed_periods(recurrence: str, starts_on: datetime.date, started: list[str],
                   day: datetime.date) -> list[Period]:
    """Rounds of an inspection that ended before ``day`` without ever being started.

    The hourly ``gridwork.rounds`` job starts the round holding the day it runs; a round
    whose whole period passed while no worker ran is not started late (its targets would be
    overdue on arrival) but is named here, so the task's page and the audit trail say so.
    Only rounds after the first one started count: before it, the task was not yet launched.
    """
    current = period_of(recurrence, day)
    period, missed = period_of(recurrence, starts_on), []
    done, running = set(started), False  # rounds before the first one started are not missed
    while period.end < current.start:
        running = running or period.key in done
        if running and period.key not in done:
            missed.append(period)
        period = next_period(recurrence, period)
    return missed
