"""Grid work in the demo city — 网格事项、任务、走访、巡查: what a district looks like after a
season of it.

Everything goes through the services a user's click would call (apply, decide, create,
launch, complete, record a visit, patrol), so the demo shows the same audit trail, tallies
and receipts as real use. What is seeded is declared below as data; ``seed_gridwork`` only
walks the declarations.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from wangge.accounts.models import User
from wangge.accounts.roles import Role
from wangge.core.clock import replaying
from wangge.regions.models import Level, Region

from . import service as matters
from .models import COUNTS_AS_VISIT, Frequency, TargetKind, TaskKind, TaskTarget, VisitOutcome


@dataclass(frozen=True)
class DemoItem:
    """One matter a district department asks of grids, and how far the district got with it."""

    department: str  # demo department suffix (GA, MZ …)
    name: str
    basis: str
    duties: str
    frequency: str
    fields: tuple[str, ...]
    # The steps taken after applying, each (action, note).
    steps: tuple[tuple[str, str], ...] = (("admit", "符合网格事项准入条件。"),)


ITEMS: tuple[DemoItem, ...] = (
    DemoItem("MZ", "独居老人定期走访",
             "《中华人民共和国老年人权益保障法》；省民政厅关于特殊困难老年人探访关爱服务的通知",
             "按标签约定的间隔上门或电话探访独居、空巢老人，了解身体和生活状况，发现困难及时上报。",
             Frequency.MONTHLY, ("health_note", "living_alone", "check_note")),
    DemoItem("GA", "出租房屋和流动人口排查", "《居住证暂行条例》；《山东省流动人口服务管理条例》",
             "逐户核实出租房屋的实住人数，发现未登记流动人口提醒其登记。",
             Frequency.QUARTERLY, ("residents_present", "check_note")),
    DemoItem("ZJ", "居民燃气安全入户排查", "《城镇燃气管理条例》；城镇燃气安全专项整治工作方案",
             "入户查看燃气软管、报警器和通风情况，登记隐患并告知住户整改。",
             Frequency.YEARLY, ("gas_safety_hazard", "residents_present", "check_note")),
    DemoItem("YJ", "重点场所消防安全检查", "《中华人民共和国消防法》；《山东省消防条例》",
             "每月检查农贸市场、养老机构、危化品场所和工地的灭火器和疏散通道。",
             Frequency.MONTHLY, ("fire_extinguishers_ok", "fire_check_passed", "check_note")),
    DemoItem("ZJ", "房屋结构安全隐患排查", "《城市危险房屋管理规定》",
             "逐栋查看楼栋外观、消防通道，发现裂缝、倾斜等隐患拍照上报。",
             Frequency.YEARLY, ("structure_hazard", "fire_exits_clear", "check_note")),
    DemoItem("CG", "汛前积水点和下水道隐患排查", "《城镇排水与污水处理条例》",
             "汛期前巡查网格内易积水点、雨水井，统计隐患数量。",
             Frequency.YEARLY, ("hazards_found", "check_note")),
    DemoItem("SJ", "食品经营户台账核对", "《中华人民共和国食品安全法》",
             "核对辖区食品经营户的许可证和台账。", Frequency.QUARTERLY, ("check_note",),
             steps=()),  # applied, waiting for the district's review
    DemoItem("SW", "河道水位每日报送", "《山东省河湖长制规定》",
             "每日到河道查看水位并拍照报送。", Frequency.DAILY, ("check_note",),
             steps=(("refuse", "水位由水文站自动监测，不宜交由网格员每日报送。"),)),
    DemoItem("HB", "秸秆焚烧巡查", "《中华人民共和国大气污染防治法》",
             "夏收、秋收期间巡查秸秆焚烧。", Frequency.ON_DEMAND, ("hazards_found",),
             steps=(("admit", "准入。"), ("apply_exit", "城区已无农田，申请退出。"),
                    ("approve_exit", "同意退出。"))),
)


@dataclass(frozen=True)
class DemoTask:
    """A task a department sent on one of the items above, and how much of it is done."""

    item: str
    kind: str
    title: str
    target_kind: str
    started_days_ago: int
    due_in_days: int | None
    done_share: float  # of the targets, done by their grid worker
    unable_share: float = 0.0
    recurrence: str = ""
    target_filter: dict = field(default_factory=dict)
    # Only the n-th community of the district (by code), or the whole district (None).
    community: int | None = None
    launch: bool = True


TASKS: tuple[DemoTask, ...] = (
    DemoTask("出租房屋和流动人口排查", TaskKind.CAMPAIGN, "第四季度出租房屋拉网式排查",
             TargetKind.HOUSEHOLD, 20, 10, 0.62, 0.05, community=0),
    DemoTask("居民燃气安全入户排查", TaskKind.CAMPAIGN, "冬季燃气安全入户排查",
             TargetKind.HOUSEHOLD, 5, 25, 0.12, 0.02, community=2),
    DemoTask("重点场所消防安全检查", TaskKind.INSPECTION, "重点场所月度消防检查",
             TargetKind.PLACE, 40, None, 0.5, recurrence=Frequency.MONTHLY,
             target_filter={"place_kinds": ["market", "elderly_care", "hazchem",
                                            "construction"]}),
    DemoTask("汛前积水点和下水道隐患排查", TaskKind.TASK, "入冬前雨水井和积水点复查",
             TargetKind.GRID, 7, 3, 0.7),
    DemoTask("房屋结构安全隐患排查", TaskKind.CAMPAIGN, "老旧楼栋结构安全排查（草稿）",
             TargetKind.BUILDING, 0, 60, 0.0, launch=False),
)

# Answers a grid worker gives, per field, drawn at random (the first is the common one).
ANSWERS: dict[str, tuple[str, ...]] = {
    "residents_present": ("3", "2", "4", "1", "5"),
    "gas_safety_hazard": ("no", "no", "no", "yes"),
    "structure_hazard": ("no", "no", "yes"),
    "fire_exits_clear": ("yes", "yes", "no"),
    "fire_extinguishers_ok": ("yes", "yes", "yes", "no"),
    "fire_check_passed": ("yes", "yes", "no"),
    "hazards_found": ("0", "1", "2", "0"),
    "health_note": ("身体良好", "行动不便", "高血压，按时服药"),
    "living_alone": ("yes",),
    "check_note": ("已核实", "已告知住户", "正常"),
}
UNABLE_NOTES = ("多次上门无人", "住户拒绝配合", "房屋已拆除")
PATROLS_PER_WORKER = 5
PATROL_POINTS = 24


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _department_handler(suffix: str) -> User | None:
    return _user(f"handler_{suffix.lower()}")


def _key(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128)).hex


def seed_items(district: Region, reviewer: User, progress: Callable[[str], None]) -> dict:
    """The matters list: applied by each department, then decided as declared."""
    items = {}
    for spec in ITEMS:
        applicant = _department_handler(spec.department)
        if applicant is None:
            continue
        item = matters.apply(applicant, matters.Application(
            name=spec.name, basis=spec.basis, duties=spec.duties, frequency=spec.frequency,
            fields=spec.fields))
        for action, note in spec.steps:
            actor = applicant if action == "apply_exit" else reviewer
            on = timezone.localdate() - datetime.timedelta(days=60) if action == "admit" \
                else None
            item = matters.decide(actor, item.pk, action, note, on=on)
        items[spec.name] = item
    progress(f"  grid matters: {len(items)} items")
    return items


def _answer(task, rng: random.Random) -> dict[str, str]:
    return {code: rng.choice(ANSWERS.get(code, ("正常",))) for code in task.fields}


def seed_tasks(district: Region, items: dict, rng: random.Random,
               progress: Callable[[str], None]) -> dict[str, int]:
    """Tasks on the admitted items, launched, and partly done by the grids' workers."""
    from .tasks import completion
    from .tasks import service as tasks

    communities = list(Region.objects.filter(level=Level.COMMUNITY,
                                             path__startswith=district.path)
                       .order_by("code")[:3])
    counts = {"tasks": 0, "targets": 0, "done": 0}
    today = timezone.localdate()
    for spec in TASKS:
        item = items.get(spec.item)
        sender = _department_handler(item.department.code.rsplit("-", 1)[1]) if item else None
        if sender is None:
            continue
        task = tasks.create_task(
            sender, kind=spec.kind, title=spec.title, matter_id=item.pk,
            region_id=district.pk, target_kind=spec.target_kind,
            starts_on=today - datetime.timedelta(days=spec.started_days_ago),
            due_on=(today + datetime.timedelta(days=spec.due_in_days)
                    if spec.due_in_days is not None else None),
            areas=[communities[spec.community].pk] if spec.community is not None else [],
            target_filter=spec.target_filter, fields=list(item.fields),
            recurrence=spec.recurrence,
            instructions="请网格员在截止日前完成，发现隐患随手拍上报。")
        counts["tasks"] += 1
        if not spec.launch:
            continue
        task = tasks.launch(sender, task.pk, inline=True)
        targets = list(TaskTarget.objects.filter(task=task, assignee__isnull=False)
                       .select_related("assignee").order_by("pk"))
        counts["targets"] += task.targets_total
        for target in targets:
            draw = rng.random()
            if draw < spec.done_share:
                status, result, note = "done", _answer(task, rng), ""
            elif draw < spec.done_share + spec.unable_share:
                status, result, note = "unable", {}, rng.choice(UNABLE_NOTES)
            else:
                continue
            completion.complete_target(target.assignee, target.pk, status=status,
                                       result=result, note=note,
                                       idempotency_key=_key(rng))
            counts["done"] += 1
    progress(f"  grid tasks: {counts['tasks']} tasks, {counts['targets']:,} targets, "
             f"{counts['done']:,} completed")
    return counts


def seed_visits(district: Region, rng: random.Random, progress: Callable[[str], None]) -> int:
    """Past visits to key-care persons by their grid's worker: most on time, some late, some
    never yet — so the day page has visits due and overdue."""
    from wangge.registry.models import PersonStatus, PersonTag

    from .visits import service as visits

    made = 0
    rows = (PersonTag.objects.filter(region_path__startswith=district.path,
                                     tag__visit_interval_days__isnull=False,
                                     person__status=PersonStatus.ACTIVE,
                                     person__region__isnull=False)
            .select_related("tag", "person__region").order_by("pk"))
    workers = {u.region_id: u for u in User.objects.filter(
        role=Role.GRID_WORKER, is_active=True, region__path__startswith=district.path)}
    now = timezone.now()
    for row in rows:
        worker = workers.get(row.person.region_id)
        if Role.GRID_WORKER not in row.tag.holders:
            continue  # a tag grid workers do not hold (严重精神障碍: 卫健 visits itself)
        if worker is None or rng.random() < 0.2:  # some never visited yet
            continue
        interval = row.tag.visit_interval_days
        # Two to four visits going back; the last one 0-1.6 intervals ago (some overdue).
        back = rng.uniform(0, 1.6) * interval
        for n in range(rng.randint(2, 4)):
            at = now - datetime.timedelta(days=back + n * interval, hours=rng.randint(1, 8))
            outcome = rng.choices([VisitOutcome.WELL, VisitOutcome.NEEDS_HELP,
                                   VisitOutcome.NOT_HOME], weights=[8, 1, 1])[0]
            with replaying(at):
                visits.record_visit(worker, person_id=row.person_id, tag_id=row.tag_id,
                                    outcome=outcome, visited_at=at,
                                    note="" if outcome in COUNTS_AS_VISIT else "敲门无人应答",
                                    idempotency_key=_key(rng))
            made += 1
    progress(f"  visits: {made:,} recorded")
    return made


def seed_patrols(district: Region, rng: random.Random, progress: Callable[[str], None]) -> int:
    """A few patrols per showcase grid worker over the last days, with GPS tracks that walk
    inside the grid's bounding box around its centre."""
    from .day import patrols

    made = 0
    grids = list(Region.objects.filter(level=Level.GRID, path__startswith=district.path,
                                       centroid_lon__isnull=False)
                 .order_by("code")[:12])
    now = timezone.now()
    for grid in grids:
        worker = User.objects.filter(role=Role.GRID_WORKER, region=grid, is_active=True).first()
        if worker is None:
            continue
        half_w = max((grid.max_lon - grid.min_lon) / 3, 0.0005)
        half_h = max((grid.max_lat - grid.min_lat) / 3, 0.0005)
        for n in range(PATROLS_PER_WORKER):
            start = now - datetime.timedelta(days=n * 2 + 1, hours=rng.randint(0, 4))
            key = _key(rng)
            with replaying(start):
                patrols.start_patrol(worker, key=key, started_at=start.isoformat(),
                                     note="日常巡查")
            lon, lat = grid.centroid_lon, grid.centroid_lat
            points = []
            for k in range(PATROL_POINTS):
                lon = min(max(lon + rng.uniform(-1, 1) * half_w / 6, grid.centroid_lon - half_w),
                          grid.centroid_lon + half_w)
                lat = min(max(lat + rng.uniform(-1, 1) * half_h / 6, grid.centroid_lat - half_h),
                          grid.centroid_lat + half_h)
                points.append({"at": (start + datetime.timedelta(minutes=3 * k)).isoformat(),
                               "lon": round(lon, 6), "lat": round(lat, 6), "accuracy": 8})
            patrols.add_points(worker, key=key, points=points)
            end = start + datetime.timedelta(minutes=3 * PATROL_POINTS + 5)
            patrols.end_patrol(worker, key=key, ended_at=end.isoformat())
            made += 1
    progress(f"  patrols: {made} with tracks")
    return made


def seed_gridwork(seed: int, district: Region, progress: Callable[[str], None]) -> dict:
    """The whole grid-work picture of the showcase district."""
    rng = random.Random(f"gridwork-{seed}")  # noqa: S311 — a demo, not a secret
    reviewer = _user("command_lixia") or User.objects.filter(
        role=Role.COMMAND, region=district).first()
    if reviewer is None:
        return {}
    from wangge.registry.demo import seed_household_register

    counts = {"households_added": seed_household_register(seed, within=district.path)}
    progress(f"  household register: {counts['households_added']:,} households added")
    items = seed_items(district, reviewer, progress)
    counts["matter_items"] = len(items)
    counts.update(seed_tasks(district, items, rng, progress))
    counts["visits"] = seed_visits(district, rng, progress)
    counts["patrols"] = seed_patrols(district, rng, progress)
    from .staffing import proposals

    # Proposals for the first street (its showcase communities hold the households); the
    # rest of the demo district has grids without residents, all "light".
    street = (Region.objects.filter(level=Level.TOWNSHIP, path__startswith=district.path)
              .order_by("code").first())
    counts["grid_proposals"] = len(proposals.compute(reviewer, street.code)) if street else 0
    progress(f"  staffing proposals: {counts['grid_proposals']}")
    return counts


def remove_gridwork(region_source: str, users) -> dict[str, int]:
    """Delete the grid work of the demo: what demo departments sent or demo accounts did,
    and whatever lies in demo regions. Before the registry (visits refer to persons) and the
    accounts."""
    from django.db.models import Q

    from wangge.accounts.models import Department
    from wangge.registry.models import Fact

    from .models import (
        GridProposal,
        MatterDecision,
        MatterItem,
        Patrol,
        SyncReceipt,
        Task,
        Visit,
    )

    demo_depts = Department.objects.filter(region__source=region_source)
    counts: dict[str, int] = {}

    def drop(name: str, qs) -> None:
        counts[name] = counts.get(name, 0) + qs.delete()[0]

    drop("sync_receipts", SyncReceipt.objects.filter(user__in=users))
    drop("visits", Visit.objects.filter(Q(region__source=region_source) | Q(by__in=users)))
    drop("patrols", Patrol.objects.filter(Q(region__source=region_source)
                                          | Q(worker__in=users)))
    drop("facts", Fact.objects.filter(Q(observed_by__in=users)
                                      | Q(department__in=demo_depts)))
    # Targets, tallies and reminders go with their task (CASCADE).
    drop("tasks", Task.objects.filter(Q(department__in=demo_depts)
                                      | Q(region__source=region_source)))
    drop("grid_proposals", GridProposal.objects.filter(community__source=region_source))
    items = MatterItem.objects.filter(department__in=demo_depts)
    # The history is append-only for users; a reset removes the demo's own wholesale.
    drop("matter_decisions", MatterDecision.objects.filter(item__in=items))
    drop("matter_items", items)
    return {k: v for k, v in counts.items() if v}
