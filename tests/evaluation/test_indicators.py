"""Every indicator against hand-computed values on the week of conftest.py, for a street, its
communities, a department and grid workers; the tallies and a raw recount agree.

The week, by hand (all in the street 370102001; F alone in the east community):

  reported 10 (A-J) · invalid 2 (B not registered, H voided while reported) · fixed on the
  spot 1 (D) · registered 7 (A C E F G I J), late 1 (C: 3 working h of 2); seconds to
  register A 3600 + C 14400 + five × 1800 = 27000 · registered then voided 1 (I)
  dispatched 6 (A C E F G J) · returned 1 (C) · reworked 1 (E)
  handled 5 = A, D (on the spot), E twice, J; late 1 (E: 8 working h of 7); seconds of
  handling A 14400 + E 90000 + E 7200 + J 3600 = 115200 over 4 handlings by departments
  verified 4 (A D E J), late 1 (D: 7 working h of 2) · closed 4, on time 2 (A J)
  extended 1 (G) · suspended 1 (F) · reopened 1 (J) · rated 2 (A 5, J 1), satisfied 1
"""

from __future__ import annotations

import pytest

from wangge.evaluation import service
from wangge.evaluation.indicators import DERIVED, INDICATORS, count, parse
from wangge.figures import fold

pytestmark = pytest.mark.django_db

STREET, WEST, EAST = "370102001", "370102001001", "370102001002"
PERIOD = {"start": "2025-06-09", "end": "2025-06-15"}

STREET_VALUES = {
    "registration_rate": 7 / 7,  # registered ÷ (reported 10 − invalid 2 − on the spot 1)
    "registration_on_time_rate": 6 / 7,
    "dispatch_accuracy": 5 / 6,
    "handling_rate": 4 / 6,  # by departments 4 ÷ (dispatched 6 − returned 1 + rework 1)
    "handling_on_time_rate": 3 / 6,
    "late_handlings": 1,
    "rework_rate": 1 / 5,
    "extension_rate": 1 / 6,
    "closure_rate": 4 / 8,  # closed ÷ (registered 7 + on the spot 1 + reopened 1 − voided 1)
    "closure_on_time_rate": 2 / 7,  # … − suspended 1
    "verification_pass_rate": 4 / 5,
    "verification_on_time_rate": 4 / 5,
    "valid_report_rate": 8 / 10,
    "avg_registration_hours": 27000 / 7 / 3600,
    "avg_handling_hours": 115200 / 4 / 3600,  # 8.0
    "satisfaction_rate": 1 / 2,
}


def _values(data: dict, key: str) -> dict:
    unit = next(u for u in data["units"] if u["key"] == key)
    return {i["code"]: i["value"] for i in unit["indicators"]}


def _check(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for code, value in expected.items():
        if value is None:
            assert got[code] is None, code
        else:
            assert got[code] == pytest.approx(value, abs=1e-4), code


def test_every_indicator_of_a_street_by_hand(week, people):
    for folded in (False, True):  # from the journal, and from the folded tallies
        if folded:
            fold.fold_all()
        data = service.indicator_values(people.command, "street", "370102", **PERIOD)
        assert [u["key"] for u in data["units"]] == [STREET, "370102002"]
        _check(_values(data, STREET), STREET_VALUES)
        # The other street had nothing: every rate is undefined, every count zero.
        quiet = _values(data, "370102002")
        assert quiet["late_handlings"] == 0
        assert all(v is None for k, v in quiet.items() if k != "late_handlings")
        street = next(u for u in data["units"] if u["key"] == STREET)
        closure = next(i for i in street["indicators"] if i["code"] == "closure_on_time_rate")
        assert (closure["numerator"], closure["denominator"]) == (2, 7)
        assert "缓办" in closure["definition"]


def test_communities_by_hand(week, people):
    data = service.indicator_values(people.command, "community", STREET, **PERIOD)
    west = dict(STREET_VALUES, **{
        "registration_rate": 6 / 6, "registration_on_time_rate": 5 / 6,
        "dispatch_accuracy": 4 / 5, "handling_rate": 4 / 5, "handling_on_time_rate": 3 / 5,
        "extension_rate": 1 / 5, "closure_rate": 4 / 7, "closure_on_time_rate": 2 / 7,
        "valid_report_rate": 7 / 9, "avg_registration_hours": 25200 / 6 / 3600})
    _check(_values(data, WEST), west)
    east = _values(data, EAST)
    assert east["registration_rate"] == 1 and east["closure_rate"] == 0
    assert east["closure_on_time_rate"] is None  # due 1 − suspended 1: nothing was due
    assert east["handling_rate"] == 0 and east["satisfaction_rate"] is None


def test_a_department_by_hand(week, people):
    data = service.indicator_values(people.command, "department", STREET, **PERIOD)
    assert [u["key"] for u in data["units"]] == []  # CG serves the district, not the street
    data = service.indicator_values(people.command, "department", "370102", **PERIOD)
    assert [u["key"] for u in data["units"]] == ["CG", "QF", "SW", "ZJ"]
    # CG's work: every dispatch led, the return, handlings, the rework and closures after its
    # handling, the extension and suspension of its cases, the ratings of its cases.
    _check(_values(data, "CG"), {
        "dispatch_accuracy": 5 / 6, "handling_rate": 4 / 6, "handling_on_time_rate": 3 / 6,
        "late_handlings": 1, "rework_rate": 1 / 4, "extension_rate": 1 / 6,
        "verification_pass_rate": 3 / 4, "avg_handling_hours": 8.0,
        "satisfaction_rate": 1 / 2})
    assert _values(data, "ZJ")["dispatch_accuracy"] is None  # assisted, never led


def test_grid_workers_by_hand(week, people):
    data = service.indicator_values(people.command, "grid_worker", STREET, **PERIOD)
    assert [u["key"] for u in data["units"]] == ["gw_w1", "gw_w2"]
    # gw_w1 found D (fixed on the spot) and E; verified A, E and J, sent E back once, all
    # within the time limit; nobody rated what she found.
    # Both D and E were closed this week: two problems solved. No task targets were due and
    # nobody in their grids needs visits: no rate, no overdue visit.
    _check(_values(data, "gw_w1"), {
        "problems_found": 2, "fixed_on_spot": 1, "valid_report_rate": 1.0,
        "verification_on_time_rate": 1.0, "satisfaction_rate": None, "problems_solved": 2,
        "targets_on_time_rate": None, "overdue_visits": 0})
    _check(_values(data, "gw_w2"), {
        "problems_found": 0, "fixed_on_spot": 0, "valid_report_rate": None,
        "verification_on_time_rate": None, "satisfaction_rate": None, "problems_solved": 0,
        "targets_on_time_rate": None, "overdue_visits": 0})


def test_a_period_without_the_week_is_empty(week, people):
    data = service.indicator_values(people.command, "street", "370102", start="2025-06-02",
                                    end="2025-06-08")
    assert _values(data, STREET)["late_handlings"] == 0
    assert _values(data, STREET)["satisfaction_rate"] is None


@pytest.mark.parametrize("kind, node", [("street", "370102"), ("community", STREET),
                                        ("department", "370102")])
def test_tallies_and_a_raw_recount_agree(week, people, kind, node):
    for folded in (False, True):
        if folded:
            fold.fold_all()
        kept = service.indicator_values(people.command, kind, node, **PERIOD)
        raw = service.indicator_values(people.command, kind, node, raw=True, **PERIOD)
        assert kept == raw


def test_the_formulas_are_data_over_known_counts():
    for name, formula in DERIVED.items():
        assert parse(formula), name
    for i in INDICATORS:
        parse(i.numerator)
        if i.denominator:
            parse(i.denominator)
        assert i.unit in ("%", "count", "hours") and i.direction in ("higher", "lower")
        assert str(i.definition) and i.zh and str(i.en)
    assert count("registered + self_handled + reopened - withdrawn",
                 {"registered": 7, "self_handled": 1, "reopened": 1, "withdrawn": 1}) == 8
    with pytest.raises(ValueError, match="photos"):
        parse("reported - photos")
    assert {i.zh for i in INDICATORS} >= {
        "立案率", "按时立案率", "派遣准确率", "处置率", "按期处置率", "超期处置", "返工率",
        "延期率", "结案率", "按期结案率", "核查通过率", "有效上报率", "平均受理时长",
        "平均处置时长", "群众满意率"}
