"""A hand-countable city for the workload and staffing tests: May 2026 (31 days) in the west
street of ``tests.factories.build_tree`` — two communities, four grids — written with the ORM.

Grids (households; kind; grid workers):

  W1 西社区第一网格 370102001001001 — registry: 6 buildings × 100 households along its long
     (east-west) axis + 2 households without a building = 602; residential; worker w1
  W2 西社区第二网格 370102001001002 — declared 380 (no registry rows); residential; w2
  E1 东社区第一网格 370102001002001 — declared 100; commercial (norm 300); e1
  E2 东社区第二网格 370102001002002 — registry 3 households; residential; e2

Work in May (outside May nothing counts):

  w1: reports 6 cases in W1 (2 fixed on the spot), verifies 2 and sends 1 back (W1 cases);
      20 targets done + 4 impossible in W1; 10 visits in W1; patrols 3 h + 1.5 h (one more
      never ended, one in April). Hours: (6×20 + 2×30 + 3×20 + 20×15 + 4×10 + 10×30)/60
      + 4.5 = 880/60 + 4.5.
  w2: reports 1 case in W2; verifies 1 case lying in W1.
  e1: 10 targets done in E1; 40 visits in E1; 10 patrols of 3 h. Hours: (150 + 1200)/60 + 30.
  Not counted: a resident's reports, a staff verification, work in April.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import make_user
from wangge.accounts.models import Department
from wangge.accounts.roles import Role
from wangge.cases.models import Case, CaseEvent, Category, CategoryKind
from wangge.gridwork.models import (
    MatterItem,
    MatterStatus,
    Patrol,
    TargetKind,
    TargetStatus,
    Task,
    TaskKind,
    TaskTarget,
    Visit,
    VisitOutcome,
)
from wangge.registry.models import Building, House, Household, Person, TagDefinition

TZ = ZoneInfo("Asia/Shanghai")
MAY = "2026-05"
W1, W2 = "370102001001001", "370102001001002"
E1, E2 = "370102001002001", "370102001002002"
WEST, EAST, STREET = "370102001001", "370102001002", "370102001"
W1_HOURS = 880 / 60 + 4.5
E1_HOURS = (10 * 15 + 40 * 30) / 60 + 30
CAPACITY = 120 * 31 / 30  # field hours of one worker in May

_seq = itertools.count(1)


def at(day: int, hour: int = 10, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


@dataclass
class City:
    tree: object
    workers: dict = field(default_factory=dict)
    task: Task | None = None
    tag: TagDefinition | None = None
    category: Category | None = None
    resident: object = None
    staff: object = None

    def case(self, grid: str, reporter, when: datetime, *, self_fix: bool = False) -> Case:
        region = self.tree[grid]
        n = next(_seq)
        case = Case.objects.create(code=f"T{n:06d}", title=f"案件{n}", category=self.category,
                                   source="patrol" if reporter.role == Role.GRID_WORKER
                                   else "resident", region=region, region_path=region.path,
                                   reporter=reporter, created_at=when)
        self.event(case, "report", reporter, when)
        if self_fix:
            self.event(case, "self_handle", reporter, when)
        return case

    @staticmethod
    def event(case: Case, action: str, actor, when: datetime) -> CaseEvent:
        return CaseEvent.objects.create(case=case, action=action, actor=actor,
                                        actor_name=actor.username, actor_role=actor.role,
                                        at=when)

    def targets(self, grid: str, worker, n: int, status: str, when: datetime | None,
                due: date | None = None) -> None:
        region = self.tree[grid]
        TaskTarget.objects.bulk_create([TaskTarget(
            task=self.task, object_id=next(_seq), label=f"对象{i}", region=region,
            region_path=region.path, assignee=worker, status=status, due_on=due,
            done_at=when, done_by=worker if when else None) for i in range(n)])

    def visits(self, grid: str, worker, n: int, when: datetime, person=None,
               outcome: str = VisitOutcome.WELL) -> None:
        region = self.tree[grid]
        person = person or Person.objects.create(region=region)
        Visit.objects.bulk_create([Visit(
            person=person, tag=self.tag, region=region, region_path=region.path,
            visited_at=when + timedelta(minutes=i), by=worker, outcome=outcome)
            for i in range(n)])

    def patrol(self, grid: str, worker, start: datetime, hours: float | None) -> Patrol:
        region = self.tree[grid]
        return Patrol.objects.create(
            worker=worker, region=region, region_path=region.path, started_at=start,
            ended_at=start + timedelta(hours=hours) if hours is not None else None,
            client_key=f"p{next(_seq)}")


def _households(grid, buildings: list[tuple[float, float, int]], loose: int) -> None:
    for i, (lon, lat, n) in enumerate(buildings):
        b = Building.objects.create(region=grid, name=f"{i + 1}号楼", address=f"测试路{i + 1}号",
                                    lon=lon, lat=lat)
        house = House.objects.create(region=grid, building=b, label=f"{i + 1}-101")
        Household.objects.bulk_create([Household(region=grid, region_path=grid.path,
                                                 number=f"H{grid.code[-3:]}{i}-{k}",
                                                 house=house) for k in range(n)])
    Household.objects.bulk_create([Household(region=grid, region_path=grid.path,
                                             number=f"L{grid.code}-{k}") for k in range(loose)])


@pytest.fixture
def city(tree, settings) -> City:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed
    t = tree
    e1 = t[E1]
    e1.attributes = {**e1.attributes, "households": 100}
    e1.save(update_fields=["attributes"])
    c = City(tree=t)
    c.category = Category.objects.create(code="env", name="市容环境", kind=CategoryKind.EVENT)
    dept = Department.objects.create(code="MZ", name="区民政局", region=t["370102"])
    creator = make_user("mz_h", Role.HANDLER, t["370102"], dept)
    matter = MatterItem.objects.create(name="入户走访", department=dept, region=t["370102"],
                                       basis="条例", duties="走访", frequency="monthly",
                                       status=MatterStatus.ADMITTED)
    c.task = Task.objects.create(kind=TaskKind.CAMPAIGN, title="排查", matter=matter,
                                 department=dept, region=t[STREET],
                                 target_kind=TargetKind.HOUSEHOLD, starts_on=date(2026, 4, 1),
                                 created_by=creator)
    c.tag = TagDefinition.objects.create(code="elderly", name="独居老人", category="care",
                                         department=dept, holders=["grid_worker"],
                                         purpose="探访", visit_interval_days=30)
    w = c.workers
    for name, grid in (("w1", W1), ("w2", W2), ("e1", E1), ("e2", E2)):
        w[name] = make_user(name, Role.GRID_WORKER, t[grid])
    c.resident = make_user("res", Role.RESIDENT, None)
    c.staff = make_user("west_staff_c", Role.STAFF, t[WEST])

    _households(t[W1], [(117.002, 36.605, 100), (117.004, 36.605, 100),
                        (117.006, 36.605, 100), (117.012, 36.605, 100),
                        (117.015, 36.605, 100), (117.018, 36.605, 100)], loose=2)
    _households(t[E2], [], loose=3)

    # w1's cases and verifications in W1.
    for day in range(3, 9):
        c.case(W1, w["w1"], at(day), self_fix=day in (3, 4))
    c.case(W1, w["w1"], datetime(2026, 4, 30, 23, tzinfo=TZ))  # April: not counted
    by_resident = [c.case(W1, c.resident, at(10)) for _ in range(3)]
    c.event(by_resident[0], "verify", w["w1"], at(12))
    c.event(by_resident[1], "verify", w["w1"], at(12, 11))
    c.event(by_resident[2], "rework", w["w1"], at(12, 12))
    c.event(by_resident[2], "verify", c.staff, at(13))  # staff: not a grid worker's work
    c.event(by_resident[1], "verify", w["w2"], at(14))  # w2 verifies a case lying in W1
    c.case(W2, w["w2"], at(15))

    c.targets(W1, w["w1"], 20, TargetStatus.DONE, at(20))
    c.targets(W1, w["w1"], 4, TargetStatus.UNABLE, at(20))
    c.targets(W1, w["w1"], 5, TargetStatus.PENDING, None)
    c.targets(W1, w["w1"], 3, TargetStatus.DONE, at(28, month=4))
    c.targets(E1, w["e1"], 10, TargetStatus.DONE, at(21))

    c.visits(W1, w["w1"], 10, at(22))
    c.visits(E1, w["e1"], 40, at(23))

    c.patrol(W1, w["w1"], at(5, 8), 3)
    c.patrol(W1, w["w1"], at(6, 8), 1.5)
    c.patrol(W1, w["w1"], at(7, 8), None)  # never ended: no time
    c.patrol(W1, w["w1"], at(20, 8, month=4), 2)  # April
    for day in range(1, 11):
        c.patrol(E1, w["e1"], at(day, 8), 3)
    return c


@pytest.fixture
def command(city):
    """The district's command centre: reads every grid of the known city."""
    return make_user("lx_cmd", Role.COMMAND, city.tree["370102"])


def by_key(rows) -> dict:
    """Rows of a workload or staffing table by their key (a worker's or an area's)."""
    return {r["key"]: r for r in rows}
