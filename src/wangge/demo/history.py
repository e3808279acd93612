"""The demo city's past — 历史案件: cases of the last weeks, each lived through the real workflow.

Every case is filed by ``submit_case`` and moved by ``transition`` with the platform's clock set
to when each step happened (``core.clock.replaying``), so its timeline, deadlines, traffic
lights, escalations, notifications and figures are exactly what the platform would have
recorded. Nothing is written behind the workflow's back.

What happens to a case is declared as data: ``PATHS`` are weighted scripts of beats (who acts,
how long after the previous beat), and ``SOURCES`` say who files what. The steps of all cases
are played in time order on one queue, with the escalation worker's pass each working morning,
and stop at the present: recent cases are still open, some of them late.
"""

from __future__ import annotations

import heapq
import io
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from wangge.accounts.models import User
from wangge.core import clock

log = logging.getLogger(__name__)

# Cases of history per city size: the showcase district carries them (the others are there
# for the tree and the map). Replaying costs a few milliseconds per step.
HISTORY_CASES = {"S": 600, "M": 800, "L": 1000}
HISTORY_DAYS = 75
WORKDAY_HOURS = (8, 19)  # beats falling at night move to the next morning


@dataclass(frozen=True)
class Beat:
    """One step of a scripted case: ``action`` taken by ``who`` after a delay (hours, the
    median of a log-normal spread, so a few steps run well past their deadline)."""

    action: str
    who: str  # community | command | lead | grid_worker | resident | wrong_department
    hours: float


def _path(*beats: tuple[str, str, float]) -> tuple[Beat, ...]:
    return tuple(Beat(*b) for b in beats)


# Medians well inside the default limits (cases/data/deadlines.json), so most steps are on
# time and the spread makes some late, as in a city that mostly keeps up.
_FILED = (("register", "community", 0.7), ("dispatch", "community", 0.4),
          ("accept", "lead", 0.4))
_FINISH = (("handle", "lead", 12.0), ("verify", "grid_worker", 1.6), ("rate", "resident", 12.0))
# Urgent matters move faster (their limits are shorter).
PACE = {"normal": 1.0, "urgent": 0.5, "critical": 0.25}

# What becomes of a case, with how often it happens (weights).
PATHS: dict[str, tuple[float, tuple[Beat, ...]]] = {
    "closed": (58, _path(*_FILED, *_FINISH)),
    "returned": (7, _path(("register", "community", 1.5), ("dispatch_wrong", "community", 1),
                          ("return", "wrong_department", 0.5), ("dispatch", "community", 0.4),
                          ("accept", "lead", 0.4), *_FINISH)),
    "rework": (6, _path(*_FILED, ("handle", "lead", 12), ("rework", "grid_worker", 1.5),
                        ("handle", "lead", 10), ("verify", "grid_worker", 1.5),
                        ("rate", "resident", 12))),
    "extended": (4, _path(*_FILED, ("request_extension", "lead", 10),
                          ("approve_extension", "community", 3), *_FINISH)),
    "suspended": (2, _path(*_FILED, ("request_suspension", "lead", 8),
                           ("approve_suspension", "community", 4))),
    "whistle": (4, _path(("register", "community", 1.0), ("whistle", "community", 0.5),
                         ("report_in", "lead", 0.8), ("accept", "lead", 0.4), *_FINISH)),
    "low_rating": (3, _path(*_FILED, ("handle", "lead", 12), ("verify", "grid_worker", 1.6),
                            ("rate_low", "resident", 10), ("reopen", "community", 2),
                            ("dispatch", "community", 0.4), ("accept", "lead", 0.4),
                            *_FINISH)),
    "stalled": (6, _path(*_FILED, ("handle", "lead", 320), ("verify", "grid_worker", 8),
                         ("rate", "resident", 12))),  # a backlog that runs late
    "rejected": (5, _path(("reject", "community", 2.0))),
    "voided": (1, _path(("register", "community", 1.5), ("void", "command", 10))),
    "merged": (3, _path(("merge", "community", 2.0))),
    "self_handled": (7, _path(("verify", "community", 6.0))),
}

# Who files cases (weights) and which kinds of category they file.
SOURCES: dict[str, tuple[float, tuple[str, ...]]] = {
    "patrol": (48, ("component", "event")),
    "resident": (14, ("request", "event")),
    "hotline": (22, ("request", "event")),
    "sensor": (9, ("component",)),
    "referral": (7, ("event", "request")),
}
PATROL_WITH_REQUESTER = 0.3  # share of patrol reports raised by a resident (反映人)
RATINGS = ((5, 55), (4, 27), (3, 12))  # good ratings; the low ones are the low_rating path

PROBLEMS = {
    "component": ("破损", "缺失", "松动", "损坏，需要维修", "被遮挡", "倾斜"),
    "event": ("", "问题", "，影响通行", "，居民反映强烈", "，多次出现"),
    "request": ("问题反映", "的诉求", "，请尽快处理", "咨询与诉求"),
}
DESCRIPTIONS = (
    "现场查看情况属实，请相关部门尽快处理。",
    "居民反映已有数日，影响周边生活。",
    "位置在小区出入口附近，人流较多，存在安全隐患。",
    "早晚高峰时段尤其明显，请协调处理。",
    "已拍照留存，附近商户也有反映。",
)
NOTES = {
    "handle": ("已安排人员到场处置完毕。", "已更换损坏部件，恢复正常。", "已清理完毕并加强巡查。"),
    "verify": ("现场核查，处置到位。", "复核属实，已解决。"),
    "reason": ("非本部门职责，请重新派遣。", "需协调相关单位，申请延期。", "涉及多方，暂缓处置。"),
}


@dataclass
class _Plan:
    """One case to play: its path, filer, grid and where it has got to."""

    path: str
    beats: tuple[Beat, ...]
    grid: object  # layout Area
    source: str
    kind_choices: tuple[str, ...]
    case_id: int | None = None
    code: str = ""
    resident: User | None = None
    lead: str = ""  # the lead department's code suffix (CG, ZJ …)
    pace: float = 1.0  # delays scale with urgency
    wrong: str = ""  # a department the case is first sent to by mistake (the returned path)
    master_code: str = ""  # the case a duplicate is merged into
    step: int = 0


@dataclass
class _Cast:
    """The demo accounts that act in the history, found once."""

    grid_workers: dict[str, User]
    community_staff: dict[str, User]
    residents: dict[str, User]
    handlers: dict[str, User]  # department code → handler
    command: User
    sensor: User
    departments: list[str]
    phones: dict[int, str] = field(default_factory=dict)  # resident id → the demo's number


def _jpeg(seed: int) -> bytes:
    colour = ((seed * 53) % 200 + 30, (seed * 97) % 200 + 30, (seed * 31) % 200 + 30)
    image = Image.new("RGB", (96, 72), colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


class HistoryPlayer:
    """Plays the scripted cases in time order, ending at ``until``."""

    def __init__(self, build, count: int, days: int, rng: random.Random,
                 until: datetime | None = None) -> None:
        from wangge.cases.models import Category

        self.build = build
        self.rng = rng
        self.until = until or timezone.now()
        self.start = self.until - timedelta(days=days)
        self.count = count
        showcase = build.showcase_district
        self.grids = [g for g in build.layout.grids if g.code.startswith(showcase)]
        self.communities = {c.code: c for c in build.layout.communities}
        leaves = Category.objects.filter(parent__isnull=False, is_active=True) \
            .select_related("parent")
        self.by_kind: dict[str, list] = {}
        for c in leaves:
            self.by_kind.setdefault(c.parent.kind, []).append(c)
        self.cast = self._cast(showcase)
        self.photos = [_jpeg(i) for i in range(8)]
        self.counts: dict[str, int] = {}
        self.failures: list[str] = []
        self.by_grid: dict[str, list[int]] = {}  # cases per community, for duplicates

    # --- who acts ---------------------------------------------------------------------------

    def _cast(self, district: str) -> _Cast:
        from wangge.accounts.roles import Role

        users = User.objects.filter(is_active=True, region__path__contains=f".{district}.") \
            .select_related("region__parent", "department").order_by("username")
        grid_workers = {u.region.code: u for u in users.filter(role=Role.GRID_WORKER)}
        staff = {u.region.code: u for u in users.filter(role=Role.STAFF)}
        residents: dict[str, User] = {}
        for u in users.filter(role=Role.RESIDENT):  # by the community of their home grid
            residents.setdefault(u.region.parent.code, u)
        handlers = {u.department.code.split("-")[-1]: u for u in users.filter(
            role=Role.HANDLER, department__code__startswith=f"{district}-")}
        phones = {u.pk: self.build.phones[u.username] for u in residents.values()
                  if u.username in self.build.phones}
        return _Cast(grid_workers=grid_workers, community_staff=staff, residents=residents,
                     handlers=handlers, phones=phones,
                     command=users.get(username=f"command_{self.build.showcase_slug}"),
                     sensor=User.objects.get(username="sensor"),
                     departments=sorted(handlers))

    def _actor(self, plan: _Plan, who: str) -> User:
        community = plan.grid.parent_code
        if who == "community":
            return self.cast.community_staff[community]
        if who == "grid_worker":
            return self.cast.grid_workers[plan.grid.code]
        if who == "command":
            return self.cast.command
        if who == "resident":
            return plan.resident
        if who == "lead":
            return self.cast.handlers[plan.lead]
        if who == "wrong_department":
            return self.cast.handlers[plan.wrong]
        raise ValueError(f"unknown actor {who!r} in a history path")

    # --- planning ---------------------------------------------------------------------------

    def _weighted(self, table: dict) -> str:
        names = list(table)
        return self.rng.choices(names, weights=[table[n][0] for n in names])[0]

    def _arrival(self) -> datetime:
        # More recent weeks are busier (more residents use the platform), as in a new city.
        share = self.rng.random() ** 0.75
        day = self.start + timedelta(days=share * (self.until - self.start).days)
        local = timezone.localtime(day)
        hour = min(21, max(6, int(self.rng.gauss(12.5, 3.5))))
        return local.replace(hour=hour, minute=self.rng.randrange(60),
                             second=self.rng.randrange(60), microsecond=0)

    def _later(self, at: datetime, hours: float) -> datetime:
        delay = hours * math.exp(self.rng.gauss(0, 0.7))
        t = timezone.localtime(at + timedelta(hours=delay))
        if not WORKDAY_HOURS[0] <= t.hour < WORKDAY_HOURS[1]:
            next_morning = t if t.hour < WORKDAY_HOURS[0] else t + timedelta(days=1)
            t = next_morning.replace(hour=WORKDAY_HOURS[0], minute=self.rng.randrange(90) % 60,
                                     second=self.rng.randrange(60))
        return t

    def plans(self) -> list[tuple[datetime, _Plan]]:
        out = []
        for _ in range(self.count):
            path = self._weighted(PATHS)
            source = "patrol" if path == "self_handled" else self._weighted(SOURCES)
            grid = self.rng.choice(self.grids)
            plan = _Plan(path, PATHS[path][1], grid, source, SOURCES[source][1])
            out.append((self._arrival(), plan))
        out.sort(key=lambda pair: pair[0])
        return out

    # --- playing ----------------------------------------------------------------------------

    def play(self) -> dict[str, int]:
        from wangge.cases.escalation import escalate_overdue

        queue: list = []
        for seq, (at, plan) in enumerate(self.plans()):
            heapq.heappush(queue, (at, seq, plan))
        seq = len(queue)
        morning = timezone.localtime(self.start).replace(hour=9, minute=0, second=0,
                                                         microsecond=0)
        while morning < self.until:  # the escalation worker's pass, each morning
            heapq.heappush(queue, (morning, seq, None))
            seq += 1
            morning += timedelta(days=1)
        while queue:
            at, _, plan = heapq.heappop(queue)
            if at >= self.until:
                break
            with clock.replaying(at):
                if plan is None:
                    self.counts["escalated"] = self.counts.get("escalated", 0) + \
                        escalate_overdue(now=at)
                    continue
                if not self._advance(plan):
                    continue
            if plan.step < len(plan.beats):
                beat = plan.beats[plan.step]
                seq += 1
                heapq.heappush(queue, (self._later(at, beat.hours * plan.pace), seq, plan))
        return self.counts

    def _advance(self, plan: _Plan) -> bool:
        """File the case or take its next step; False ends the plan (the failure is kept)."""
        from wangge.cases.services import CaseError

        try:
            if plan.case_id is None:
                self._file(plan)
                self.counts["cases"] = self.counts.get("cases", 0) + 1
            else:
                beat = plan.beats[plan.step]
                self._step(plan, beat)
                plan.step += 1
                self.counts[beat.action] = self.counts.get(beat.action, 0) + 1
            return True
        except CaseError as exc:
            action = plan.beats[plan.step].action if plan.case_id else "report"
            self.failures.append(f"{plan.code or plan.grid.code} {plan.path}/{action}: {exc}")
            return False

    def _upload(self, actor: User, case=None) -> int:
        from wangge.cases.services import add_photo

        data = self.rng.choice(self.photos)
        return add_photo(actor, case, SimpleUploadedFile("photo.jpg", data, "image/jpeg")).pk

    def _file(self, plan: _Plan) -> None:
        from wangge.cases.services import CaseInput, submit_case

        community = plan.grid.parent_code
        resident = self.cast.residents.get(community)
        kind = self.rng.choice(plan.kind_choices)
        category = self.rng.choice(self.by_kind[kind])
        lon, lat = self._point_in(plan.grid.polygon)
        title = f"{category.name}{self.rng.choice(PROBLEMS[kind])}".rstrip("，")
        phone = ""
        filer = {"patrol": self.cast.grid_workers[plan.grid.code], "resident": resident,
                 "hotline": self.cast.command, "sensor": self.cast.sensor,
                 "referral": self.cast.command}[plan.source]
        if plan.source == "hotline" or (plan.source == "patrol" and resident is not None
                                        and self.rng.random() < PATROL_WITH_REQUESTER):
            phone = self.cast.phones.get(resident.pk, "") if resident else ""
        if plan.source == "resident" or phone:
            plan.resident = resident
        if plan.path == "low_rating" and plan.resident is None:  # nobody to rate it low
            plan.path, plan.beats = "closed", PATHS["closed"][1]
        data = CaseInput(
            category=category.code, title=title[:200],
            description=self.rng.choice(DESCRIPTIONS), source=plan.source,
            urgency=self.rng.choices(("normal", "urgent", "critical"), (86, 12, 2))[0],
            lon=lon, lat=lat, crs="wgs84",
            address=f"{self.communities[community].name}{self.rng.randint(1, 40)}号楼附近",
            contact_phone=phone, self_handled=plan.path == "self_handled",
        )
        if data.self_handled:
            data.photos = [self._upload(filer)]
            data.note = self.rng.choice(NOTES["handle"])
        if plan.path == "merged":
            master = self._master_for(plan)
            if master is None:  # nothing to merge into yet: a case of its own
                plan.path, plan.beats = "closed", PATHS["closed"][1]
            else:
                plan.master_code = master.code
                data.category = master.category.code
                data.title = master.title
        case, _created = submit_case(filer, data)
        plan.pace = PACE.get(data.urgency, 1.0)
        plan.case_id, plan.code = case.pk, case.code
        route = case.route or {}
        plan.lead = (route.get("lead") or "").split("-")[-1] or \
            self.rng.choice(self.cast.departments)
        plan.wrong = self.rng.choice([d for d in self.cast.departments if d != plan.lead])
        self.by_grid.setdefault(plan.grid.parent_code, []).append(case.pk)

    def _master_for(self, plan: _Plan):
        from wangge.cases.models import Case
        from wangge.cases.workflow import OPEN_STATES

        ids = self.by_grid.get(plan.grid.parent_code, [])[-8:]  # the community's latest
        return Case.objects.filter(pk__in=ids, state__in=OPEN_STATES, master__isnull=True) \
            .exclude(pk=plan.case_id).select_related("category").order_by("-pk").first()

    def _point_in(self, polygon) -> tuple[float, float]:
        minx, miny, maxx, maxy = polygon.bounds
        for _ in range(50):
            # Rounded first, then tested: a point a hair inside an edge can round out of the
            # grid (and into a neighbour of another street).
            x = round(self.rng.uniform(minx, maxx), 6)
            y = round(self.rng.uniform(miny, maxy), 6)
            if shapely.contains_xy(polygon, x, y):
                return x, y
        p = polygon.representative_point()
        return p.x, p.y

    def _step(self, plan: _Plan, beat: Beat) -> None:
        from wangge.cases.services import transition

        actor = self._actor(plan, "resident" if beat.action == "rate_low" else beat.who)
        if actor is None:  # nobody to rate it: the case stays closed without a rating
            return
        if beat.action == "merge":
            master = self._master_for(plan)
            if master is None or master.pk == plan.case_id:
                # The case it repeated was closed meanwhile: this one is handled on its own.
                plan.path, plan.beats = "closed", PATHS["closed"][1]
                beat = plan.beats[0]
                actor = self._actor(plan, beat.who)
            else:
                plan.master_code = master.code
        action, inputs = self._inputs(plan, beat, actor)
        transition(actor, plan.case_id, action, **inputs)

    def _inputs(self, plan: _Plan, beat: Beat, actor: User) -> tuple[str, dict]:
        action = beat.action
        rng = self.rng
        if action == "rate_low":
            return "rate", {"rating": rng.choice((1, 2)), "comment": "问题没有彻底解决"}
        inputs: dict = {}
        if action == "rate":
            inputs = {"rating": rng.choices([r for r, _ in RATINGS],
                                            [w for _, w in RATINGS])[0]}
        elif action in ("handle", "verify"):
            from wangge.cases.models import Case

            case = Case.objects.get(pk=plan.case_id)
            inputs = {"note": rng.choice(NOTES[action]),
                      "evidence": [self._upload(actor, case)]}
        elif action in ("reject", "return", "rework", "request_suspension", "void", "reopen",
                        "refuse_extension", "confirm_closure"):
            inputs = {"reason": rng.choice(NOTES["reason"])}
        elif action == "request_extension":
            inputs = {"reason": NOTES["reason"][1], "days": rng.randint(1, 5)}
        elif action == "dispatch_wrong":  # the mis-dispatch a department will return
            district = self.build.showcase_district
            action, inputs = "dispatch", {"departments": [f"{district}-{plan.wrong}"]}
        elif action == "dispatch":
            district = self.build.showcase_district
            inputs = {"departments": [f"{district}-{plan.lead}"]}
        elif action == "whistle":
            district = self.build.showcase_district
            others = rng.sample([d for d in self.cast.departments if d != plan.lead], 2)
            inputs = {"departments": [f"{district}-{d}" for d in (plan.lead, *others)]}
        elif action == "merge":
            inputs = {"master": plan.master_code}
        return action, inputs


def write_history(build) -> None:
    """The step of the demo: play ``build.history_cases`` cases over the last weeks."""
    import time

    from wangge.notifications.models import Notification
    from wangge.notifications.services import inbox_only

    count = build.history_cases
    if count <= 0:
        build.counts["history_cases"] = 0
        return
    started = time.perf_counter()
    rng = random.Random(f"history-{build.layout.seed}")
    player = HistoryPlayer(build, count, HISTORY_DAYS, rng)
    with inbox_only():
        counts = player.play()
    if player.failures:
        # A failing step is a bug in the path table or the workflow: say so, loudly.
        raise RuntimeError("demo history: " + "; ".join(player.failures[:5]))
    # Messages about history are old news: only the last few days stay unread.
    recent = player.until - timedelta(days=3)
    Notification.objects.filter(created_at__lt=recent, read_at__isnull=True).update(
        read_at=player.until)
    build.counts["history_cases"] = counts.get("cases", 0)
    build.progress(f"  history: {counts.get('cases', 0):,} cases, "
                   f"{sum(v for k, v in counts.items() if k != 'cases'):,} steps "
                   f"({time.perf_counter() - started:.1f} s)")

