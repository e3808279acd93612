"""Working time on the official calendar — 工作日历与工作时间.

Which days are working days, in this order:

1. a ``DayOverride`` an administrator entered (a year the library lacks, a local closure);
2. the State Council schedule as published in ``chinesecalendar`` (public holidays and the
   调休 make-up workdays, which fall on weekends);
3. for a year neither knows: Monday to Friday. ``calendar_status(year)`` says so, so deadline
   pages can warn that the year has not been published yet instead of failing.

Working hours are wall-clock periods of the working time zone (default 09:00-12:00 and
13:30-17:30, Asia/Shanghai). Configure them in settings::

    WANGGE_WORKCALENDAR = {
        "TIME_ZONE": "Asia/Shanghai",          # default: settings.TIME_ZONE
        "PERIODS": [("09:00", "12:00"), ("13:30", "17:30")],
        "OVERRIDE_CACHE_SECONDS": 60,          # how stale another process may be
    }

Speed: each year is turned once into a table of workday flags and running counts, so
``add_working_hours`` and ``working_hours_between`` cost a few lookups and a bisection
whatever the span, never a walk hour by hour. The table is rebuilt when this process
changes an override, and at the latest ``OVERRIDE_CACHE_SECONDS`` after another process did.

Public functions (stable signatures): ``is_workday``, ``add_working_hours``,
``working_hours_between``, ``calendar_status``, plus ``working_day_hours``,
``add_working_days``, ``calendar_notes``, ``set_day``, ``clear_day``; importing a year's
schedule is ``wangge.workcalendar.importer.import_schedule``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wangge.audit.services import record

from .models import DayOverride

DEFAULT_PERIODS = (("09:00", "12:00"), ("13:30", "17:30"))
DEFAULT_CACHE_SECONDS = 60.0
# A search for the next working day gives up after this many years without one (only an
# administrator marking whole years off could cause it).
MAX_EMPTY_YEARS = 5


class Source:
    """Where a year's schedule comes from (``CalendarStatus.source``)."""

    OFFICIAL = "official"  # published schedule in chinesecalendar (+ any overrides)
    ADMINISTRATOR = "administrator"  # not published; days entered by administrators
    WEEKENDS = "weekends"  # neither: Monday-Friday only


# ---------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class WorkingHours:
    """The working periods of one working day, in seconds after local midnight."""

    tz: dt.tzinfo
    periods: tuple[tuple[int, int], ...]
    day_seconds: int
    cache_seconds: float

    def worked_before(self, seconds: float) -> float:
        """Working seconds of a working day that lie before ``seconds`` after midnight."""
        done = 0.0
        for start, end in self.periods:
            if seconds <= start:
                break
            done += min(seconds, end) - start
        return done

    def clock_at(self, worked: float) -> float:
        """Seconds after midnight at which ``worked`` working seconds are complete.

        The earliest such instant: a limit that ends exactly with the morning period is due
        at 12:00, not when work resumes after lunch.
        """
        done = 0.0
        for start, end in self.periods:
            length = end - start
            if worked <= done + length:
                return start + (worked - done)
            done += length
        return float(self.periods[-1][1])


def _parse_clock(text: str, what: str) -> int:
    try:
        clock = dt.time.fromisoformat(str(text))
    except ValueError as exc:
        raise ValueError(f"WANGGE_WORKCALENDAR {what}: {text!r} is not a time like 09:00") from exc
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def _build_config() -> WorkingHours:
    conf: dict[str, Any] = getattr(settings, "WANGGE_WORKCALENDAR", None) or {}
    tz = ZoneInfo(conf.get("TIME_ZONE") or settings.TIME_ZONE or "Asia/Shanghai")
    periods = []
    for start_text, end_text in conf.get("PERIODS") or DEFAULT_PERIODS:
        start = _parse_clock(start_text, "period start")
        end = _parse_clock(end_text, "period end")
        if end <= start:
            raise ValueError(f"WANGGE_WORKCALENDAR period {start_text}-{end_text} ends "
                             "before it starts")
        periods.append((start, end))
    periods.sort()
    for (_s1, e1), (s2, _e2) in pairwise(periods):
        if s2 < e1:
            raise ValueError("WANGGE_WORKCALENDAR periods overlap")
    return WorkingHours(
        tz=tz,
        periods=tuple(periods),
        day_seconds=sum(e - s for s, e in periods),
        cache_seconds=float(conf.get("OVERRIDE_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)),
    )


_config_cache: WorkingHours | None = None


def working_hours_config() -> WorkingHours:
    global _config_cache
    if _config_cache is None:
        _config_cache = _build_config()
    return _config_cache


def working_day_hours() -> float:
    """Hours in one working day (7 by default): a limit of N days is N × this."""
    return working_hours_config().day_seconds / 3600


# ---------------------------------------------------------------------------------------
# Year tables


@dataclass(frozen=True)
class _Year:
    year: int
    first_ordinal: int
    flags: tuple[bool, ...]
    running: tuple[int, ...]  # running[i]: working days among days 0..i of the year
    source: str
    override_count: int
    loaded_at: float

    @property
    def total(self) -> int:
        return self.running[-1]


_years: dict[int, _Year] = {}
_lock = threading.Lock()


def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _load_year(year: int) -> _Year:
    first = dt.date(year, 1, 1)
    days = [first + dt.timedelta(days=i)
            for i in range((dt.date(year, 12, 31) - first).days + 1)]
    overrides = dict(DayOverride.objects.filter(date__year=year)
                     .values_list("date", "is_workday"))
    official = _library_knows(year)
    flags = []
    for day in days:
        if day in overrides:
            flags.append(overrides[day])
        elif official:
            flags.append(chinese_calendar.is_workday(day))
        else:
            flags.append(day.weekday() < 5)
    running, count = [], 0
    for flag in flags:
        count += flag
        running.append(count)
    if official:
        source = Source.OFFICIAL
    elif overrides:
        source = Source.ADMINISTRATOR
    else:
        source = Source.WEEKENDS
    return _Year(year, first.toordinal(), tuple(flags), tuple(running), source,
                 len(overrides), time.monotonic())


def _year(year: int) -> _Year:
    table = _years.get(year)
    if table is None or time.monotonic() - table.loaded_at > working_hours_config().cache_seconds:
        with _lock:
            table = _load_year(year)
            _years[year] = table
    return table


def clear_cache() -> None:
    """Forget the year tables and the configuration (overrides or settings changed)."""
    global _config_cache
    _years.clear()
    _config_cache = None


# ---------------------------------------------------------------------------------------
# Days


def is_workday(day: dt.date) -> bool:
    """Is ``day`` a working day (override, else the published schedule, else Mon-Fri)?"""
    if isinstance(day, dt.datetime):
        raise TypeError("is_workday takes a date; convert a datetime to the working time zone")
    table = _year(day.year)
    return table.flags[day.toordinal() - table.first_ordinal]


def workdays_between(first: dt.date, last: dt.date) -> int:
    """Working days from ``first`` to ``last``, both included (0 if ``last`` < ``first``)."""
    if last < first:
        return 0
    total = 0
    for year in range(first.year, last.year + 1):
        table = _year(year)
        lo = first.toordinal() - table.first_ordinal if year == first.year else 0
        hi = last.toordinal() - table.first_ordinal if year == last.year else \
            len(table.running) - 1
        total += table.running[hi] - (table.running[lo - 1] if lo else 0)
    return total


def nth_workday_after(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (n ≥ 1), found by bisection per year."""
    if n < 1:
        raise ValueError("n must be at least 1")
    table = _year(day.year)
    target = table.running[day.toordinal() - table.first_ordinal] + n
    empty = 0
    while target > table.total:
        target -= table.total
        empty = empty + 1 if table.total == 0 else 0
        if empty > MAX_EMPTY_YEARS:
            raise ValueError(f"no working day in the {MAX_EMPTY_YEARS} years after "
                             f"{day.isoformat()}: check the calendar overrides")
        table = _year(table.year + 1)
    index = bisect_left(table.running, target)
    return dt.date.fromordinal(table.first_ordinal + index)


# ---------------------------------------------------------------------------------------
# Working time


def _local(moment: dt.datetime, conf: WorkingHours) -> tuple[dt.date, float]:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time could mean the server's zone or the user's; guessing moves
        # deadlines by hours, so the caller must say.
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    local = moment.astimezone(conf.tz)
    seconds = (local.hour * 3600 + local.minute * 60 + local.second
               + local.microsecond / 1_000_000)
    return local.date(), seconds


def _at(day: dt.date, seconds: float, conf: WorkingHours) -> dt.datetime:
    # Wall-clock arithmetic on purpose: periods are clock times, whatever the UTC offset
    # (a zone with daylight saving changes it at night, outside working hours).
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    return naive.replace(tzinfo=conf.tz)


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The instant ``hours`` working hours after ``start`` (aware, in the working zone).

    Time outside the working periods, on weekends, holidays and days off does not count; a
    start outside working hours begins counting when work next resumes. The result is the
    earliest instant the hours are complete (a 3-hour limit from 09:00 is due at 12:00).
    """
    conf = working_hours_config()
    hours = float(hours)
    if hours < 0:
        raise ValueError("hours must not be negative")
    day, clock = _local(start, conf)
    need = hours * 3600
    if need == 0:
        return start.astimezone(conf.tz)
    if is_workday(day):
        done = conf.worked_before(clock)
        left_today = conf.day_seconds - done
        if need <= left_today:
            return _at(day, conf.clock_at(done + need), conf)
        need -= left_today
    full_days, rest = divmod(need, conf.day_seconds)
    if rest == 0:
        days_on, rest = int(full_days), float(conf.day_seconds)
    else:
        days_on = int(full_days) + 1
    return _at(nth_workday_after(day, days_on), conf.clock_at(rest), conf)


def add_working_days(start: dt.datetime, days: float) -> dt.datetime:
    """``days`` working days after ``start``: days × the hours of a working day."""
    return add_working_hours(start, float(days) * working_day_hours())


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
    conf = working_hours_config()
    first_day, first_clock = _local(start, conf)
    last_day, last_clock = _local(end, conf)
    if end <= start:
        return 0.0
    if first_day == last_day:
        if not is_workday(first_day):
            return 0.0
        return (conf.worked_before(last_clock) - conf.worked_before(first_clock)) / 3600
    seconds = 0.0
    if is_workday(first_day):
        seconds += conf.day_seconds - conf.worked_before(first_clock)
    if is_workday(last_day):
        seconds += conf.worked_before(last_clock)
    middle = workdays_between(first_day + dt.timedelta(days=1),
                              last_day - dt.timedelta(days=1))
    return (seconds + middle * conf.day_seconds) / 3600


# ---------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True)
class CalendarStatus:
    """Does the platform know ``year``'s official schedule, and from where?"""

    year: int
    source: str  # Source.OFFICIAL / ADMINISTRATOR / WEEKENDS
    override_count: int = 0

    @property
    def published(self) -> bool:
        """True when the State Council schedule for the year is in the library."""
        return self.source == Source.OFFICIAL

    @property
    def message(self) -> str:
        if self.source == Source.OFFICIAL:
            if self.override_count:
                return ngettext(
                    "year %(year)s: official schedule, %(count)s day adjusted by administrators",
                    "year %(year)s: official schedule, %(count)s days adjusted by administrators",
                    self.override_count) % {"year": self.year, "count": self.override_count}
            return _("year %(year)s: official schedule") % {"year": self.year}
        if self.source == Source.ADMINISTRATOR:
            return ngettext(
                "year %(year)s not published yet: %(count)s day entered by administrators, "
                "otherwise weekends only",
                "year %(year)s not published yet: %(count)s days entered by administrators, "
                "otherwise weekends only",
                self.override_count) % {"year": self.year, "count": self.override_count}
        return _("year %(year)s not published yet: weekends only") % {"year": self.year}

    def __str__(self) -> str:
        return self.message


def calendar_status(year: int) -> CalendarStatus:
    """Which source decides ``year``'s working days; never raises for an unknown year."""
    table = _year(int(year))
    return CalendarStatus(table.year, table.source, table.override_count)


def calendar_notes(start: dt.date | dt.datetime | None,
                   end: dt.date | dt.datetime | None) -> list[CalendarStatus]:
    """Statuses of the years a deadline span touches whose schedule is not published.

    Empty when every year is official; a deadline page shows each one's ``message``.
    """
    if start is None or end is None:
        return []
    years = range(min(start.year, end.year), max(start.year, end.year) + 1)
    return [status for status in map(calendar_status, years) if not status.published]


# ---------------------------------------------------------------------------------------
# Writing overrides


def invalidate() -> None:
    """Drop the year tables after overrides changed (the settings stay)."""
    _years.clear()


@transaction.atomic
def set_day(day: dt.date, is_workday: bool, name: str = "", note: str = "",
            user=None) -> DayOverride:
    """Make ``day`` a working day or a day off, whatever the published schedule says."""
    override, created = DayOverride.objects.update_or_create(
        date=day,
        defaults={"is_workday": bool(is_workday), "name": name, "note": note},
        create_defaults={"is_workday": bool(is_workday), "name": name, "note": note,
                         "created_by": user},
    )
    record("workcalendar.set_day", override,
           detail={"date": day.isoformat(), "is_workday": bool(is_workday), "name": name,
                   "created": created})
    invalidate()
    # Again once committed: a reader in between may have cached the year as it was.
    transaction.on_commit(invalidate)
    return override


@transaction.atomic
def clear_day(day: dt.date) -> bool:
    """Remove ``day``'s override (back to the published schedule); False if there was none."""
    override = DayOverride.objects.filter(date=day).first()
    if override is None:
        return False
    pk = override.pk
    override.delete()
    record("workcalendar.clear_day", object_type="workcalendar.dayoverride", object_id=pk,
           detail={"date": day.isoformat()})
    invalidate()
    transaction.on_commit(invalidate)
    return True
