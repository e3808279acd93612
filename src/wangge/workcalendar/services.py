"""Working time on the official calendar. INTERFACE STUB: weekends only, to be replaced.

Public functions (keep these signatures):
- is_workday(day: date) -> bool
- add_working_hours(start: datetime, hours: float) -> datetime
- working_hours_between(start: datetime, end: datetime) -> float
- calendar_status(year: int) -> CalendarStatus  (does the platform know this year's schedule?)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta


def is_workday(day: date) -> bool:
    return day.weekday() < 5


def add_working_hours(start: datetime, hours: float) -> datetime:
    # STUB: counts calendar hours on workdays only, 24h a day. Replaced by the calendar helper.
    current = start
    remaining = timedelta(hours=float(hours))
    while remaining > timedelta(0):
        step = min(remaining, timedelta(hours=1))
        if is_workday(current.date()):
            remaining -= step
        current += step
    return current


def working_hours_between(start: datetime, end: datetime) -> float:
    total = 0.0
    current = start
    while current < end:
        step = min(end - current, timedelta(hours=1))
        if is_workday(current.date()):
            total += step.total_seconds() / 3600
        current += step
    return total
