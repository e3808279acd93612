"""A small city of cases for the command tests (fixtures re-exported by conftest)."""

from decimal import Decimal

import pytest

from tests.cases.conftest import IN_EAST, IN_SOUTH
from wangge.cases.models import DeadlineRule
from wangge.cases.services import transition

STREET, WEST, EAST = "370102001", "370102001001", "370102001002"
OTHER_STREET = "370102002"
# Personal data on case D: none of it may reach a map layer.
PHONE = "13905310001"
MASKED = "139****0001"
TITLE_D = "张三家门口垃圾"
ADDRESS_D = "解放路12号3单元"


@pytest.fixture
def deadlines(db):
    for step in ("register", "dispatch", "accept", "handle", "verify", "report_in"):
        DeadlineRule.objects.create(category=None, urgency="normal", step=step,
                                    working_hours=Decimal("4"))


def _loop(flow, case, *actions):
    for action in actions:
        case = flow.act(case, action)
    return case


@pytest.fixture
def small_city(flow, people, make_case, deadlines):
    """Four cases in the west community, one in the east, one in the other street.

    A: closed and rated 5; B: not registered; C: returned to registration; D: reported by
    the grid worker for a resident (phone, title and address are personal); E: reported in
    the east community; F: reported in the other street.
    """
    a = _loop(flow, make_case(title="A"), "register", "dispatch", "accept", "handle",
              "verify")
    a = transition(people.resident, a.pk, "rate", rating=5, comment="好")
    b = _loop(flow, make_case(title="B"), "reject")
    c = _loop(flow, make_case(title="C"), "register", "dispatch", "return")
    d = make_case(actor=people.grid_worker, title=TITLE_D, address=ADDRESS_D,
                  contact_phone=PHONE)
    e = make_case(title="E", lon=IN_EAST[0], lat=IN_EAST[1])
    f = make_case(title="F", lon=IN_SOUTH[0], lat=IN_SOUTH[1])
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}
