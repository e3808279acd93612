"""Working days and hours on the official calendar, 调休 included (hand-computed values).

Default working hours: 09:00-12:00 and 13:30-17:30 Asia/Shanghai, 7 hours a day.
2026 (chinesecalendar 1.11): 国庆 1-7 Oct off, make-up workdays Sun 20 Sep and Sat 10 Oct;
中秋 Fri 25 Sep off; 春节 15-23 Feb off, make-up workdays Sat 14 Feb and Sat 28 Feb.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from wangge.audit.models import AuditRecord
from wangge.workcalendar.models import DayOverride
from wangge.workcalendar.services import (
    Source,
    add_working_days,
    add_working_hours,
    calendar_notes,
    calendar_status,
    clear_day,
    is_workday,
    set_day,
    working_day_hours,
    working_hours_between,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(y, m, d, hh=0, mm=0, tz=SH) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def test_national_day_2026_holidays_and_make_up_days():
    assert [is_workday(dt.date(2026, 10, d)) for d in range(1, 8)] == [False] * 7
    assert is_workday(dt.date(2026, 9, 30)) and is_workday(dt.date(2026, 10, 8))
    assert is_workday(dt.date(2026, 10, 10)), "Sat 10 Oct 2026 is a 调休 working day"
    assert is_workday(dt.date(2026, 9, 20)), "Sun 20 Sep 2026 is a 调休 working day"
    assert not is_workday(dt.date(2026, 10, 11)), "an ordinary Sunday stays off"
    assert not is_workday(dt.date(2026, 9, 25)), "中秋 falls on Fri 25 Sep 2026"


def test_deadline_spanning_national_day():
    # Wed 30 Sep 15:00: 2.5 h left that day; 1-7 Oct off; Thu 8 Oct 09:00-12:00 (3 h) and
    # 13:30-16:00 (2.5 h) make 8 h.
    start = at(2026, 9, 30, 15)
    due = add_working_hours(start, 8)
    assert due == at(2026, 10, 8, 16)
    assert working_hours_between(start, due) == pytest.approx(8)
    # The whole holiday week counts for nothing.
    assert working_hours_between(at(2026, 9, 30, 17, 30), at(2026, 10, 8, 9)) == 0


def test_deadline_spanning_a_make_up_saturday():
    # Fri 9 Oct 16:00 + 4 h: 1.5 h on Friday, then Sat 10 Oct is a working day: 09:00 + 2.5 h.
    assert add_working_hours(at(2026, 10, 9, 16), 4) == at(2026, 10, 10, 11, 30)
    # The same from an ordinary Friday waits for Monday.
    assert add_working_hours(at(2026, 10, 16, 16), 4) == at(2026, 10, 19, 11, 30)
    # Fri 18 Sep 17:00 + 1 h: Sun 20 Sep is a make-up day, so the deadline is on Sunday.
    assert add_working_hours(at(2026, 9, 18, 17), 1) == at(2026, 9, 20, 9, 30)
    assert working_hours_between(at(2026, 10, 9, 17), at(2026, 10, 12, 10)) == \
        pytest.approx(0.5 + 7 + 1)


def test_spring_festival_2026():
    # Fri 13 Feb 10:00: 6 h that day; Sat 14 Feb (调休) 7 h → 13 h; 15-23 Feb off;
    # Tue 24 Feb 7 h → 20 h; Wed 25 Feb 09:00-12:00 + 13:30-14:30 → 24 h.
    start = at(2026, 2, 13, 10)
    assert add_working_hours(start, 24) == at(2026, 2, 25, 14, 30)
    assert working_hours_between(start, at(2026, 2, 25, 14, 30)) == pytest.approx(24)
    assert not any(is_workday(dt.date(2026, 2, d)) for d in range(15, 24))
    assert is_workday(dt.date(2026, 2, 28)), "Sat 28 Feb 2026 is a 调休 working day"


def test_start_outside_working_hours():
    assert add_working_hours(at(2026, 10, 13, 7), 1) == at(2026, 10, 13, 10)  # early
    assert add_working_hours(at(2026, 10, 13, 12, 45), 1) == at(2026, 10, 13, 14, 30)  # lunch
    assert add_working_hours(at(2026, 10, 13, 19), 1) == at(2026, 10, 14, 10)  # evening
    assert add_working_hours(at(2026, 10, 17, 10), 1) == at(2026, 10, 19, 10)  # Saturday
    assert working_hours_between(at(2026, 10, 13, 12), at(2026, 10, 13, 13, 30)) == 0
    assert working_hours_between(at(2026, 10, 17, 8), at(2026, 10, 18, 20)) == 0


def test_limits_end_at_the_earliest_instant():
    assert add_working_hours(at(2026, 10, 13, 9), 3) == at(2026, 10, 13, 12), \
        "a limit that ends with the morning is due at 12:00, not after lunch"
    assert add_working_hours(at(2026, 10, 13, 9), 7) == at(2026, 10, 13, 17, 30)
    assert add_working_hours(at(2026, 10, 13, 9), 14) == at(2026, 10, 14, 17, 30)
    assert add_working_hours(at(2026, 10, 13, 9), 0.25) == at(2026, 10, 13, 9, 15)
    assert add_working_hours(at(2026, 10, 13, 20), 0) == at(2026, 10, 13, 20)


def test_days_are_whole_working_days_of_hours():
    assert working_day_hours() == 7
    start = at(2026, 9, 30, 15)
    assert add_working_days(start, 2) == add_working_hours(start, 14) == at(2026, 10, 9, 15)


def test_between_is_the_inverse_of_add():
    starts = [at(2026, 9, 18, 16, 20), at(2026, 9, 26, 3), at(2026, 12, 30, 12, 10),
              at(2026, 2, 13, 17, 29), at(2025, 12, 31, 9)]
    for start in starts:
        for hours in (0.5, 1, 3, 7, 8.75, 24, 70, 400):
            due = add_working_hours(start, hours)
            assert working_hours_between(start, due) == pytest.approx(hours, abs=1e-6), \
                (start, hours, due)
    assert working_hours_between(at(2026, 10, 13, 10), at(2026, 10, 13, 9)) == 0


def test_administrator_override_of_a_day():
    start = at(2026, 10, 10, 17)  # the make-up Saturday, 30 min before closing
    assert add_working_hours(start, 1) == at(2026, 10, 12, 9, 30)

    set_day(dt.date(2026, 10, 12), False, name="台风停工")
    assert not is_workday(dt.date(2026, 10, 12))
    assert add_working_hours(start, 1) == at(2026, 10, 13, 9, 30)
    rec = AuditRecord.objects.filter(action="workcalendar.set_day").get()
    assert rec.detail and "2026-10-12" in rec.detail

    set_day(dt.date(2026, 10, 11), True, name="补班")  # a Sunday made a working day
    assert add_working_hours(start, 1) == at(2026, 10, 11, 9, 30)

    assert clear_day(dt.date(2026, 10, 11)) and clear_day(dt.date(2026, 10, 12))
    assert add_working_hours(start, 1) == at(2026, 10, 12, 9, 30)
    assert not clear_day(dt.date(2026, 10, 12)), "nothing left to clear"
    assert AuditRecord.objects.filter(action="workcalendar.clear_day").count() == 2


def test_override_written_elsewhere_is_seen_at_once():
    # The admin site saves through the ORM; the post_save signal drops the cached year.
    assert is_workday(dt.date(2026, 11, 2))
    DayOverride.objects.create(date=dt.date(2026, 11, 2), is_workday=False, name="停电")
    assert not is_workday(dt.date(2026, 11, 2))
    DayOverride.objects.filter(date=dt.date(2026, 11, 2)).delete()
    assert is_workday(dt.date(2026, 11, 2))


def test_year_the_library_lacks_falls_back_to_weekends():
    status = calendar_status(2027)
    assert status.source == Source.WEEKENDS and not status.published
    assert status.message == "year 2027 not published yet: weekends only"
    assert calendar_status(2026).published
    assert calendar_status(2026).message == "year 2026: official schedule"
    # 1 Jan 2027 is surely a holiday, but nobody has said so yet: weekdays count.
    assert is_workday(dt.date(2027, 1, 1))
    assert not is_workday(dt.date(2027, 1, 2))
    start = at(2026, 12, 31, 17)
    due = add_working_hours(start, 1)
    assert due == at(2027, 1, 1, 9, 30)
    assert [s.year for s in calendar_notes(start, due)] == [2027]
    assert calendar_notes(at(2026, 3, 1), at(2026, 4, 1)) == []
    assert calendar_status(2003).source == Source.WEEKENDS  # before the library's range too


def test_entering_an_unpublished_year_changes_its_status():
    set_day(dt.date(2027, 1, 1), False, name="元旦")
    status = calendar_status(2027)
    assert status.source == Source.ADMINISTRATOR and status.override_count == 1
    assert "2027 not published yet" in status.message
    assert add_working_hours(at(2026, 12, 31, 17), 1) == at(2027, 1, 4, 9, 30)
    set_day(dt.date(2026, 10, 12), False)
    assert calendar_status(2026).message == \
        "year 2026: official schedule, 1 day adjusted by administrators"


def test_time_zones_are_converted_not_guessed():
    utc = ZoneInfo("UTC")
    # 08:00 UTC is 16:00 in Shanghai (UTC+8 all year, no daylight saving).
    due = add_working_hours(at(2026, 10, 9, 8, tz=utc), 4)
    assert due == at(2026, 10, 10, 11, 30)
    assert due.utcoffset() == dt.timedelta(hours=8)
    assert add_working_hours(at(2026, 7, 1, 9), 1).utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(ValueError, match="no time zone"):
        add_working_hours(dt.datetime(2026, 10, 9, 16), 1)
    with pytest.raises(ValueError, match="no time zone"):
        working_hours_between(dt.datetime(2026, 10, 9, 16), at(2026, 10, 9, 17))


@override_settings(WANGGE_WORKCALENDAR={"TIME_ZONE": "Europe/Berlin"})
def test_wall_clock_hours_hold_across_a_daylight_saving_change():
    # A deployment in a zone with daylight saving: Berlin leaves summer time on Sun 25 Oct
    # 2026. Working hours stay 09:00-17:30 wall clock on both sides.
    berlin = ZoneInfo("Europe/Berlin")
    start = at(2026, 10, 23, 16, tz=berlin)  # Friday, UTC+2
    due = add_working_hours(start, 4)
    assert due == at(2026, 10, 26, 11, 30, tz=berlin)  # Monday, UTC+1
    assert due.utcoffset() == dt.timedelta(hours=1)
    assert working_hours_between(start, due) == pytest.approx(4)


@override_settings(WANGGE_WORKCALENDAR={"PERIODS": [("08:30", "12:00"), ("14:00", "18:00")]})
def test_working_hours_come_from_settings():
    assert working_day_hours() == 7.5
    assert add_working_hours(at(2026, 10, 13, 11), 2) == at(2026, 10, 13, 15)
    assert add_working_days(at(2026, 10, 13, 8, 30), 1) == at(2026, 10, 13, 18)


@override_settings(WANGGE_WORKCALENDAR={"PERIODS": [("09:00", "12:00"), ("11:00", "17:00")]})
def test_overlapping_periods_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        working_day_hours()


def test_negative_hours_are_refused():
    with pytest.raises(ValueError, match="negative"):
        add_working_hours(at(2026, 10, 13, 9), -1)
