"""A hand-countable week in the west street, driven through the real workflow engine on a
controlled clock (Monday 9 June 2025, a working day; working hours 09:00-12:00, 13:30-17:30).

Time limits (all steps, normal urgency): registration 2 h, dispatch 2 h, acceptance 2 h,
handling 7 h (one working day), verification 2 h — in working hours.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.cases.conftest import (  # noqa: F401 — the case fixtures, shared
    IN_EAST,
    _english,
    _quick_password_hashing,
    categories,
    departments,
    flow,
    make_case,
    media,
    people,
    upload,
)
from tests.figures.conftest import clock  # noqa: F401
from wangge.cases.models import DeadlineRule

TZ = ZoneInfo("Asia/Shanghai")
LIMITS = {"register": 2, "dispatch": 2, "accept": 2, "report_in": 2, "handle": 7, "verify": 2}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in June 2025, Shanghai time."""
    return datetime(2025, 6, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def limits(db):
    for step, hours in LIMITS.items():
        DeadlineRule.objects.create(category=None, urgency="normal", step=step,
                                    working_hours=Decimal(hours))


class Script:
    """Acts on cases at set times: ``do(case, action, at(...), actor=None, **inputs)``."""

    def __init__(self, driver, moving_clock, new_case) -> None:
        self.flow, self.clock, self.make_case = driver, moving_clock, new_case

    def report(self, when: datetime, **fields):
        self.clock.set(when)
        return self.make_case(**fields)

    def do(self, case, action: str, when: datetime, actor=None, **inputs):
        self.clock.set(when)
        return self.flow.act(case, action, actor, **inputs)

    def run(self, case, *steps):
        """steps: (action, when) or (action, when, actor) or (action, when, actor, inputs)."""
        for step in steps:
            action, when, *rest = step
            actor = rest[0] if rest else None
            inputs = rest[1] if len(rest) > 1 else {}
            case = self.do(case, action, when, actor, **inputs)
        return case


@pytest.fixture
def script(flow, clock, make_case, limits) -> Script:  # noqa: F811
    return Script(flow, clock, make_case)


@pytest.fixture
def week(script, people):  # noqa: F811
    """Ten cases reported on Monday 9 June at 09:00 (nine in the west community, F in the
    east one), taken through the loop on Monday and Tuesday. See test_indicators.py for the
    counts they make."""
    s, p = script, people
    mon, tue = 9, 10
    gw, staff, street = p.grid_worker, p.staff, p.street_staff
    c = {}
    for name in "ABCGHIJ":
        c[name] = s.report(at(mon, 9), title=f"案件{name}")
    c["D"] = s.report(at(mon, 9), actor=gw, title="案件D", self_handled=True,
                      photos=[s.flow.upload(gw).pk], note="当场清理")
    c["F"] = s.report(at(mon, 9), actor=p.other_resident, title="案件F", lon=IN_EAST[0],
                      lat=IN_EAST[1])
    c["E"] = s.report(at(mon, 9), actor=gw, title="案件E")
    # A: registered in 1 h, handled in 4 h (2.5 working h of 7), verified, rated 5.
    s.run(c["A"], ("register", at(mon, 10)), ("dispatch", at(mon, 10)),
          ("accept", at(mon, 10, 30)), ("handle", at(mon, 14, 30)), ("verify", at(mon, 15)),
          ("rate", at(mon, 15, 10), None, {"rating": 5}))
    s.do(c["B"], "reject", at(mon, 9, 30))
    # C: registered at 13:00 — 3 working hours of 2: late; dispatched, returned by CG.
    s.run(c["C"], ("register", at(mon, 13)), ("dispatch", at(mon, 13)),
          ("return", at(mon, 14)))
    # D: fixed on the spot by the grid worker; verified by staff next morning: late.
    s.do(c["D"], "verify", at(tue, 9), staff)
    # E: handled Tuesday 11:00 — 8 working hours of 7: late; sent back; handled again, closed.
    s.run(c["E"], ("register", at(mon, 9, 30)), ("dispatch", at(mon, 9, 30)),
          ("accept", at(mon, 10)), ("handle", at(tue, 11)), ("rework", at(tue, 11, 30)),
          ("handle", at(tue, 13, 30)), ("verify", at(tue, 14)))
    # F (east community): suspended by the street.
    s.run(c["F"], ("register", at(mon, 9, 30), street), ("dispatch", at(mon, 9, 30), street),
          ("accept", at(mon, 10)), ("request_suspension", at(mon, 10, 30)),
          ("approve_suspension", at(mon, 11), street))
    # G: extended.
    s.run(c["G"], ("register", at(mon, 9, 30)), ("dispatch", at(mon, 9, 30)),
          ("accept", at(mon, 10)), ("request_extension", at(mon, 10, 30)),
          ("approve_extension", at(mon, 11)))
    s.do(c["H"], "void", at(mon, 9, 30))  # voided while only reported: an invalid report
    s.run(c["I"], ("register", at(mon, 9, 30)), ("void", at(mon, 10)))  # registered, voided
    # J: closed on time, rated 1, reopened after review.
    s.run(c["J"], ("register", at(mon, 9, 30)), ("dispatch", at(mon, 9, 30)),
          ("accept", at(mon, 10)), ("handle", at(mon, 11)), ("verify", at(mon, 11, 30)),
          ("rate", at(mon, 12), None, {"rating": 1}), ("reopen", at(mon, 12)))
    return c
