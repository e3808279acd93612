"""Writing the demo city — 演示城市 — into the database, and resetting it.

The city is built by a list of steps (``STEPS``), each taking the shared ``Build`` and writing
one kind of row: the region tree, the departments, the accounts. Later issues add their own
history (cases, registry records, tasks…) by appending a step; each step sees what the
earlier ones wrote (``Build.region_ids``, ``Build.departments``, ``Build.layout``).

Demo rows are marked so a reset removes exactly them: regions carry ``source="demo"``; demo
accounts have an e-mail address under ``DEMO_EMAIL_DOMAIN`` (a reserved ``.invalid`` domain, so
nothing is ever sent there); departments are those of demo regions; cases are those placed in
demo regions (their timelines, assignments and photos go with them, and the figures are
rebuilt from what remains); registry rows are those in demo regions and the datasets and tags
of demo departments, with whatever refers to them or was written by demo accounts.

Every demo account gets the same password, hashed once: argon2 is deliberately slow, and a
large city has tens of thousands of accounts. This is acceptable for a demo only.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from wangge.accounts.models import Department, User
from wangge.accounts.roles import Role
from wangge.audit.services import record
from wangge.regions.geometry import bbox_and_centroid, to_geojson
from wangge.regions.models import Region
from wangge.regions.tree import bump_geometry_revision

from .history import HISTORY_CASES, write_history
from .layout import COUNTY, GRID, SURNAMES, CityLayout, build_layout, load_divisions

DEMO_SOURCE = "demo"
DEMO_EMAIL_DOMAIN = "demo.wangge.invalid"
BATCH_SIZE = 1000
# SQLite allows a limited number of parameters per statement; IN lists are chunked below it.
IN_CHUNK = 900
LOGINS_FILE_NAME = "demo-logins.txt"
PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "lIO0o1")
SHOWCASE_DISTRICT = "370102"  # 历下区: in every size, so its accounts are always there
SHOWCASE_DISTRICT_SLUG = "lixia"

# Functional departments (职能部门) set up in every demo district: (code suffix, name suffix).
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("CG", "城市管理局"),  # urban management
    ("ZJ", "住房和城乡建设局"),  # housing and construction
    ("HB", "生态环境分局"),  # ecology and environment
    ("SJ", "市场监督管理局"),  # market regulation
    ("GA", "公安分局"),  # public security
    ("YJ", "应急管理局"),  # emergency management
    ("MZ", "民政局"),  # civil affairs
    ("SW", "水务局"),  # water affairs
    ("WJ", "卫生健康局"),  # health
    ("CL", "残疾人联合会"),  # disabled persons' federation
    ("JY", "教育局"),  # education
)
STEWARD_DEPARTMENT = "MZ"
# Departments owning datasets in the demo registry: each has a data steward in the showcase
# district ("steward" for civil affairs, steward_<code> for the others).
DATA_OWNERS = ("MZ", "GA", "WJ", "CL", "JY")
# The demo resident's (fictitious) mobile number: entered on a grid worker's report, it links
# the case to her account (反映人).
DEMO_RESIDENT_PHONE = "13905310001"  # civil affairs holds the population data a steward looks after

ROLE_ORDER = (Role.ADMIN, Role.COMMAND, Role.STAFF, Role.HANDLER, Role.GRID_WORKER,
              Role.RESIDENT, Role.STEWARD, Role.AUDITOR, Role.MACHINE)


class DemoError(Exception):
    """The demo city cannot be written as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Login:
    """One account to show: its role, username, scope node and department."""

    role: str
    username: str
    node: str  # "code name", or "" for accounts that serve the whole deployment
    department: str
    password: str

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


@dataclass
class DemoResult:
    created: bool
    size: str
    seed: int
    password: str
    counts: dict[str, int]
    logins: list[Login]
    logins_file: Path | None = None
    reset_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Build:
    """What the steps share while the city is written."""

    layout: CityLayout
    password_hash: str
    progress: Callable[[str], None]
    region_ids: dict[str, int] = field(default_factory=dict)
    region_paths: dict[str, str] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)  # demo resident → her number
    history_cases: int = 0  # past cases to play (see history.py)
    showcase_district: str = SHOWCASE_DISTRICT
    showcase_slug: str = SHOWCASE_DISTRICT_SLUG


def new_password() -> str:
    """A random password of 14 characters without look-alikes (l, I, O, 0, o, 1)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(14))


def demo_email(username: str) -> str:
    return f"{username}@{DEMO_EMAIL_DOMAIN}"


def demo_users():
    return User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}")


def _chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- step 1: the region tree ------------------------------------------------------------------

LEVEL_WORDS = {1: "province", 2: "city", 3: "districts", 4: "streets", 5: "communities",
               6: "grids"}


def _ensure_top(build: Build) -> None:
    """Province and city: reuse rows already there (e.g. from import-divisions), else add."""
    parent_id: int | None = None
    parent_path: str | None = None
    for area in (build.layout.province, build.layout.city):
        row = Region.objects.filter(code=area.code).only("id", "path", "level").first()
        if row is None:
            row = Region.objects.create(
                code=area.code, name=area.name, level=area.level, parent_id=parent_id,
                path=Region.path_for(parent_path, area.code), source=DEMO_SOURCE)
        elif row.level != area.level:
            raise DemoError(f"region {area.code} exists at level {row.level}, not {area.level}")
        build.region_ids[area.code] = parent_id = row.pk
        build.region_paths[area.code] = parent_path = row.path


def write_regions(build: Build) -> None:
    _ensure_top(build)
    demo_marker = {"size": build.layout.size, "seed": build.layout.seed}
    for level, areas in build.layout.levels():
        if level < COUNTY:
            continue
        started = time.perf_counter()
        rows = []
        for area in areas:
            geometry = to_geojson(area.polygon)
            attributes = dict(area.attributes)
            if level == COUNTY:
                attributes["demo"] = demo_marker
            rows.append(Region(
                code=area.code, name=area.name, level=level,
                parent_id=build.region_ids[area.parent_code],
                path=Region.path_for(build.region_paths[area.parent_code], area.code),
                geometry=geometry, attributes=attributes, source=DEMO_SOURCE,
                **bbox_and_centroid(geometry)))
        Region.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        for code, pk, path in Region.objects.filter(
                level=level, source=DEMO_SOURCE).values_list("code", "id", "path"):
            build.region_ids[code] = pk
            build.region_paths[code] = path
        build.counts[LEVEL_WORDS[level]] = len(rows)
        build.progress(f"  level {level} {LEVEL_WORDS[level]}: {len(rows):,} written "
                       f"({time.perf_counter() - started:.1f} s)")
    bump_geometry_revision()


# --- step 2: departments ----------------------------------------------------------------------

def write_departments(build: Build) -> None:
    rows = [
        Department(code=f"{district.code}-{suffix}", name=f"{district.name}{name}",
                   region_id=build.region_ids[district.code])
        for district in build.layout.districts for suffix, name in DEPARTMENTS
    ]
    Department.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    build.departments = {d.code: d for d in Department.objects.filter(
        code__in=[r.code for r in rows])}
    build.counts["departments"] = len(rows)
    build.progress(f"  departments: {len(rows):,} written")


# --- step 3: accounts -------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountSpec:
    """One planned demo account, before region and department ids are known."""

    username: str
    role: str
    node: str | None  # region code
    display_name: str
    department: str | None = None  # department code
    is_admin: bool = False
    phone: str = ""


# Given-name characters for the people in the demo; surnames come from the layout's list.
GIVEN_NAME_CHARS = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂梅晓红建国海燕玉华志云"


def person_name(username: str) -> str:
    """A plausible, stable Chinese name for a demo person (same username, same name)."""
    digest = hashlib.sha256(username.encode()).digest()
    surname = SURNAMES[digest[0] % len(SURNAMES)]
    given = GIVEN_NAME_CHARS[digest[1] % len(GIVEN_NAME_CHARS)]
    if digest[2] % 3:  # two-character given names are the more common
        given += GIVEN_NAME_CHARS[digest[3] % len(GIVEN_NAME_CHARS)]
    return surname + given


def steward_username(suffix: str) -> str:
    """The showcase district's data steward of a department: "steward" for civil affairs."""
    return "steward" if suffix == STEWARD_DEPARTMENT else f"steward_{suffix.lower()}"


def planned_accounts(layout: CityLayout) -> list[AccountSpec]:
    """Every demo account. Usernames are stable: same size and seed, same names."""
    # The showcase district's accounts get the short names (command_lixia, handler_cg…).
    main = next((d for d in layout.districts if d.code == SHOWCASE_DISTRICT),
                layout.districts[0])
    city = layout.city
    steward_dept = dict(DEPARTMENTS)[STEWARD_DEPARTMENT]
    specs = [
        AccountSpec("admin", Role.ADMIN, None, "系统管理员", is_admin=True),
        AccountSpec("auditor", Role.AUDITOR, None, "审计员"),
        AccountSpec("command", Role.COMMAND, city.code, f"{city.name}指挥中心"),
        AccountSpec("sensor", Role.MACHINE, city.code, f"{city.name}物联感知平台"),
        AccountSpec("steward", Role.STEWARD, main.code, f"{main.name}{steward_dept}数据管理员",
                    f"{main.code}-{STEWARD_DEPARTMENT}"),
    ]
    specs += [AccountSpec(steward_username(suffix), Role.STEWARD, main.code,
                          f"{main.name}{dict(DEPARTMENTS)[suffix]}数据管理员",
                          f"{main.code}-{suffix}")
              for suffix in DATA_OWNERS if suffix != STEWARD_DEPARTMENT]
    for district in layout.districts:
        slug = SHOWCASE_DISTRICT_SLUG if district.code == SHOWCASE_DISTRICT else district.code
        specs.append(AccountSpec(f"command_{slug}", Role.COMMAND, district.code,
                                 f"{district.name}指挥中心"))
        for suffix, name in DEPARTMENTS:
            handler = (f"handler_{suffix.lower()}" if district.code == main.code
                       else f"handler_{district.code}_{suffix.lower()}")
            specs.append(AccountSpec(handler, Role.HANDLER, district.code,
                                     f"{district.name}{name}办事员",
                                     f"{district.code}-{suffix}"))
    specs += [AccountSpec(f"street_{s.code}", Role.STAFF, s.code,
                          person_name(f"street_{s.code}")) for s in layout.streets]
    specs += [AccountSpec(f"community_{c.code}", Role.STAFF, c.code,
                          person_name(f"community_{c.code}")) for c in layout.communities]
    specs += [AccountSpec(f"gw_{g.code}", Role.GRID_WORKER, g.code, person_name(f"gw_{g.code}"))
              for g in layout.grids]
    first_grid = min(g.code for g in layout.grids if g.code.startswith(main.code))
    specs.append(AccountSpec("resident1", Role.RESIDENT, first_grid, person_name("resident1"),
                             phone=DEMO_RESIDENT_PHONE))
    # A resident in each other community of the showcase district, who reports, is named as
    # 反映人 on patrol and hotline cases, and rates them (the demo's history).
    first_grids: dict[str, str] = {}
    for g in sorted(layout.grids, key=lambda g: g.code):
        if g.code.startswith(main.code):
            first_grids.setdefault(g.parent_code, g.code)
    others = sorted((c, g) for c, g in first_grids.items() if g != first_grid)
    for n, (community, grid) in enumerate(others, start=2):
        specs.append(AccountSpec(f"resident_{community}", Role.RESIDENT, grid,
                                 person_name(f"resident_{community}"),
                                 phone=f"1390531{n:04d}"))
    return specs


def write_accounts(build: Build) -> None:
    from wangge.accounts.services import set_phone

    started = time.perf_counter()
    now = timezone.now()
    users = []
    for a in planned_accounts(build.layout):
        user = User(username=a.username, role=a.role,
                    region_id=build.region_ids[a.node] if a.node else None,
                    department=build.departments[a.department] if a.department else None,
                    display_name=a.display_name[:60], email=demo_email(a.username),
                    password=build.password_hash, is_staff=a.is_admin,
                    is_superuser=a.is_admin, date_joined=now)
        if a.phone:
            set_phone(user, a.phone)
            build.phones[a.username] = a.phone
        users.append(user)
    User.objects.bulk_create(users, batch_size=BATCH_SIZE)
    build.counts["accounts"] = len(users)
    build.progress(f"  accounts: {len(users):,} written ({time.perf_counter() - started:.1f} s)")


# --- step 4: case defaults and routing rules --------------------------------------------------

# Which district department leads (and which assist) each top-level category — 派遣规则.
# Requests not listed stay in the dispatcher's queue, as real ones often do.
DEMO_ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "B01": ("CG", ("SW",)),  # 公用设施: manholes, lamps, hydrants
    "B02": ("ZJ", ()),  # 道路交通 parts
    "B03": ("CG", ()),  # 市容环境 parts
    "B04": ("CG", ()),  # 园林绿化
    "B05": ("ZJ", ()),  # 房屋土地
    "B06": ("CG", ()),
    "S01": ("CG", ()),  # 市容环境 events
    "S02": ("CG", ()),  # 宣传广告
    "S03": ("ZJ", ("HB",)),  # 施工管理
    "S04": ("YJ", ("GA", "SW")),  # 突发事件
    "S05": ("CG", ("SJ", "GA")),  # 街面秩序
    "S06": ("CG", ()),
    "R01": ("ZJ", ()),  # 城乡建设
    "R04": ("HB", ()),  # 环境保护
    "R06": ("GA", ()),  # 交通运输
    "R09": ("MZ", ()),  # 民政
    "R11": ("SJ", ()),  # 商贸旅游
    "R15": ("MZ", ()),  # 劳动和社会保障
}


def write_routing(build: Build) -> None:
    """Load the default categories and deadlines, then route each district's categories."""
    from wangge.cases.data import load_case_defaults
    from wangge.cases.models import Category, RoutingRule

    load_case_defaults()
    categories = {c.code: c for c in Category.objects.filter(code__in=DEMO_ROUTES)}
    rules, assists = [], []
    for district in build.layout.districts:
        for code, (lead, assisting) in DEMO_ROUTES.items():
            if code not in categories:
                continue
            rule = RoutingRule(category=categories[code],
                               region_id=build.region_ids[district.code],
                               lead=build.departments[f"{district.code}-{lead}"])
            rules.append(rule)
            assists.append([build.departments[f"{district.code}-{a}"] for a in assisting])
    RoutingRule.objects.bulk_create(rules, batch_size=BATCH_SIZE)
    through = RoutingRule.assisting.through
    through.objects.bulk_create(
        [through(routingrule_id=r.pk, department_id=d.pk)
         for r, ds in zip(rules, assists, strict=True) for d in ds], batch_size=BATCH_SIZE)
    build.counts["routing_rules"] = len(rules)
    build.progress(f"  routing rules: {len(rules):,} written")


def write_places(build: Build) -> None:
    """Key places (场所) in every demo street, for the one map's layer."""
    from wangge.registry.demo import seed_places

    build.counts["places"] = seed_places(build.layout.seed,
                                         within=[d.code for d in build.layout.districts])
    build.progress(f"  places: {build.counts['places']:,} written")


def write_registry(build: Build) -> None:
    """Departments' datasets and a few hundred people in the showcase communities, with the
    demo residents among them under their phones (``registry.demo_people``)."""
    from wangge.registry.demo_people import seed_registry

    district = Region.objects.get(code=build.showcase_district)
    departments = {code.rsplit("-", 1)[1]: d for code, d in build.departments.items()
                   if code.startswith(f"{build.showcase_district}-")}
    names = {a.username: (a.display_name, a.node) for a in planned_accounts(build.layout)}
    residents = [(names[u][0], phone, names[u][1]) for u, phone in sorted(build.phones.items())]
    counts = seed_registry(build.layout.seed, district=district, departments=departments,
                           residents=residents)
    build.counts.update({f"registry_{k}": v for k, v in counts.items()})
    build.progress(f"  registry: {counts['persons']:,} persons, "
                   f"{counts['source_records']:,} source records")


def write_gridwork(build: Build) -> None:
    """The grid matters list, tasks and campaigns partly done, visits, patrols and staffing
    proposals in the showcase district (``gridwork.demo``)."""
    from wangge.gridwork.demo import seed_gridwork

    if not build.history_cases:  # --history 0: a city without a past (the tests' default)
        return
    district = Region.objects.get(code=build.showcase_district)
    counts = seed_gridwork(build.layout.seed, district, build.progress)
    build.counts.update({f"gridwork_{k}": v for k, v in counts.items()})


def write_briefings(build: Build) -> None:
    """The latest daily, weekly and monthly briefings, so the briefing pages have the past
    cases' story at once (the worker makes the next ones as periods end)."""
    if not build.history_cases:
        return
    from wangge.briefings.service import generate_due

    build.counts["briefings"] = generate_due(limit=10_000)
    build.progress(f"  briefings: {build.counts['briefings']:,} generated")


Step = Callable[[Build], None]
# Later issues append their steps here (e.g. cases and their history after the accounts).
STEPS: list[tuple[str, Step]] = [
    ("regions", write_regions),
    ("departments", write_departments),
    ("accounts", write_accounts),
    ("routing", write_routing),
    ("places", write_places),
    ("registry", write_registry),
    ("history", write_history),
    ("gridwork", write_gridwork),
    ("briefings", write_briefings),
]


# --- checks, reset, showcase --------------------------------------------------------------------

def existing_demo() -> dict | None:
    """The size and seed of the demo city in the database, or None if there is none."""
    # Districts are the demo's top rows: the province and city may predate it and outlive it.
    row = (Region.objects.filter(source=DEMO_SOURCE, level=COUNTY)
           .order_by("code").values_list("attributes", flat=True).first())
    return None if row is None else row.get("demo", {})


def _check_free(layout: CityLayout, usernames: list[str]) -> None:
    """Refuse before writing anything if a code or username belongs to non-demo rows."""
    codes = [a.code for _, areas in layout.levels() for a in areas
             if a.level >= COUNTY]
    for chunk in _chunks(codes):
        taken = list(Region.objects.filter(code__in=chunk).values_list("code", "source")[:1])
        if taken:
            code, source = taken[0]
            raise DemoError(
                f"region {code} already exists (source {source!r}); the demo city writes its "
                f"own districts, streets, communities and grids — use a fresh database")
    dept_codes = [f"{d.code}-{s}" for d in layout.districts for s, _ in DEPARTMENTS]
    taken_dept = Department.objects.filter(code__in=dept_codes).values_list("code", flat=True)
    if taken_dept:
        raise DemoError(f"department {taken_dept[0]} already exists; use a fresh database")
    for chunk in _chunks(usernames):
        clash = User.objects.filter(username__in=chunk).values_list("username", flat=True)[:1]
        if clash:
            raise DemoError(f"username {clash[0]!r} is taken by an account that is not a demo "
                            f"account; rename it or use a fresh database")


def delete_demo() -> dict[str, int]:
    """Remove the demo's own rows: demo accounts, their departments, its districts and below.

    The province and city stay even if the demo added them: they are real nodes a rebuild
    reuses, and accounts an operator bound to the city keep working. Rows other code added
    under demo districts (an account someone bound to a demo grid) are not touched: the region
    is then protected, and the error names the row.
    """
    from wangge.cases.models import Case, RoutingRule
    from wangge.gridwork.demo import remove_gridwork
    from wangge.registry.demo import remove_places
    from wangge.registry.demo_people import remove_registry

    counts: dict[str, int] = {}
    try:
        # Grid work, then the registry: visits refer to persons, and tasks, requests, imports
        # and decisions to demo accounts.
        gridwork = remove_gridwork(DEMO_SOURCE, demo_users())
        if gridwork:
            counts["gridwork"] = sum(gridwork.values())
        registry = remove_registry(DEMO_SOURCE, demo_users())
        counts["accounts"] = demo_users().delete()[1].get(User._meta.label, 0)
        if registry:
            counts["registry"] = sum(registry.values())
        RoutingRule.objects.filter(region__source=DEMO_SOURCE).delete()
        counts["cases"] = _delete_demo_cases(Case)
        counts["places"] = remove_places(DEMO_SOURCE)
        counts["departments"] = Department.objects.filter(
            region__source=DEMO_SOURCE, region__level__gte=COUNTY).delete()[0]
        regions = 0
        for level in range(GRID, COUNTY - 1, -1):
            regions += Region.objects.filter(source=DEMO_SOURCE, level=level).delete()[0]
        counts["regions"] = regions
    except ProtectedError as exc:
        blocker = next(iter(exc.protected_objects))
        raise DemoError(
            f"cannot remove the demo city: {blocker._meta.verbose_name} {blocker} still refers "
            f"to it and is not a demo row; remove or rebind it first") from None
    return counts


def _delete_demo_cases(Case) -> int:
    """Cases placed in the demo city, duplicates before their masters (merges protect them);
    then the figures, which counted them, are rebuilt from the rows that remain."""
    from wangge.figures.recount import rebuild

    demo = Case.objects.filter(region__source=DEMO_SOURCE)
    removed = demo.filter(master__isnull=False).delete()[1].get(Case._meta.label, 0)
    removed += demo.delete()[1].get(Case._meta.label, 0)
    if removed:
        rebuild()
    return removed


def showcase_logins(password: str) -> list[Login]:
    """One account per role (two command centres: city and district), as a user would try."""
    users = demo_users().select_related("region", "department")
    picks: list[User | None] = [
        users.filter(username="admin").first(),
        users.filter(username="command").first(),
        users.filter(username=f"command_{SHOWCASE_DISTRICT_SLUG}").first(),
        users.filter(username__startswith="street_").order_by("username").first(),
        users.filter(username__startswith="community_").order_by("username").first(),
        users.filter(username="handler_cg").first(),
        users.filter(username__startswith="gw_").order_by("username").first(),
        users.filter(username="resident1").first(),
        *(users.filter(username=steward_username(s)).first() for s in DATA_OWNERS),
        users.filter(username="auditor").first(),
        users.filter(username="sensor").first(),
    ]
    return [
        Login(role=u.role, username=u.username,
              node=f"{u.region.code} {u.region.name}" if u.region else "",
              department=u.department.name if u.department else "", password=password)
        for u in picks if u is not None
    ]


def write_logins_file(result: DemoResult, directory: Path | None = None) -> Path:
    """Write the logins where only the operator can read them (mode 0600)."""
    directory = Path(directory or settings.VAR_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOGINS_FILE_NAME
    lines = [
        f"# wangge demo city 济南市 — size {result.size}, seed {result.seed}, "
        f"{datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"# Every demo account has the password: {result.password}",
        "# Other accounts: command_<district code>, handler_<district code>_<dept>, "
        "street_<street code>, community_<community code>, gw_<grid code>; data stewards: "
        "steward (民政), steward_ga, steward_wj, steward_cl, steward_jy",
        f"# resident1's phone is {DEMO_RESIDENT_PHONE}: a grid worker who enters it on a report "
        "links the case to her, and she can follow and rate it",
        "role\tusername\tnode\tdepartment\tpassword",
        *(f"{x.role_label}\t{x.username}\t{x.node}\t{x.department}\t{x.password}"
          for x in result.logins),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)  # an older file may have been readable by others
        f.write("\n".join(lines) + "\n")
    return path


# --- entry point -----------------------------------------------------------------------------

def _quiet(_: str) -> None:
    return None


def generate_demo(size: str, seed: int, *, password: str | None = None, reset: bool = False,
                  progress: Callable[[str], None] = _quiet, logins_dir: Path | None = None,
                  history: int | None = None) -> DemoResult:
    """Build the demo city, or — if it exists and ``reset`` is false — renew its passwords.

    Everything is written in one transaction: a failure leaves the database as it was,
    including an old demo city that ``reset`` was about to replace.
    """
    password = password or new_password()
    existing = existing_demo()
    if existing is not None and not reset:
        with transaction.atomic():
            changed = demo_users().update(password=make_password(password))
            record("demo.passwords_reset", object_type="demo.city",
                   object_id=load_divisions()["city"]["code"],
                   detail={"accounts": changed})
        result = DemoResult(False, existing.get("size", "?"), existing.get("seed", -1),
                            password, {"accounts": changed}, showcase_logins(password))
        result.logins_file = write_logins_file(result, logins_dir)
        return result

    started = time.perf_counter()
    layout = build_layout(size, seed)
    progress(f"layout {size} seed {seed}: {layout.counts()['grids']:,} grids "
             f"({time.perf_counter() - started:.1f} s)")
    build = Build(layout=layout, password_hash=make_password(password), progress=progress,
                  history_cases=HISTORY_CASES[size] if history is None else history)
    reset_counts: dict[str, int] = {}
    with transaction.atomic():
        # Leftover demo accounts without a city (someone removed its regions by hand) would
        # otherwise block their own usernames.
        if existing is not None or demo_users().exists():
            reset_counts = delete_demo()
            record("demo.reset", object_type="demo.city", object_id=layout.city.code,
                   detail={"removed": reset_counts, "was": existing})
            progress(f"removed the old demo city: {reset_counts}")
        _check_free(layout, [a.username for a in planned_accounts(layout)])
        for name, step in STEPS:
            progress(f"{name}:")
            step(build)
        record("demo.generate", object_type="demo.city", object_id=layout.city.code,
               detail={"size": size, "seed": seed, "counts": build.counts})
    result = DemoResult(True, size, seed, password, build.counts, showcase_logins(password),
                        reset_counts=reset_counts)
    result.logins_file = write_logins_file(result, logins_dir)
    return result
