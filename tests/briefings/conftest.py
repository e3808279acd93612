"""A small history for briefings: cases driven through the real workflow on chosen days
(``core.clock.replaying``), so each kind of briefing has hand-countable figures and a
previous period to compare with.

Days (2026): D = Tue 10 March (the daily briefing), Mon 9 March (same week and month),
Wed 4 March (the week before, same month), 20 February (the month before).

Street 370102001 (west and east communities):
- A west, D 10:00 reported … handled, verified 12:00 (on time), rated 5 at 13:00
- B west, D 10:00 not registered
- E east, D 10:00 reported and registered (stays open)
- C west, 9 March 10:00 reported (stays open)
- G west, 4 March 09:00 reported … verified 15:00, rated 3
- H east, 20 February 10:00 reported (stays open)
Street 370102002: F, D 10:00 reported (never in the first street's figures).

Every step has a limit of 4 working hours; escalation runs at ``NOW`` (11 March 12:00), so
C, E and H are overdue when the briefings are generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.cases.conftest import (  # noqa: F401 — the case fixtures, shared
    IN_EAST,
    IN_SOUTH,
    categories,
    departments,
    flow,
    make_case,
    media,
    people,
    upload,
)
from wangge.accounts.services import set_phone
from wangge.cases import escalation
from wangge.cases.models import Case, DeadlineRule
from wangge.cases.services import transition
from wangge.core.clock import replaying
from wangge.figures import fold

STREET, OTHER_STREET = "370102001", "370102002"
WEST, EAST = "370102001001", "370102001002"
PHONE = "139 0531 0001"
PHONE_FORMS = ("13905310001", "139 0531 0001", "139****0001", "0531 0001")
REQUESTER_NAME = "王秀英"
REPORTER_NAME = "李网格员"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour, minute))


D = at(3, 10, 0).date()
NOW = at(3, 11, 12)


@dataclass
class History:
    cases: dict[str, Case]

    def __getitem__(self, key: str) -> Case:
        return self.cases[key]


@pytest.fixture
def personal(people):  # noqa: F811 — the shared fixture
    """A requester with a phone and a name, and a reporter with a name: what must never
    reach a briefing or the public page."""
    people.resident.display_name = REQUESTER_NAME
    set_phone(people.resident, PHONE)
    people.resident.save()
    people.grid_worker.display_name = REPORTER_NAME
    people.grid_worker.save()
    return people


@pytest.fixture
def history(people, personal, flow, make_case, categories) -> History:  # noqa: F811
    for step in ("register", "dispatch", "accept", "handle", "verify", "report_in"):
        DeadlineRule.objects.create(category=None, urgency="normal", step=step,
                                    working_hours=Decimal("4"))

    def act(case, when, *actions, actor=None):
        with replaying(when):
            for action in actions:
                case = flow.act(case, action, actor=actor)
        return case

    def report(when, **fields):
        with replaying(when):
            return make_case(**fields)

    cases = {}
    a = report(at(3, 10, 10), title="A 路灯不亮")
    a = act(a, at(3, 10, 10, 30), "register", "dispatch", "accept", "handle")
    a = act(a, at(3, 10, 12), "verify")
    with replaying(at(3, 10, 13)):
        cases["A"] = transition(people.resident, a.pk, "rate", rating=5, comment="好")
    cases["B"] = act(report(at(3, 10, 10), title="B 重复上报"), at(3, 10, 10, 5), "reject")
    # Filed by the grid worker for the resident (反映人): her phone links her as requester.
    e = report(at(3, 10, 10), actor=people.grid_worker, title="E 井盖缺失",
               category="road.manhole", lon=IN_EAST[0], lat=IN_EAST[1], contact_phone=PHONE,
               address="历下区东关大街88号3单元", description=f"联系人{REQUESTER_NAME} {PHONE}")
    cases["E"] = act(e, at(3, 10, 10, 10), "register", actor=people.other_staff)
    cases["C"] = report(at(3, 9, 10), title="C 垃圾堆放",
                        address="解放路12号", description=f"电话{PHONE}")
    g = report(at(3, 4, 9), title="G 小广告")
    g = act(g, at(3, 4, 9, 30), "register", "dispatch", "accept", "handle")
    g = act(g, at(3, 4, 15), "verify")
    with replaying(at(3, 4, 16)):
        cases["G"] = transition(people.resident, g.pk, "rate", rating=3, comment="一般")
    cases["H"] = report(at(2, 20, 10), title="H 占道经营", lon=IN_EAST[0], lat=IN_EAST[1])
    cases["F"] = report(at(3, 10, 10), title="F 别的街道", lon=IN_SOUTH[0], lat=IN_SOUTH[1])
    escalation.escalate_overdue(now=NOW)
    fold.fold_all()
    return History({k: Case.objects.get(pk=v.pk) for k, v in cases.items()})
