"""Step deadlines from the rules, the elapsed share and the traffic light (hand-computed).

Working hours 09:00-12:00 and 13:30-17:30 (7 h a day), Asia/Shanghai; 2026 calendar with
国庆 1-7 Oct off and Sat 10 Oct a make-up working day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from wangge.cases.deadlines import deadline_for, elapsed_ratio, rule_for, traffic_light
from wangge.cases.models import Case, Category, DeadlineRule
from wangge.cases.workflow import State, Step
from wangge.core import clock

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db  # the calendar reads administrators' day overrides


def at(m, d, hh=0, mm=0, y=2026) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def categories(db):
    street = Category.objects.create(code="T05", name="街面秩序", kind="event")
    parking = Category.objects.create(code="T0501", name="违章停车", kind="event", parent=street)
    stalls = Category.objects.create(code="T0502", name="占道经营", kind="event", parent=street)
    lamps = Category.objects.create(code="T01", name="路灯", kind="component")
    rule = DeadlineRule.objects.create
    rule(category=None, urgency="normal", step=Step.HANDLE, working_hours=Decimal("24"))
    rule(category=None, urgency="urgent", step=Step.HANDLE, working_hours=Decimal("8"))
    rule(category=street, urgency="normal", step=Step.HANDLE, working_hours=Decimal("8"))
    rule(category=parking, urgency="normal", step=Step.HANDLE, working_hours=Decimal("4"))
    return {"street": street, "parking": parking, "stalls": stalls, "lamps": lamps}


def case_in(category, urgency="normal", **fields) -> Case:
    return Case.objects.create(code=f"C{Case.objects.count() + 1:04d}", title="t",
                               category=category, urgency=urgency, source="patrol", **fields)


def test_the_most_specific_rule_wins(categories):
    start = at(9, 30, 15)  # Wed before National Day, 2.5 h left that day
    # Own category: 4 h → 2.5 h on 30 Sep + 1.5 h on Thu 8 Oct → 10:30.
    assert deadline_for(case_in(categories["parking"]), Step.HANDLE, start) == at(10, 8, 10, 30)
    # Sibling without its own rule: the parent's 8 h → 2.5 + 5.5 → 8 Oct 16:00.
    assert deadline_for(case_in(categories["stalls"]), Step.HANDLE, start) == at(10, 8, 16)
    # Top-level category without a rule: the default 24 h → 2.5 + 7 (8 Oct) + 7 (9 Oct)
    # + 7 (Sat 10 Oct, make-up day) = 23.5, then 0.5 h on Mon 12 Oct → 09:30.
    assert deadline_for(case_in(categories["lamps"]), Step.HANDLE, start) == at(10, 12, 9, 30)


def test_urgency_selects_the_rule_and_none_without_one(categories):
    urgent = case_in(categories["parking"], urgency="urgent")
    # No urgent rule for the category or its parent: the urgent default, 8 h.
    assert rule_for(urgent, Step.HANDLE).category_id is None
    assert deadline_for(urgent, Step.HANDLE, at(9, 30, 15)) == at(10, 8, 16)
    assert deadline_for(case_in(categories["parking"], urgency="critical"), Step.HANDLE,
                        at(9, 30, 15)) is None
    assert deadline_for(urgent, Step.VERIFY, at(9, 30, 15)) is None


def test_start_defaults_to_now(categories):
    with clock.replaying(at(10, 13, 9)):
        assert deadline_for(case_in(categories["parking"]), Step.HANDLE) == at(10, 13, 14, 30)


def test_elapsed_ratio():
    start, due = at(10, 12, 9), at(10, 13, 12)  # Mon 09:00 + 10 h = Tue 12:00
    assert elapsed_ratio(start, due, at(10, 12, 17, 30)) == pytest.approx(0.7)
    assert elapsed_ratio(start, due, at(10, 13, 11)) == pytest.approx(0.9)
    assert elapsed_ratio(start, due, at(10, 13, 12, 30)) == pytest.approx(1.0)  # lunch
    assert elapsed_ratio(start, due, at(10, 13, 14, 30)) == pytest.approx(1.1)
    assert elapsed_ratio(start, due, at(10, 12, 8)) == 0
    # A zero-hour limit stays finite: one working day late is 2.0.
    assert elapsed_ratio(start, start, start) == 1.0
    assert elapsed_ratio(start, start, at(10, 13, 9)) == pytest.approx(2.0)


@pytest.mark.parametrize(("now", "light"), [
    (at(10, 12, 15), "green"),        # 5 h of 10
    (at(10, 13, 9, 30), "green"),     # 7.5 h
    (at(10, 13, 9, 59), "green"),     # just under 8 h
    (at(10, 13, 10), "yellow"),       # 8 h = 80 %
    (at(10, 13, 12), "yellow"),       # exactly due
    (at(10, 13, 12, 1), "red"),       # past due, though still in the lunch break
    (at(10, 14, 9), "red"),
])
def test_traffic_light(categories, now, light):
    case = case_in(categories["lamps"], state=State.HANDLING, step=Step.HANDLE,
                   step_started_at=at(10, 12, 9), due_at=at(10, 13, 12))
    assert traffic_light(case, now) == light


def test_overdue_over_a_weekend_is_red(categories):
    # Due Friday 17:30; on Saturday no working time has passed, but the deadline has.
    case = case_in(categories["lamps"], state=State.HANDLING, step=Step.HANDLE,
                   step_started_at=at(10, 16, 9), due_at=at(10, 16, 17, 30))
    assert traffic_light(case, at(10, 17, 10)) == "red"
    assert traffic_light(case, at(10, 16, 16, 30)) == "yellow"  # 6 h of 7


def test_no_light_without_a_running_deadline(categories):
    running = {"step": Step.HANDLE, "step_started_at": at(10, 12, 9), "due_at": at(10, 13, 12)}
    for state in (State.CLOSED, State.SUSPENDED, State.VOIDED):
        assert traffic_light(case_in(categories["lamps"], state=state, **running),
                             at(10, 14)) is None
    assert traffic_light(case_in(categories["lamps"], state=State.REPORTED), at(10, 14)) is None


def test_light_defaults_to_now(categories):
    case = case_in(categories["lamps"], state=State.HANDLING, step=Step.HANDLE,
                   step_started_at=at(10, 12, 9), due_at=at(10, 13, 12))
    with clock.replaying(at(10, 20, 9)):
        assert clock.now() == at(10, 20, 9)
        assert traffic_light(case) == "red"


def test_replayed_time_ends_with_its_block():
    with clock.replaying(at(10, 20, 9)):
        assert clock.now() == at(10, 20, 9)
    assert clock.now() != at(10, 20, 9)
    with pytest.raises(ValueError), clock.replaying(dt.datetime(2026, 10, 20, 9)):
        pass
