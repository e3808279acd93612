"""The default categories and deadline rules that ship as data, and their loader."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as live_apps
from django.core.management import call_command

from wangge.audit.models import AuditRecord
from wangge.cases.data import load_case_defaults
from wangge.cases.data.loader import category_data, deadline_data
from wangge.cases.deadlines import deadline_for
from wangge.cases.models import Case, Category, DeadlineRule
from wangge.cases.workflow import Step

TEDDY = Path("/work/shared/data/messages/teddy2020_taxonomy.csv")
TEDDY_LEVEL1 = ["城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游",
                "卫生计生"]
pytestmark = pytest.mark.django_db


def test_loads_two_levels_of_parts_events_and_requests():
    report = load_case_defaults()
    assert report.categories_created == Category.objects.count() > 200
    assert not Category.objects.filter(parent__parent__isnull=False).exists(), "two levels"
    for top in Category.objects.filter(parent__isnull=True):
        assert re.fullmatch(r"[BSR]\d\d", top.code), top.code
        assert top.children.exists(), f"{top.code} {top.name} has no subclasses"
        assert {c.kind for c in top.children.all()} == {top.kind}
        assert all(re.fullmatch(re.escape(top.code) + r"\d\d", c.code)
                   for c in top.children.all())
    kinds = {c.code[0]: c.kind for c in Category.objects.all()}
    assert kinds == {"B": "component", "S": "event", "R": "request"}


def test_standard_classes_are_present():
    load_case_defaults()

    def parent_of(name: str, kind: str) -> str:
        return Category.objects.get(name=name, kind=kind, parent__isnull=False).parent.name

    tops = set(Category.objects.filter(parent__isnull=True, kind="component")
               .values_list("name", flat=True))
    assert {"公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施"} <= tops
    tops = set(Category.objects.filter(parent__isnull=True, kind="event")
               .values_list("name", flat=True))
    assert {"市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他事件"} <= tops
    assert parent_of("路灯", "component") == "公用设施"
    assert parent_of("消防栓", "component") == "公用设施"
    assert parent_of("交通标志牌", "component") == "道路交通"
    assert parent_of("垃圾箱", "component") == "市容环境"
    assert parent_of("行道树", "component") == "园林绿化"
    assert parent_of("暴露垃圾", "event") == "市容环境"
    assert parent_of("非法小广告", "event") == "宣传广告"
    assert parent_of("施工扰民", "event") == "施工管理"
    assert parent_of("占道经营", "event") == "街面秩序"
    assert parent_of("路面塌陷", "event") == "突发事件"


def test_resident_request_classes_from_the_teddy_taxonomy():
    load_case_defaults()
    requests = Category.objects.filter(kind="request", parent__isnull=True)
    names = list(requests.values_list("name", flat=True))
    assert set(TEDDY_LEVEL1) <= set(names)
    assert len(names) == 15
    building = requests.get(name="城乡建设")
    assert building.code == "R01"
    assert "城市建设和市政管理" in building.children.values_list("name", flat=True)
    # "其他" is a subclass of many classes; codes keep them apart.
    assert Category.objects.filter(name="其他", kind="request").count() == 15


@pytest.mark.skipif(not TEDDY.exists(), reason="the shared taxonomy file is not here")
def test_request_classes_match_the_source_file():
    pairs = set()
    with TEDDY.open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            pairs.add((row["level1"], row["level2"]))
    shipped = {(top["name"], child["name"]) for top in category_data()
               if top["kind"] == "request" for child in top["children"]}
    assert shipped == pairs


def test_second_run_changes_nothing():
    load_case_defaults()
    categories = list(Category.objects.values_list("pk", "code", "name", "parent_id", "sort"))
    rules = list(DeadlineRule.objects.values_list("pk", "category_id", "urgency", "step",
                                                  "working_hours"))
    again = load_case_defaults()
    assert not again.changed
    assert again.categories_unchanged == len(categories)
    assert again.rules_kept == len(rules)
    assert list(Category.objects.values_list("pk", "code", "name", "parent_id", "sort")) == \
        categories
    assert list(DeadlineRule.objects.values_list("pk", "category_id", "urgency", "step",
                                                 "working_hours")) == rules
    assert AuditRecord.objects.filter(action="cases.load_defaults").count() == 1


def test_administrators_edits_survive_except_names():
    load_case_defaults()
    lamp = Category.objects.get(code="B0111")
    lamp.name, lamp.is_active = "路灯（旧名）", False
    lamp.save()
    mine = Category.objects.create(code="X01", name="本地分类", kind="event")
    Case.objects.create(code="C1", title="t", category=mine, source="patrol")
    rule = DeadlineRule.objects.get(category=None, urgency="normal", step=Step.HANDLE)
    rule.working_hours = Decimal("35")
    rule.save()
    DeadlineRule.objects.filter(category=None, urgency="normal", step=Step.VERIFY).delete()

    report = load_case_defaults()
    lamp.refresh_from_db()
    assert lamp.name == "路灯", "names are refreshed from the shipped data"
    assert not lamp.is_active, "a deactivation stays"
    assert Category.objects.filter(code="X01").exists(), "categories are never deleted"
    rule.refresh_from_db()
    assert rule.working_hours == Decimal("35"), "an edited limit is not overwritten"
    assert report.rules_created == 1, "a deleted default comes back"
    assert (report.categories_renamed, report.categories_created) == (1, 0)


def test_default_deadlines_cover_every_step_and_urgency():
    load_case_defaults()
    defaults = {(r.urgency, r.step): r.working_hours
                for r in DeadlineRule.objects.filter(category__isnull=True)}
    assert len(defaults) == 3 * 6
    assert defaults[("normal", "register")] == 2
    assert defaults[("normal", "dispatch")] == 1
    assert defaults[("normal", "accept")] == 1
    assert defaults[("normal", "report_in")] == 2
    assert defaults[("normal", "verify")] == 4
    assert [defaults[(u, "handle")] for u in ("normal", "urgent", "critical")] == [24, 8, 2]
    assert all(hours > 0 for *_, hours in deadline_data())


def test_emergencies_use_their_own_rule():
    load_case_defaults()
    collapse = Category.objects.get(name="路面塌陷")
    sh = ZoneInfo("Asia/Shanghai")
    start = dt.datetime(2026, 10, 13, 9, tzinfo=sh)
    case = Case.objects.create(code="C1", title="路面塌陷", category=collapse, urgency="critical",
                               source="patrol")
    # 突发事件 (S04) critical: 1 h instead of the default 2 h.
    assert deadline_for(case, Step.HANDLE, start) == dt.datetime(2026, 10, 13, 10, tzinfo=sh)
    case.category = Category.objects.get(name="暴露垃圾")
    assert deadline_for(case, Step.HANDLE, start) == dt.datetime(2026, 10, 13, 11, tzinfo=sh)


def test_data_migration_form_does_not_audit():
    report = load_case_defaults(apps=live_apps)
    assert report.categories_created > 200
    assert not AuditRecord.objects.filter(action="cases.load_defaults").exists()


def test_command():
    out = io.StringIO()
    call_command("load_case_defaults", stdout=out)
    assert "deadline rules: 21 created" in out.getvalue()
    out = io.StringIO()
    call_command("load_case_defaults", stdout=out)
    assert "0 created, 0 renamed" in out.getvalue()
