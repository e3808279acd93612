"""Synthetic population — 模拟人口: people of Jinan as four departments hold them, truth kept.

Linkage can only be measured against a known truth, and real personal data never leaves a
department. So tests and ``bench/linkage.py`` draw people in households (a head, a spouse,
children — twins now and then — an elderly parent; floating households from elsewhere), give
them valid GB 11643 numbers, mobiles and Jinan addresses, and then write each person into the
departmental sources that would know them, each source with its own habits (date and sex
formats, which fields it keeps) and the errors clerks make: homophone characters (同音字) and
other typos in names, transposed digits, old 15-digit numbers, missing fields, stale phones,
moved addresses (人户分离). Everything is drawn from one seeded ``random.Random``: the same seed
gives the same records.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from itertools import accumulate

import pyarrow as pa

from wangge.linkage import ids, names
from wangge.linkage.pinyin import char_pinyin, common_characters, homophones

# Standard fields of a person record as the engine receives them.
RECORD_FIELDS = ("record_id", "source", "name", "id_number", "birth_date", "sex", "phone",
                 "address")


@dataclass(frozen=True)
class SourceSpec:
    """How one department holds people: who it knows and which habits its clerks have."""

    code: str
    label: str  # the department's Chinese name
    coverage: tuple[tuple[int, float], ...]  # (age below, chance a resident is known)
    floating_coverage: float  # the same chance for the floating population (流动人口)
    id_missing: float
    phone_missing: float
    dob_missing: float  # birth date left blank where the ID number holds it
    sex_missing: float
    uses_hukou_address: bool  # 户籍地址 rather than where the person lives
    date_format: str  # strftime pattern, see _format_date
    sex_labels: tuple[str, str]  # (male, female)
    address_style: str  # "full", "short" or "hash"
    old_id_share: float = 0.0  # old 15-digit numbers kept for people born before 1985
    duplicate: float = 0.0  # a second record of the same person in this source


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("police", "公安户籍", coverage=((200, 0.97),), floating_coverage=0.55,
               id_missing=0.0, phone_missing=0.35, dob_missing=0.0, sex_missing=0.0,
               uses_hukou_address=True, date_format="%Y%m%d", sex_labels=("男", "女"),
               address_style="full", old_id_share=0.04),
    SourceSpec("civil", "民政", coverage=((18, 0.25), (60, 0.12), (200, 0.75)),
               floating_coverage=0.1, id_missing=0.04, phone_missing=0.1, dob_missing=0.2,
               sex_missing=0.05, uses_hukou_address=False, date_format="%Y-%m-%d",
               sex_labels=("男", "女"), address_style="short", old_id_share=0.1),
    SourceSpec("health", "卫健", coverage=((200, 0.88),), floating_coverage=0.8,
               id_missing=0.22, phone_missing=0.05, dob_missing=0.0, sex_missing=0.1,
               uses_hukou_address=False, date_format="%Y/%-m/%-d", sex_labels=("M", "F"),
               address_style="hash", duplicate=0.01),
    SourceSpec("hrss", "人社", coverage=((16, 0.35), (60, 0.9), (200, 0.8)),
               floating_coverage=0.7, id_missing=0.01, phone_missing=0.08, dob_missing=0.5,
               sex_missing=0.0, uses_hukou_address=False, date_format="%Y年%-m月%-d日",
               sex_labels=("1", "2"), address_style="short"),
)


@dataclass(frozen=True)
class Noise:
    """Chances of each clerk's error, per record (a share of records, not of fields)."""

    homophone: float = 0.03  # one character replaced by another with the same pinyin
    name_typo: float = 0.008  # one character replaced by an unrelated one, or dropped
    name_spacing: float = 0.02  # "张 伟", full-width spaces
    id_transposition: float = 0.012  # two adjacent digits swapped
    id_lower_x: float = 0.3  # a final X written as x
    phone_transposition: float = 0.01
    phone_stale: float = 0.08  # the person's previous number (when there was one)
    phone_format: float = 0.25  # "138-1234-5678", "+86 138 1234 5678"
    dob_typo: float = 0.004  # the day off by one
    address_moved: float = 0.06  # the previous address (when there was one)


@dataclass
class Person:
    person_id: int
    surname: str
    given: str
    sex: str  # "M" or "F"
    birth: date
    id_number: str
    phone: str | None  # own mobile; None for young children and some of the very old
    contact_phone: str | None  # what departments write down: own phone or the household's
    old_phone: str | None
    address: str  # where the person lives, canonical text
    hukou_address: str  # where the household is registered
    old_address: str | None
    floating: bool


@dataclass
class Population:
    """Source records (``records``: Arrow table, standard fields plus ``person_id``)."""

    records: pa.Table
    persons: int
    seed: int
    sources: tuple[SourceSpec, ...] = field(default=SOURCES)

    def without_truth(self) -> pa.Table:
        """The records as a department would hand them over: no ``person_id``."""
        return self.records.select(list(RECORD_FIELDS))


def _jinan() -> dict:
    text = resources.files("wangge.demo").joinpath("data/jinan.json").read_text("utf-8")
    return json.loads(text)


class _Weighted:
    """Draws from (value, weight) pairs with bisect on cumulative weights."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))

    def draw(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cum, k=1)[0]


class _Generator:
    def __init__(self, seed: int, noise: Noise, sources: tuple[SourceSpec, ...]):
        self.rng = random.Random(seed)  # noqa: S311 — synthetic people, not a secret
        self.noise = noise
        self.sources = sources
        self.surnames = _Weighted(names.SURNAMES)
        self.given = {"M": _Weighted(names.GIVEN_MALE), "F": _Weighted(names.GIVEN_FEMALE)}
        common = common_characters()
        self.common = common
        self.sound_alike = homophones(common)
        self.pinyin = char_pinyin
        city = _jinan()
        self.today = date(2026, 6, 30)
        districts = {d["code"]: d["name"] for d in city["districts"]}
        urban = {"370102", "370103", "370104", "370105", "370112"}
        self.district_codes = list(districts)
        self.streets: list[tuple[str, str, str, list[str]]] = []  # district code, names…
        weights = []
        for s in city["streets"]:
            d = s["parent"]
            if d not in districts:
                continue
            suffix = "村" if s["name"].endswith("镇") else "社区"
            stems = self.rng.sample(names.COMMUNITY_STEMS, 6)
            self.streets.append((d, districts[d], s["name"], [st + suffix for st in stems]))
            weights.append(4.0 if d in urban else 1.0)
        self.street_cum = list(accumulate(weights))
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.next_person = 0

    # -- people -------------------------------------------------------------------------
    def address(self) -> tuple[str, str]:
        """A canonical address and the district code it lies in."""
        rng = self.rng
        d, dname, street, communities = rng.choices(self.streets, cum_weights=self.street_cum)[0]
        community = rng.choice(communities)
        text = (f"山东省济南市{dname}{street}{community}{rng.choice(names.ROADS)}"
                f"{rng.randint(1, 300)}号{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元"
                f"{rng.randint(1, 28)}0{rng.randint(1, 4)}室")
        return text, d

    def phone(self) -> str:
        while True:
            p = self.rng.choice(names.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    def id_number(self, region: str, birth: date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(1, 500) * 2 + (1 if sex == "M" else 0)
            first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
            number = first17 + ids.check_char(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def given_name(self, sex: str) -> str:
        pool = self.given[sex]
        first = pool.draw(self.rng)
        if self.rng.random() < 0.2:
            return first
        second = pool.draw(self.rng)
        while second == first and self.rng.random() < 0.9:
            second = pool.draw(self.rng)
        return first + second

    def birth(self, age: int) -> date:
        return self.today - timedelta(days=age * 365 + self.rng.randrange(365))

    def person(self, surname: str, sex: str, age: int, region: str, home: str, hukou: str,
               floating: bool, household_phone: str | None, birth: date | None = None,
               given: str | None = None) -> Person:
        rng = self.rng
        birth = birth or self.birth(age)
        own = self.phone() if age >= 16 and not (age >= 80 and rng.random() < 0.5) else None
        moved = rng.random() < 0.15
        p = Person(
            person_id=self.next_person, surname=surname, given=given or self.given_name(sex),
            sex=sex, birth=birth, id_number=self.id_number(region, birth, sex), phone=own,
            contact_phone=own or household_phone,
            old_phone=self.phone() if own and rng.random() < 0.12 else None,
            address=home, hukou_address=hukou,
            old_address=self.address()[0] if moved else None, floating=floating)
        self.next_person += 1
        return p

    def household(self) -> list[Person]:
        """One household: a head, maybe a spouse, children (twins at times), a parent."""
        rng = self.rng
        home, district = self.address()
        floating = rng.random() < 0.2
        hukou = home if floating or rng.random() < 0.8 else self.address()[0]

        def region() -> str:
            if floating:
                return rng.choice(names.OTHER_REGIONS)
            return district if rng.random() < 0.85 else rng.choice(self.district_codes)

        head_age = min(95, max(20, int(rng.triangular(20, 90, 42))))
        head_sex = "M" if rng.random() < 0.6 else "F"
        head_surname = self.surnames.draw(rng)
        head = self.person(head_surname, head_sex, head_age, region(), home, hukou, floating,
                           None)
        members = [head]
        if head_age >= 23 and rng.random() < 0.75:
            spouse_age = max(20, head_age + rng.randint(-4, 4))
            members.append(self.person(self.surnames.draw(rng), "F" if head_sex == "M" else "M",
                                       spouse_age, region(), home, hukou, floating,
                                       head.phone))
        if 24 <= head_age <= 58:
            for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
                child_age = head_age - rng.randint(22, 36)
                if child_age < 0:
                    continue
                sex = rng.choice("MF")
                surname = head_surname if rng.random() < 0.9 else members[-1].surname
                child = self.person(surname, sex, child_age, region(), home, hukou, floating,
                                    head.phone)
                members.append(child)
                if rng.random() < 0.012:  # a twin: same birthday, surname, home, contact
                    twin_sex = rng.choice("MF")
                    members.append(self.person(surname, twin_sex, child_age, child.id_number[:6],
                                               home, hukou, floating, head.phone,
                                               birth=child.birth))
        if 35 <= head_age <= 62 and rng.random() < 0.12:
            members.append(self.person(head_surname, rng.choice("MF"),
                                       min(100, head_age + rng.randint(24, 34)), region(), home,
                                       hukou, floating, head.phone))
        return members

    # -- records ------------------------------------------------------------------------
    def knows(self, spec: SourceSpec, p: Person) -> bool:
        if p.floating:
            return self.rng.random() < spec.floating_coverage
        age = (self.today - p.birth).days // 365
        for below, chance in spec.coverage:
            if age < below:
                return self.rng.random() < chance
        return False

    def name(self, p: Person) -> str:
        rng, noise = self.rng, self.noise
        chars = list(p.surname + p.given)
        r = rng.random()
        if r < noise.homophone:
            i = rng.randrange(len(chars))
            alike = [c for c in self.sound_alike.get(self.pinyin(chars[i]), ()) if c != chars[i]]
            if alike:
                chars[i] = rng.choice(alike)
        elif r < noise.homophone + noise.name_typo:
            i = rng.randrange(len(chars))
            if len(chars) > 2 and rng.random() < 0.3:
                del chars[i]
            else:
                chars[i] = rng.choice(self.common)
        text = "".join(chars)
        if rng.random() < noise.name_spacing:
            cut = len(p.surname)
            text = text[:cut] + rng.choice((" ", "\u3000", "  ")) + text[cut:]
        return text

    def id_text(self, spec: SourceSpec, p: Person) -> str | None:
        rng, noise = self.rng, self.noise
        if rng.random() < spec.id_missing:
            return None
        number = p.id_number
        if p.birth.year < 1985 and rng.random() < spec.old_id_share:
            number = number[:6] + number[8:17]  # the old 15-digit number
        if rng.random() < noise.id_transposition:
            number = _transpose(rng, number)
        if number.endswith("X") and rng.random() < noise.id_lower_x:
            number = number[:-1] + "x"
        return number

    def phone_text(self, spec: SourceSpec, p: Person) -> str | None:
        rng, noise = self.rng, self.noise
        phone = p.contact_phone
        if phone is None or rng.random() < spec.phone_missing:
            return None
        if p.old_phone and rng.random() < noise.phone_stale:
            phone = p.old_phone
        if rng.random() < noise.phone_transposition:
            phone = _transpose(rng, phone, start=3)
        if rng.random() < noise.phone_format:
            phone = rng.choice((f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
                                f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", f"86{phone}"))
        return phone

    def birth_text(self, spec: SourceSpec, p: Person, id_text: str | None) -> str | None:
        if id_text and self.rng.random() < spec.dob_missing:
            return None
        birth = p.birth
        if self.rng.random() < self.noise.dob_typo:
            birth = birth + timedelta(days=self.rng.choice((-1, 1)))
        return _format_date(birth, spec.date_format)

    def address_text(self, spec: SourceSpec, p: Person) -> str:
        text = p.hukou_address if spec.uses_hukou_address else p.address
        if p.old_address and self.rng.random() < self.noise.address_moved * 3:
            text = p.old_address
        if spec.address_style == "short":
            text = text.removeprefix("山东省").removeprefix("济南市")
        elif spec.address_style == "hash":
            text = (text.removeprefix("山东省").replace("号楼", "#", 1).replace("单元", "-", 1)
                    .removesuffix("室"))
        return text

    def record(self, spec: SourceSpec, p: Person) -> tuple:
        sex = None
        if self.rng.random() >= spec.sex_missing:
            sex = spec.sex_labels[0 if p.sex == "M" else 1]
        id_text = self.id_text(spec, p)
        return (spec.code, self.name(p), id_text, self.birth_text(spec, p, id_text), sex,
                self.phone_text(spec, p), self.address_text(spec, p), p.person_id)


def _transpose(rng: random.Random, text: str, start: int = 0) -> str:
    """Two adjacent, different characters swapped (a no-op swap is not an error)."""
    for _ in range(10):
        i = rng.randrange(start, len(text) - 1)
        if text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def _format_date(d: date, pattern: str) -> str:
    # %-m / %-d (no zero padding) are not portable strftime: expand them by hand.
    return (pattern.replace("%Y", f"{d.year:04d}").replace("%m", f"{d.month:02d}")
            .replace("%d", f"{d.day:02d}").replace("%-m", str(d.month))
            .replace("%-d", str(d.day)))


def generate(records: int, seed: int = 1, noise: Noise | None = None,
             sources: tuple[SourceSpec, ...] = SOURCES) -> Population:
    """About ``records`` source records (exactly that many) of people drawn in households.

    People are drawn until their records reach the target; records are then shuffled within
    each source and numbered ``<source>-0000001``…
    """
    gen = _Generator(seed, noise or Noise(), sources)
    by_source: dict[str, list[tuple]] = {s.code: [] for s in sources}
    total = 0
    while total < records:
        for person in gen.household():
            for spec in sources:
                copies = 0
                if gen.knows(spec, person):
                    copies = 2 if gen.rng.random() < spec.duplicate else 1
                for _ in range(copies):
                    if total < records:
                        by_source[spec.code].append(gen.record(spec, person))
                        total += 1
    columns: dict[str, list] = {name: [] for name in (*RECORD_FIELDS, "person_id")}
    for spec in sources:
        rows = by_source[spec.code]
        gen.rng.shuffle(rows)
        for i, row in enumerate(rows, start=1):
            columns["record_id"].append(f"{spec.code}-{i:07d}")
            for name, value in zip((*RECORD_FIELDS[1:], "person_id"), row, strict=True):
                columns[name].append(value)
    schema = pa.schema([(name, pa.string()) for name in RECORD_FIELDS]
                       + [("person_id", pa.int64())])
    return Population(records=pa.table(columns, schema=schema), persons=gen.next_person,
                      seed=seed, sources=sources)
