"""Rows for linkage tests: a generated population stored as departments' source rows, and a
few hand-written pairs the model is unsure about."""

from __future__ import annotations

from tests.registry_factories import add_record, make_dataset, make_department
from wangge.catalog.fields import clean_value
from wangge.linkage import ids
from wangge.linkage.synthetic import generate
from wangge.privacy.errors import InvalidValue

FIELDS = ("name", "id_number", "birth_date", "sex", "phone", "address")
HOME = "山东省济南市历下区解放路街道西社区经十路1号1号楼1单元101室"


def idn(first17: str) -> str:
    return first17 + ids.check_char(first17)


# Pairs the model leaves to a steward (see tests/linkage for why each lands where it does).
UNSURE = {
    # Twins: the same name, birthday, phone and home, two valid ID numbers — held back.
    "twins": [
        ("police", {"name": "张伟", "id_number": idn("37010220100101123"),
                    "birth_date": "20100101", "sex": "男", "phone": "13912345678",
                    "address": HOME}),
        ("police", {"name": "张伟", "id_number": idn("37010220100101125"),
                    "birth_date": "20100101", "sex": "男", "phone": "13912345678",
                    "address": HOME}),
    ],
    # One character of the name differs, no ID number on one side — held back.
    "typo": [
        ("civil", {"name": "赵明远", "id_number": idn("37010219700203441"),
                   "birth_date": "19700203", "sex": "男", "phone": "13800001111",
                   "address": HOME}),
        ("health", {"name": "赵明达", "birth_date": "1970/2/3", "sex": "M", "address": HOME}),
    ],
    # The same name and birthday, nothing else in common — uncertain.
    "namesakes": [
        ("police", {"name": "孙小梅", "id_number": idn("37010219900909662"),
                    "birth_date": "19900909", "sex": "女", "address": HOME}),
        ("civil", {"name": "孙小梅", "birth_date": "1990-09-09", "phone": "13600003333",
                   "address": "济南市历城区港沟街道龙泉社区旅游路5号5#5-505"}),
    ],
}
# A homophone typo (王莉华 for 王丽华) without ID number: the same birthday and phone — merged.
HOMOPHONE = [
    ("police", {"name": "王丽华", "id_number": idn("37010219880808662"),
                "birth_date": "19880808", "sex": "女", "phone": "13700002222",
                "address": HOME}),
    ("hrss", {"name": "王莉华", "birth_date": "1988年8月8日", "sex": "2",
              "phone": "13700002222"}),
]


def datasets(police, civil_affairs, hukou, district) -> dict:
    """One dataset per generated source: 公安 (the hukou fixture), 民政, 卫健, 人社."""
    health = make_department("wj", "历下区卫健局", district)
    hrss = make_department("rs", "历下区人社局", district)
    return {
        "police": hukou,
        "civil": make_dataset("mz-assist", civil_affairs, FIELDS, name="民政救助对象", trust=60),
        "health": make_dataset("wj-archive", health, FIELDS, name="居民健康档案", trust=50),
        "hrss": make_dataset("rs-insured", hrss, FIELDS, name="参保人员", trust=50),
    }


def usable(values: dict) -> dict:
    """The values an import would accept (a number failing its check digit is dropped)."""
    out = {}
    for code in FIELDS:
        raw = values.get(code)
        if raw in (None, ""):
            continue
        try:
            clean_value(code, raw)
        except InvalidValue:
            continue
        out[code] = raw
    return out


def store(by_source: dict, source: str, key: str, values: dict, grid):
    return add_record(by_source[source], key, usable(values), region=grid)


def store_population(by_source: dict, grid, size: int = 300, seed: int = 1) -> dict:
    """Store a generated population; returns source row pk → true person id."""
    truth = {}
    for row in generate(size, seed=seed).records.to_pylist():
        stored = store(by_source, row["source"], row["record_id"], row, grid)
        truth[stored.pk] = row["person_id"]
    return truth


def store_pairs(by_source: dict, grid) -> dict[str, list]:
    """The unsure pairs and the homophone pair, stored; name → [row, row]."""
    out = {}
    for name, pair in {**UNSURE, "homophone": HOMOPHONE}.items():
        out[name] = [store(by_source, source, f"{name}-{i}", values, grid)
                     for i, (source, values) in enumerate(pair)]
    return out
