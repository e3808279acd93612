"""The shipped Jinan divisions: the demo must run from a fresh clone, on real codes."""

from __future__ import annotations

import json

from shapely.geometry import Point, box

from wangge.demo.layout import DATA_FILE, load_divisions


def test_data_file_is_valid_json_inside_the_package():
    assert DATA_FILE.is_file()
    assert json.loads(DATA_FILE.read_text(encoding="utf-8")) == load_divisions()


def test_jinan_has_its_13_districts_and_164_streets_with_real_codes():
    data = load_divisions()
    assert data["province"] == {"code": "37", "name": "山东省"}
    assert (data["city"]["code"], data["city"]["name"], data["city"]["parent"]) == (
        "3701", "济南市", "37")
    districts = {d["code"]: d for d in data["districts"]}
    streets = {s["code"]: s for s in data["streets"]}
    assert len(districts) == len(data["districts"]) == 13
    assert len(streets) == len(data["streets"]) == 164
    assert districts["370102"]["name"] == "历下区"
    assert districts["370126"]["name"] == "商河县"
    assert streets["370102001"] == {"code": "370102001", "name": "解放路街道",
                                    "parent": "370102"}
    assert streets["370126101"]["name"] == "殷巷镇"
    assert all(d["parent"] == "3701" and len(d["code"]) == 6 for d in districts.values())
    for street in streets.values():
        assert len(street["code"]) == 9 and street["parent"] in districts
        assert street["code"].startswith(street["parent"])
    assert sum(s["parent"] == "370102" for s in streets.values()) == 13


def test_district_centres_lie_in_the_stated_extent_of_jinan():
    data = load_divisions()
    extent = box(*data["city"]["extent"])
    urban = box(*data["city"]["urban_extent"])
    assert extent.contains(urban)
    assert urban.contains(Point(data["city"]["centre"]))
    for district in data["districts"]:
        assert extent.contains(Point(district["centre"])), district["name"]
