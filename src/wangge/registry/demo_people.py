"""The demo registry — 演示人口库: departments' datasets and a few hundred synthetic people.

For the showcase district the demo declares, as data, the datasets departments own
(公安 户籍人口 and 流动人口, 民政 独居老人名单 and 低保对象, 残联 残疾人名单, 卫健 严重精神障碍患者,
教育 留守儿童 — each only if the district has that department) and their tags with holders
and purposes. Then, in the showcase communities (the first ``SHOWCASE_COMMUNITIES`` of the
district, where resident1 and the other demo residents live), it draws buildings with
addresses, houses (自住, some 出租屋, some vacant), households and the people in them:
valid ID numbers (GB 11643 check character), phones, organisations with unified social credit
codes (GB 32100, with the organisation code's own GB 11714 check character).

Every person is held by one to three datasets: 公安's register (or its floating-population
list for tenants), and the lists they belong on — written with slightly different values
(an older phone, the address in another form) so provenance and conflicts show. Rows are
linked to their person directly (same ID number, same person) and survivorship chooses the
values (``survivorship.refresh_persons``). The demo residents are among them, under the phone
of their account, so "My data" shows them something.

Everything is drawn from generators seeded by (seed, node code): the same seed gives the same
people. ``remove_registry`` takes it all away again before a reset.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from wangge.accounts.models import Department
from wangge.catalog.fields import clean_value
from wangge.catalog.models import Dataset, DatasetField, Frequency, SharingClass
from wangge.privacy.idnumbers import check_character
from wangge.regions.models import Level, Region

from . import records
from .demo import _place_word, _point_in
from .models import (
    Building,
    House,
    Household,
    HouseUsage,
    Organisation,
    OrganisationKind,
    Person,
    SourceRecord,
    TagCategory,
    TagDefinition,
)
from .survivorship import refresh_persons

SHOWCASE_COMMUNITIES = 3
BUILDINGS_PER_GRID = 2
HOUSES_PER_BUILDING = 8
BATCH_SIZE = 1000
DEMO_MARK = "demo"


# --- what departments hold, declared as data ------------------------------------------------

@dataclass(frozen=True)
class TagSpec:
    code: str
    name: str
    department: str  # the district department's code suffix (GA, MZ…)
    category: str
    holders: tuple[str, ...]
    purpose: str
    visit_days: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    code: str
    name: str
    department: str
    fields: tuple[str, ...]
    trust: int
    sharing: str
    frequency: str
    description: str
    conditions: str = ""
    flows_down: bool = False
    tag: str | None = None
    retention_days: int | None = None
    required: tuple[str, ...] = ("name", "id_number")


TAGS: tuple[TagSpec, ...] = (
    TagSpec("elderly-alone", "独居老人", "MZ", TagCategory.CARE, ("grid_worker", "staff"),
            "定期探访、关爱服务", 30),
    TagSpec("dibao", "低保对象", "MZ", TagCategory.SERVICE, ("grid_worker", "staff"),
            "低保动态管理、入户核查", 90),
    TagSpec("disabled", "残疾人", "CL", TagCategory.CARE, ("grid_worker", "staff"),
            "助残服务、无障碍改造", 90),
    # Held by nobody but 卫健 itself: not even that a person carries it shows elsewhere.
    TagSpec("smi", "严重精神障碍患者", "WJ", TagCategory.KEY_MANAGEMENT, (),
            "服药随访、风险评估（仅卫生健康部门）", 30),
    TagSpec("left-behind", "留守儿童", "JY", TagCategory.CARE, ("grid_worker", "staff"),
            "关爱帮扶、安全教育", 30),
)

PERSON_FIELDS = ("name", "id_number", "phone", "address", "grid_code")
DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("ga-hukou", "户籍人口", "GA",
                ("name", "id_number", "birth_date", "sex", "ethnicity", "address", "phone",
                 "household_no", "relation_to_head", "residence_type", "grid_code"),
                90, SharingClass.CONDITIONAL, Frequency.DAILY,
                "常住户籍人口登记信息，公安分局每日更新。",
                "用于社区服务和基层治理，经公安分局审批，按字段授权。"),
    DatasetSpec("ga-floating", "流动人口", "GA",
                ("name", "id_number", "sex", "phone", "address", "occupation", "employer",
                 "residence_type", "grid_code"),
                80, SharingClass.CONDITIONAL, Frequency.WEEKLY,
                "居住登记的流动人口；一年未再核实的记录按保存期限清除。",
                "用于出租屋管理和社区服务，经公安分局审批。", retention_days=365),
    DatasetSpec("mz-elderly-alone", "独居老人名单", "MZ",
                (*PERSON_FIELDS, "living_alone", "emergency_contact_phone"),
                60, SharingClass.CONDITIONAL, Frequency.MONTHLY,
                "70岁以上独居老人，下发网格定期探访。", "用于探访关爱，下发至所在网格。",
                flows_down=True, tag="elderly-alone", retention_days=730),
    DatasetSpec("mz-dibao", "低保对象", "MZ", (*PERSON_FIELDS, "household_no"),
                70, SharingClass.CONDITIONAL, Frequency.MONTHLY,
                "城乡最低生活保障对象（户主）。", "用于救助帮扶和动态核查，经民政局审批。",
                tag="dibao"),
    DatasetSpec("cl-disabled", "残疾人名单", "CL", (*PERSON_FIELDS, "disability_level"),
                70, SharingClass.CONDITIONAL, Frequency.QUARTERLY,
                "持证残疾人及残疾类别等级。", "用于助残服务，经残联审批。", tag="disabled"),
    DatasetSpec("wj-smi", "严重精神障碍患者", "WJ",
                (*PERSON_FIELDS, "health_note", "emergency_contact_phone"),
                75, SharingClass.NONE, Frequency.MONTHLY,
                "在册严重精神障碍患者及随访情况，不予共享。", tag="smi"),
    DatasetSpec("jy-left-behind", "留守儿童", "JY",
                ("name", "id_number", "sex", "birth_date", "address",
                 "emergency_contact_phone", "grid_code"),
                65, SharingClass.CONDITIONAL, Frequency.QUARTERLY,
                "父母均外出务工的义务教育阶段儿童。", "用于关爱帮扶，经教育局审批。",
                tag="left-behind"),
)


# --- drawing people ---------------------------------------------------------------------------

GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂梅"
         "晓红建国海燕玉华志云浩宇子涵欣怡梓轩雨萱俊凯佳琪")
SURNAMES = ("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐"
            "许韩冯邓曹彭曾田董袁潘于蒋蔡杜叶程苏魏吕丁任")
# County codes of birth registration (the first six ID digits): Jinan's own and the counties
# floating residents of Jinan often come from.
HOME_CODES = ("370102", "370102", "370102", "370103", "370104", "370105", "370112", "370181")
AWAY_CODES = ("371302", "370781", "371521", "372922", "371402", "410522", "342201", "130102",
              "372301", "371121", "411323", "320382")
MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "150", "151", "152", "157", "158",
                   "159", "182", "183", "187", "188", "130", "131", "132", "155", "156",
                   "185", "186", "133", "153", "180", "181", "189", "177", "199")
RESERVED_PHONE_PREFIX = "1390531"  # the demo residents' accounts
ESTATE_SUFFIXES = ("小区", "花园", "家园", "苑", "新村")
OCCUPATIONS = ("快递员", "餐饮服务员", "建筑工人", "网约车司机", "销售", "保洁员", "个体经营",
               "程序员", "护工")
DISABILITIES = ("肢体二级", "肢体三级", "视力一级", "视力二级", "听力三级", "言语四级", "智力二级")
HEALTH_NOTES = ("规律服药，病情稳定", "需加强随访", "家属监护良好")
ETHNICITIES = ("汉族",) * 95 + ("回族",) * 4 + ("满族",)


@dataclass
class PlannedPerson:
    name: str
    sex: str  # male | female
    born: datetime.date
    id_number: str
    phone: str
    relation: str
    residence: str  # registered | floating
    lists: list[str] = field(default_factory=list)  # dataset codes beyond the primary
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class PlannedHouse:
    label: str
    usage: str
    members: list[PlannedPerson] = field(default_factory=list)


@dataclass
class PlannedBuilding:
    number: int
    address: str
    name: str
    point: tuple[float, float]
    floors: int
    houses: list[PlannedHouse] = field(default_factory=list)


class _Drawer:
    """Draws people deterministically; keeps ID numbers and phones unique in the demo."""

    def __init__(self, today: datetime.date):
        self.today = today
        self.ids: set[str] = set()
        self.phones: set[str] = set()

    def name(self, rng: random.Random, surname: str | None = None) -> str:
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        return (surname or rng.choice(SURNAMES)) + given

    def born(self, rng: random.Random, low: int, high: int) -> datetime.date:
        age = rng.randint(low, high)
        born = datetime.date(self.today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        return born if born <= self.today else born.replace(year=born.year - 1)

    def id_number(self, rng: random.Random, born: datetime.date, sex: str, away: bool) -> str:
        area = rng.choice(AWAY_CODES if away else HOME_CODES)
        seq = rng.randrange(1000)
        if (seq % 2 == 1) != (sex == "male"):  # the 17th digit: odd for men
            seq ^= 1
        while True:
            first17 = f"{area}{born:%Y%m%d}{seq:03d}"
            number = first17 + check_character(first17)
            if number not in self.ids:
                self.ids.add(number)
                return number
            seq = (seq + 2) % 1000

    def mobile(self, rng: random.Random) -> str:
        while True:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if not number.startswith(RESERVED_PHONE_PREFIX) and number not in self.phones:
                self.phones.add(number)
                return number

    def phone_for(self, rng: random.Random, born: datetime.date) -> str:
        age = self.today.year - born.year
        if age < 14:
            return ""
        if age >= 75 and rng.random() < 0.3:
            return f"0531-8{rng.randrange(10**7):07d}"  # a landline at home
        return self.mobile(rng)

    def person(self, rng: random.Random, *, low: int, high: int, relation: str,
               sex: str | None = None, surname: str | None = None, away: bool = False
               ) -> PlannedPerson:
        sex = sex or rng.choice(("male", "female"))
        born = self.born(rng, low, high)
        return PlannedPerson(self.name(rng, surname), sex, born,
                             self.id_number(rng, born, sex, away), self.phone_for(rng, born),
                             relation, "floating" if away else "registered")


def _family(drawer: _Drawer, rng: random.Random) -> list[PlannedPerson]:
    """An owner-occupied household: who lives there, head first."""
    roll = rng.random()
    p = drawer.person
    if roll < 0.12:  # an old person alone: 独居老人
        return [p(rng, low=70, high=92, relation="户主")]
    if roll < 0.20:  # an old couple
        head = p(rng, low=65, high=88, relation="户主", sex="male")
        return [head, p(rng, low=63, high=86, relation="配偶", sex="female")]
    if roll < 0.25:  # grandparents with children whose parents work elsewhere: 留守儿童
        head = p(rng, low=58, high=75, relation="户主", sex="male")
        surname = head.name[0]
        kids = [p(rng, low=5, high=14, relation="孙子女", surname=surname)
                for _ in range(rng.randint(1, 2))]
        for kid in kids:
            kid.lists.append("jy-left-behind")
        return [head, p(rng, low=56, high=73, relation="配偶", sex="female"), *kids]
    if roll < 0.35:  # one adult
        return [p(rng, low=23, high=60, relation="户主")]
    head = p(rng, low=28, high=55, relation="户主", sex="male")
    surname = head.name[0]
    members = [head, p(rng, low=26, high=53, relation="配偶", sex="female")]
    for _ in range(rng.choice((0, 1, 1, 2))):
        members.append(p(rng, low=0, high=max(0, drawer.today.year - head.born.year - 24),
                         relation="子女", surname=surname))
    if rng.random() < 0.15:  # three generations
        members.append(p(rng, low=68, high=88, relation="父母", surname=surname))
    return members


def _tenants(drawer: _Drawer, rng: random.Random) -> list[PlannedPerson]:
    return [drawer.person(rng, low=19, high=45, relation="租户", away=True)
            for _ in range(rng.randint(1, 3))]


def _mark_lists(members: list[PlannedPerson], rng: random.Random, today: datetime.date) -> None:
    """Which departments' lists each member of a household is on."""
    for person in members:
        age = today.year - person.born.year
        if len(members) == 1 and age >= 70 and person.residence == "registered":
            person.lists.append("mz-elderly-alone")
        if age >= 6 and rng.random() < 0.03:
            person.lists.append("cl-disabled")
            person.extra["disability_level"] = rng.choice(DISABILITIES)
        if 18 <= age <= 70 and rng.random() < 0.008:
            person.lists.append("wj-smi")
            person.extra["health_note"] = rng.choice(HEALTH_NOTES)
    head = members[0]
    if head.residence == "registered" and rng.random() < 0.08:
        head.lists.append("mz-dibao")


def _house_labels(rng: random.Random, floors: int) -> list[str]:
    labels = [f"{unit}单元{floor}{room:02d}" for unit in (1, 2)
              for floor in range(1, floors + 1) for room in (1, 2)]
    return sorted(rng.sample(labels, min(HOUSES_PER_BUILDING, len(labels))))


# --- writing ----------------------------------------------------------------------------------

@dataclass
class _Grid:
    pk: int
    code: str
    path: str
    geometry: dict
    community: str
    street: str


def _showcase_grids(district: Region) -> list[_Grid]:
    communities = list(Region.objects.filter(
        level=Level.COMMUNITY, path__startswith=district.path).order_by("code")
        .values_list("pk", "name", "parent__name")[:SHOWCASE_COMMUNITIES])
    grids = []
    for pk, name, street in communities:
        for g in (Region.objects.filter(parent_id=pk, level=Level.GRID, geometry__isnull=False)
                  .order_by("code")):
            grids.append(_Grid(g.pk, g.code, g.path, g.geometry, name, street))
    return grids


def _ensure_catalogue(district_code: str, departments: Mapping[str, Department]
                      ) -> tuple[dict[str, Dataset], dict[str, TagDefinition]]:
    taken = Dataset.objects.filter(code__in=[f"{district_code}-{d.code}" for d in DATASETS])
    if taken.exists():
        raise ValueError(f"dataset {taken.first().code} already exists; the demo registry "
                         f"writes its own datasets — reset the demo or use a fresh database")
    tags = {}
    for spec in TAGS:
        if spec.department in departments:
            tags[spec.code] = TagDefinition.objects.create(
                code=f"{district_code}-{spec.code}", name=spec.name, category=spec.category,
                department=departments[spec.department], holders=list(spec.holders),
                purpose=spec.purpose, visit_interval_days=spec.visit_days)
    datasets = {}
    for spec in DATASETS:
        if spec.department not in departments:
            continue  # the district has no such department: its list does not exist
        dataset = Dataset.objects.create(
            code=f"{district_code}-{spec.code}", name=spec.name, description=spec.description,
            department=departments[spec.department], sharing_class=spec.sharing,
            sharing_conditions=spec.conditions, frequency=spec.frequency, trust=spec.trust,
            flows_down=spec.flows_down, tag=tags.get(spec.tag) if spec.tag else None,
            retention_days=spec.retention_days)
        DatasetField.objects.bulk_create([
            DatasetField(dataset=dataset, field_code=code, position=i,
                         required=code in spec.required)
            for i, code in enumerate(spec.fields)])
        datasets[spec.code] = dataset
    return datasets, tags


def _plan_buildings(drawer: _Drawer, grid: _Grid, rng: random.Random, estate: str,
                    first_number: int, residents: list[tuple[str, str]]) -> list[PlannedBuilding]:
    buildings = []
    for n in range(first_number, first_number + BUILDINGS_PER_GRID):
        address = f"济南市历下区{grid.street}{estate}{n}号楼"
        floors = rng.choice((6, 6, 11, 18))
        building = PlannedBuilding(n, address, f"{estate}{n}号楼", _point_in(grid.geometry, rng),
                                   floors)
        for label in _house_labels(rng, min(floors, 6)):
            roll = rng.random()
            usage = (HouseUsage.VACANT if roll < 0.15 else HouseUsage.RENTED if roll < 0.35
                     else HouseUsage.OWNER_OCCUPIED)
            house = PlannedHouse(label, usage)
            if usage == HouseUsage.OWNER_OCCUPIED:
                house.members = _family(drawer, rng)
            elif usage == HouseUsage.RENTED:
                house.members = _tenants(drawer, rng)
            if house.members:
                _mark_lists(house.members, rng, drawer.today)
            building.houses.append(house)
        buildings.append(building)
    # The demo residents live here too, under their account's phone (My data shows them).
    for i, (name, phone) in enumerate(residents):
        born = drawer.born(rng, 30, 45)
        her = PlannedPerson(name, "female", born, drawer.id_number(rng, born, "female", False),
                            phone, "户主", "registered", lists=["mz-dibao"])
        child = drawer.person(rng, low=3, high=12, relation="子女")
        buildings[0].houses.append(PlannedHouse(f"3单元{i + 1}01", HouseUsage.OWNER_OCCUPIED,
                                                [her, child]))
    return buildings


def _variant_address(address: str, rng: random.Random) -> str:
    """The same home written another way (another department's habit): a conflict."""
    if rng.random() < 0.5:
        return address.removeprefix("济南市")
    return address.removesuffix("室").replace("单元", "-")


def _rows_for(person: PlannedPerson, house: PlannedHouse, address: str, household_no: str,
              grid: _Grid, drawer: _Drawer, rng: random.Random, now: datetime.datetime
              ) -> list[tuple[str, dict[str, str], datetime.datetime]]:
    """(dataset code, raw values, observed at) for each dataset holding ``person``."""
    base = {"name": person.name, "id_number": person.id_number, "phone": person.phone,
            "address": address, "grid_code": grid.code}
    rows = []
    if person.residence == "registered":
        rows.append(("ga-hukou", {
            **base, "birth_date": person.born.isoformat(), "sex": person.sex,
            "ethnicity": rng.choice(ETHNICITIES), "household_no": household_no,
            "relation_to_head": person.relation, "residence_type": "registered"},
            now - datetime.timedelta(days=rng.randint(0, 60))))
    else:
        stale = rng.random() < 0.05  # not re-registered for over a year: due for retention
        days = rng.randint(370, 450) if stale else rng.randint(5, 300)
        rows.append(("ga-floating", {
            **base, "sex": person.sex, "occupation": rng.choice(OCCUPATIONS),
            "employer": person.extra.get("employer", ""), "residence_type": "floating"},
            now - datetime.timedelta(days=days)))
    for code in person.lists:
        values = dict(base)
        if rng.random() < 0.3:
            values["address"] = _variant_address(address, rng)
        if person.phone and not person.phone.startswith(RESERVED_PHONE_PREFIX) \
                and rng.random() < 0.2:
            values["phone"] = drawer.mobile(rng)  # an older number
        if code == "mz-elderly-alone":
            values.update(living_alone="yes", emergency_contact_phone=drawer.mobile(rng))
        elif code == "mz-dibao":
            values["household_no"] = household_no
        elif code == "cl-disabled":
            values["disability_level"] = person.extra["disability_level"]
        elif code == "wj-smi":
            values.update(health_note=person.extra["health_note"],
                          emergency_contact_phone=drawer.mobile(rng))
        elif code == "jy-left-behind":
            guardian = house.members[0]
            values.update(sex=person.sex, birth_date=person.born.isoformat(),
                          emergency_contact_phone=guardian.phone)
            values.pop("phone", None)
        rows.append((code, values, now - datetime.timedelta(days=rng.randint(0, 90))))
    return rows


@dataclass
class _Batch:
    """Rows waiting to be written, with the links between them by position."""

    buildings: list[Building] = field(default_factory=list)
    houses: list[tuple[int, House]] = field(default_factory=list)  # building index
    households: list[tuple[int, Household]] = field(default_factory=list)  # house index
    persons: list[tuple[int, int, Person]] = field(default_factory=list)  # house, household
    rows: list[tuple[int, SourceRecord]] = field(default_factory=list)  # person index


def _write(batch: _Batch) -> list[int]:
    Building.objects.bulk_create(batch.buildings, batch_size=BATCH_SIZE)
    for b, house in batch.houses:
        house.building = batch.buildings[b]
    House.objects.bulk_create([h for _, h in batch.houses], batch_size=BATCH_SIZE)
    for h, household in batch.households:
        household.house = batch.houses[h][1]
    Household.objects.bulk_create([x for _, x in batch.households], batch_size=BATCH_SIZE)
    for h, hh, person in batch.persons:
        person.house = batch.houses[h][1]
        person.household = batch.households[hh][1]
    Person.objects.bulk_create([p for _, _, p in batch.persons], batch_size=BATCH_SIZE)
    for p, row in batch.rows:
        row.person = batch.persons[p][2]
    SourceRecord.objects.bulk_create([r for _, r in batch.rows], batch_size=BATCH_SIZE)
    return [p.pk for _, _, p in batch.persons]


def _source_row(dataset: Dataset, key: str, raw: Mapping[str, str], grid: _Grid,
                observed: datetime.datetime, rng: random.Random) -> SourceRecord:
    clean = {code: clean_value(code, value) for code, value in raw.items() if value}
    row = SourceRecord(dataset=dataset, key=key, region_id=grid.pk, region_path=grid.path,
                       observed_at=observed,
                       created_at=observed - datetime.timedelta(days=rng.randint(0, 900)))
    records.apply(row, records.seal(clean))
    return row


def _organisations(grid: _Grid, rng: random.Random, estate: str, district_code: str,
                   used: set[str]) -> list[Organisation]:
    word = _place_word(grid.community)
    plans = (
        (OrganisationKind.ENTERPRISE, "91", "MA", (
            "济南{w}商贸有限公司", "济南{w}物业服务有限公司", "山东{w}科技有限公司",
            "济南{w}餐饮管理有限公司")),
        (OrganisationKind.INDIVIDUAL, "92", "MA", ("{w}便利店", "{w}理发店", "{w}水果店",
                                                   "{w}家常菜馆")),
        (OrganisationKind.SOCIAL, "52", "", ("{w}社区养老服务中心", "{w}青少年活动中心")),
        (OrganisationKind.INSTITUTION, "12", "", ("{w}社区卫生服务站",)),
    )
    out = []
    for kind, prefix, body_start, names in plans:
        for _ in range(rng.randint(0, 2) if kind != OrganisationKind.ENTERPRISE else 2):
            name = rng.choice(names).format(w=word)
            if name in used:
                continue
            used.add(name)
            lon, lat = _point_in(grid.geometry, rng)
            out.append(Organisation(
                name=name, kind=kind,
                credit_code=credit_code(prefix, district_code, org_body(rng, body_start)),
                address=f"济南市历下区{grid.street}{estate}商铺{rng.randint(1, 60)}号",
                lon=lon, lat=lat, employees=rng.randint(2, 80), region_id=grid.pk,
                region_path=grid.path))
    return out


def seed_registry(seed: int, *, district: Region, departments: Mapping[str, Department],
                  residents: Iterable[tuple[str, str, str]] = (),
                  now: datetime.datetime | None = None) -> dict[str, int]:
    """Write the demo registry for ``district``; ``residents`` are (name, phone, grid code)
    of demo accounts to place among the people. Returns counts by kind."""
    now = now or timezone.now()
    datasets, tags = _ensure_catalogue(district.code, departments)
    grids = _showcase_grids(district)
    drawer = _Drawer(timezone.localdate(now))
    living_here: dict[str, list[tuple[str, str]]] = {}
    for name, phone, grid_code in residents:
        living_here.setdefault(grid_code, []).append((name, phone))
    batch, organisations = _Batch(), []
    estates: dict[str, tuple[str, int]] = {}
    used_org_names: set[str] = set()
    for grid in grids:
        rng = random.Random(f"{seed}:registry:{grid.code}")  # noqa: S311 — a demo
        estate, number = estates.get(grid.community) or (
            _place_word(grid.community) + rng.choice(ESTATE_SUFFIXES), 1)
        estates[grid.community] = (estate, number + BUILDINGS_PER_GRID)
        orgs = _organisations(grid, rng, estate, district.code, used_org_names)
        organisations += orgs
        employers = [o.name for o in orgs if o.kind != OrganisationKind.INSTITUTION]
        for building in _plan_buildings(drawer, grid, rng, estate, number,
                                        living_here.get(grid.code, [])):
            _add_building(batch, building, grid, datasets, drawer, rng, now, employers)
    person_ids = _write(batch)
    Organisation.objects.bulk_create(organisations, batch_size=BATCH_SIZE)
    refresh_persons(person_ids)
    return {"datasets": len(datasets), "tags": len(tags), "buildings": len(batch.buildings),
            "houses": len(batch.houses), "households": len(batch.households),
            "persons": len(person_ids), "source_records": len(batch.rows),
            "organisations": len(organisations)}


def _add_building(batch: _Batch, building: PlannedBuilding, grid: _Grid,
                  datasets: Mapping[str, Dataset], drawer: _Drawer, rng: random.Random,
                  now: datetime.datetime, employers: list[str]) -> None:
    lon, lat = building.point
    batch.buildings.append(Building(name=building.name, address=building.address, lon=lon,
                                    lat=lat, floors=building.floors, region_id=grid.pk,
                                    region_path=grid.path))
    b = len(batch.buildings) - 1
    for house in building.houses:
        tenants = len(house.members) if house.usage == HouseUsage.RENTED else None
        batch.houses.append((b, House(label=house.label, usage=house.usage,
                                      area_m2=float(rng.choice((56, 72, 89, 96, 118, 135))),
                                      tenant_count=tenants, region_id=grid.pk,
                                      region_path=grid.path)))
        if not house.members:
            continue
        h = len(batch.houses) - 1
        household_no = f"{grid.code}{len(batch.households) % 1000:03d}"
        batch.households.append((h, Household(number=household_no, region_id=grid.pk,
                                              region_path=grid.path)))
        hh = len(batch.households) - 1
        address = f"{building.address}{house.label}室"
        for person in house.members:
            if person.residence == "floating" and employers and rng.random() < 0.5:
                person.extra["employer"] = rng.choice(employers)
            batch.persons.append((h, hh, Person(region_id=grid.pk, region_path=grid.path)))
            p = len(batch.persons) - 1
            for code, raw, observed in _rows_for(person, house, address, household_no, grid,
                                                 drawer, rng, now):
                if code not in datasets:
                    continue
                key = f"{grid.code}-{p:05d}-{code}"
                batch.rows.append((p, _source_row(datasets[code], key, raw, grid, observed,
                                                  rng)))


# --- codes of organisations -----------------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 values: digits, then A = 10
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check_character(body: str) -> str:
    """The check character of an 8-character organisation code body (GB 11714)."""
    total = sum(ORG_CHARS.index(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def credit_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100: weights 3^i mod 31)."""
    total = sum(USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_CHARS[(31 - total % 31) % 31]


def org_body(rng: random.Random, start: str = "") -> str:
    """An organisation code (主体标识码): 8 characters and their check character."""
    alphabet = USCC_CHARS if start else "0123456789"
    body = start + "".join(rng.choice(alphabet) for _ in range(8 - len(start)))
    return body + org_check_character(body)


def credit_code(prefix: str, area: str, body: str) -> str:
    """Registration authority and kind (e.g. 91 enterprise), area code, organisation code,
    check character."""
    first17 = f"{prefix}{area}{body}"
    return first17 + credit_check_character(first17)


# --- removing ---------------------------------------------------------------------------------

def remove_registry(region_source: str, users) -> dict[str, int]:
    """Delete what the demo registry and the demo's users wrote: rows in demo regions, the
    datasets and tags of demo departments, and whatever refers to them (requests, forms,
    grants, logs, imports, decisions). ``users`` are the demo accounts."""
    from wangge.catalog.models import AccessLog, AccessRequest, CollectionForm, FormTarget
    from wangge.registry.models import (
        ErasureRequest,
        ImportRun,
        ImportSource,
        LinkDecision,
        PersonTag,
    )

    demo_depts = Department.objects.filter(region__source=region_source)
    datasets = Dataset.objects.filter(department__in=demo_depts)
    in_demo = Q(region__source=region_source)
    counts: dict[str, int] = {}

    def drop(name: str, qs) -> None:
        counts[name] = counts.get(name, 0) + qs.delete()[0]

    drop("access_logs", AccessLog.objects.filter(
        Q(dataset__in=datasets) | Q(user__in=users) | Q(department__in=demo_depts)))
    drop("form_targets", FormTarget.objects.filter(
        in_demo | Q(form__department__in=demo_depts) | Q(answered_by__in=users)))
    drop("forms", CollectionForm.objects.filter(
        Q(department__in=demo_depts) | Q(dataset__in=datasets) | Q(created_by__in=users)))
    drop("access_requests", AccessRequest.objects.filter(
        Q(dataset__in=datasets) | Q(department__in=demo_depts) | Q(requested_by__in=users)
        | Q(decided_by__in=users)))
    drop("erasure_requests", ErasureRequest.objects.filter(
        Q(person__region__source=region_source) | Q(requested_by__in=users)
        | Q(decided_by__in=users)))
    drop("link_decisions", LinkDecision.objects.filter(
        Q(decided_by__in=users) | Q(revoked_by__in=users)))
    drop("source_records", SourceRecord.objects.filter(in_demo | Q(dataset__in=datasets)))
    drop("import_runs", ImportRun.objects.filter(
        Q(source__dataset__in=datasets) | Q(created_by__in=users)))
    drop("import_sources", ImportSource.objects.filter(dataset__in=datasets))
    drop("person_tags", PersonTag.objects.filter(tag__department__in=demo_depts))
    drop("persons", Person.objects.filter(in_demo))
    drop("households", Household.objects.filter(in_demo))
    drop("houses", House.objects.filter(in_demo))
    drop("buildings", Building.objects.filter(in_demo))
    drop("organisations", Organisation.objects.filter(in_demo))
    drop("datasets", datasets)
    drop("tags", TagDefinition.objects.filter(department__in=demo_depts))
    return {k: v for k, v in counts.items() if v}
