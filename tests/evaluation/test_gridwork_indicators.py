"""Grid workers' result indicators from grid work (issue 6 §4): problems solved, task targets
on time, key-care persons overdue for a visit — by hand on the week of conftest.py plus
targets and visits written with the ORM; and no indicator rewards paperwork.

gw_w1 (west grid 1), period 9-15 June 2025:
  targets due in the period: 4 hers (due 12 June: done on the 11th, done at 23:00 on the
  12th — local time, on time — done on the 13th — late — and 1 pending) + 1 unassigned in
  her grid (due the 14th, reported impossible that day) = 5 due, 3 on time; one more due
  on 20 June does not count.
  key-care persons (visit every 7 days) in her grid: P1 visited on 10 June (due the 17th),
  P2 visited on 1 June (due the 8th: overdue), P3 never visited since 5 June (overdue), P4
  well on 20 May and "not at home" on 12 June (overdue: the attempt does not count), P5
  tagged only from 20 June (not yet hers) → 4 care persons, 3 overdue.
gw_w2 (west grid 2): P6 visited on 14 June → 1 care person, none overdue; no targets.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.registry_fixtures import key_file  # noqa: F401 — sealed person fields
from wangge.accounts.models import Department
from wangge.cases.models import Case, Photo
from wangge.evaluation import service
from wangge.evaluation.indicators import (
    DERIVED,
    INDICATORS,
    RESULT_COUNTS,
    Unit,
    parse,
)
from wangge.gridwork.models import (
    MatterItem,
    MatterStatus,
    TargetKind,
    TargetStatus,
    Task,
    TaskKind,
    TaskTarget,
    Visit,
    VisitOutcome,
)
from wangge.registry.models import Person, PersonTag, TagDefinition

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
STREET = "370102001"
GRID1, GRID2 = "370102001001001", "370102001001002"
PERIOD = {"start": "2025-06-09", "end": "2025-06-15"}


def when(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=TZ)


@pytest.fixture
def grid_work(week, people, tree, clock):
    """Targets and visits for the two grid workers of the west community (see above),
    evaluated on 20 June, after the period."""
    gw1 = people.grid_worker
    dept = Department.objects.create(code="MZ", name="区民政局", region=tree["370102"])
    matter = MatterItem.objects.create(name="入户排查", department=dept, region=tree["370102"],
                                       basis="条例", duties="排查", frequency="monthly",
                                       status=MatterStatus.ADMITTED)
    task = Task.objects.create(kind=TaskKind.CAMPAIGN, title="排查", matter=matter,
                               department=dept, region=tree[STREET],
                               target_kind=TargetKind.HOUSEHOLD, starts_on=date(2025, 6, 1),
                               created_by=people.staff)
    grid1, grid2 = tree[GRID1], tree[GRID2]
    n = iter(range(1, 100))

    def target(assignee, due, status=TargetStatus.PENDING, done=None, grid=grid1):
        TaskTarget.objects.create(task=task, object_id=next(n), region=grid,
                                  region_path=grid.path, assignee=assignee, status=status,
                                  due_on=due, done_at=done, done_by=gw1 if done else None)

    target(gw1, date(2025, 6, 12), TargetStatus.DONE, when(6, 11))
    target(gw1, date(2025, 6, 12), TargetStatus.DONE, when(6, 12, 23))  # the due day itself
    target(gw1, date(2025, 6, 12), TargetStatus.DONE, when(6, 13))  # a day late
    target(gw1, date(2025, 6, 12))
    target(None, date(2025, 6, 14), TargetStatus.UNABLE, when(6, 14))
    target(gw1, date(2025, 6, 20), TargetStatus.DONE, when(6, 14))

    tag = TagDefinition.objects.create(code="elderly", name="独居老人", category="care",
                                       department=dept, holders=["grid_worker"],
                                       purpose="探访", visit_interval_days=7)

    def person(grid, since, *visits):
        p = Person.objects.create(region=grid)
        PersonTag.objects.create(person=p, tag=tag, region_path=grid.path, since=since)
        for at, outcome in visits:
            Visit.objects.create(person=p, tag=tag, region=grid, region_path=grid.path,
                                 visited_at=at, by=gw1, outcome=outcome)
        return p

    well, away = VisitOutcome.WELL, VisitOutcome.NOT_HOME
    person(grid1, date(2025, 5, 1), (when(6, 10), well))
    person(grid1, date(2025, 5, 1), (when(6, 1), well))
    person(grid1, date(2025, 6, 5))
    person(grid1, date(2025, 5, 1), (when(5, 20), well), (when(6, 12), away))
    person(grid1, date(2025, 6, 20))
    person(grid2, date(2025, 5, 1), (when(6, 14), well))
    clock.set(when(6, 20))
    return week


def test_overdue_is_counted_at_today_when_the_period_is_not_over(grid_work, people, clock):
    clock.set(when(6, 11))  # P1 (visited on the 10th) is fine; P2, P3, P4 are overdue
    data = service.indicator_values(people.command, "grid_worker", STREET, **PERIOD)
    assert _unit(data, "gw_w1")["overdue_visits"]["value"] == 3
    # On 4 June: P1 not visited since her tag (1 May) and P4 (due 27 May) are overdue; P2
    # (due the 8th) is not yet; P3 is tagged only from the 5th.
    clock.set(when(6, 4))
    data = service.indicator_values(people.command, "grid_worker", STREET, **PERIOD)
    card = _unit(data, "gw_w1")["overdue_visits"]
    assert card["value"] == 2


def _unit(data: dict, key: str) -> dict:
    unit = next(u for u in data["units"] if u["key"] == key)
    return {i["code"]: i for i in unit["indicators"]}


def test_result_indicators_by_hand(grid_work, people):
    data = service.indicator_values(people.command, "grid_worker", STREET, **PERIOD)
    w1 = _unit(data, "gw_w1")
    assert (w1["problems_solved"]["numerator"], w1["problems_solved"]["value"]) == (2, 2)
    rate = w1["targets_on_time_rate"]
    assert (rate["numerator"], rate["denominator"]) == (3, 5)
    assert rate["value"] == pytest.approx(0.6)
    assert w1["overdue_visits"]["value"] == 3
    w2 = _unit(data, "gw_w2")
    assert w2["targets_on_time_rate"]["value"] is None  # nothing was due
    assert w2["overdue_visits"]["value"] == 0 and w2["problems_solved"]["value"] == 0


def test_the_card_scores_them(grid_work, people):
    card = service.unit_card(people.command, "grid_worker", "gw_w1", STREET, **PERIOD)
    parts = {i["code"]: i for i in card["indicators"]}
    assert parts["targets_on_time_rate"]["score"] == pytest.approx(60)
    assert parts["overdue_visits"]["score"] == pytest.approx(25)  # 1 of 4 visited in time
    assert parts["problems_solved"]["score"] == 100  # the best of the two workers
    assert parts["overdue_visits"]["contribution"] > 0
    other = service.unit_card(people.command, "grid_worker", "gw_w2", STREET, **PERIOD)
    assert {i["code"]: i for i in other["indicators"]}["overdue_visits"]["score"] == 100


def _expand(formula: str) -> set[str]:
    names = set()
    for _, name in parse(formula):
        names |= _expand(DERIVED[name]) if name in DERIVED else {name}
    return names


def test_every_grid_worker_indicator_counts_results_only():
    worker = [i for i in INDICATORS if Unit.GRID_WORKER in i.units]
    assert {i.code for i in worker} >= {"problems_found", "fixed_on_spot", "problems_solved",
                                        "targets_on_time_rate", "overdue_visits",
                                        "satisfaction_rate", "verification_on_time_rate"}
    for i in worker:
        used = _expand(i.numerator)
        if i.denominator:
            used |= _expand(i.denominator)
        if i.norm.base:
            used |= _expand(i.norm.base)
        assert used <= RESULT_COUNTS, (i.code, used - RESULT_COUNTS)
    paperwork = ("photo", "record", "form", "upload", "attachment", "field")
    assert not [n for n in RESULT_COUNTS if any(p in n for p in paperwork)]


def test_photos_change_no_score(grid_work, people):
    before = (service.indicator_values(people.command, "grid_worker", STREET, **PERIOD),
              service.ranking(people.command, "grid_worker", STREET, **PERIOD))
    gw1 = people.grid_worker
    for i, case in enumerate(Case.objects.filter(reporter=gw1)):
        for k in range(5):
            Photo.objects.create(case=case, stored_name=f"extra-{i}-{k}.jpg",
                                 content_type="image/jpeg", size=1000, sha256="0" * 64,
                                 uploaded_by=gw1)
    assert Photo.objects.filter(uploaded_by=gw1).count() >= 10
    after = (service.indicator_values(people.command, "grid_worker", STREET, **PERIOD),
             service.ranking(people.command, "grid_worker", STREET, **PERIOD))
    assert after == before
