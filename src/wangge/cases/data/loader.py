"""Loading the default categories and deadline rules — 默认分类与时限.

Idempotent, and kind to what administrators did since the last run:

- categories are matched by code; missing ones are created, the names of existing ones are
  refreshed from the file, and nothing else is touched (an administrator's deactivation,
  move or new category stays). Nothing is ever deleted, so a category in use is never lost;
- deadline rules are matched by (category, urgency, step); only missing ones are created,
  so an administrator's edited limit is never overwritten.

Takes the app registry of a data migration (``load_case_defaults(apps)``) or, by default,
the live models; only the live run writes to the audit trail, since a migration runs before
there is anyone to attribute the change to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

DATA_DIR = Path(__file__).resolve().parent
CATEGORIES_FILE = DATA_DIR / "categories.json"
DEADLINES_FILE = DATA_DIR / "deadlines.json"

KINDS = ("component", "event", "request")
URGENCIES = ("normal", "urgent", "critical")
STEPS = ("register", "dispatch", "report_in", "accept", "handle", "verify")


class DefaultsError(ValueError):
    """The shipped data files are inconsistent (a bad edit); names the entry."""


@dataclass
class DefaultsReport:
    categories_created: int = 0
    categories_renamed: int = 0
    categories_unchanged: int = 0
    rules_created: int = 0
    rules_kept: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.categories_created or self.categories_renamed or self.rules_created)

    def summary(self) -> str:
        return (f"categories: {self.categories_created} created, {self.categories_renamed} "
                f"renamed, {self.categories_unchanged} unchanged; deadline rules: "
                f"{self.rules_created} created, {self.rules_kept} kept as they are")


@cache
def category_data() -> tuple[dict[str, Any], ...]:
    """The category tree of ``categories.json``, checked: two levels, unique codes."""
    entries = json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))["categories"]
    seen: set[str] = set()
    for top in entries:
        if top.get("kind") not in KINDS:
            raise DefaultsError(f"category {top.get('code')}: kind must be one of {KINDS}")
        for entry in (top, *top.get("children", ())):
            code, name = entry.get("code"), entry.get("name")
            if not code or not name:
                raise DefaultsError(f"category {entry}: code and name are required")
            if code in seen:
                raise DefaultsError(f"category {code} appears twice")
            seen.add(code)
            if entry is not top and entry.get("children"):
                raise DefaultsError(f"category {code}: only two levels are allowed")
    return tuple(entries)


@cache
def deadline_data() -> tuple[tuple[str | None, str, str, Decimal], ...]:
    """(category code or None for the default, urgency, step, working hours) rows."""
    doc = json.loads(DEADLINES_FILE.read_text(encoding="utf-8"))
    codes = {entry["code"] for top in category_data() for entry in (top, *top["children"])}
    rows: list[tuple[str | None, str, str, Decimal]] = []
    sections = [(None, doc["default"]), *doc.get("categories", {}).items()]
    for code, by_urgency in sections:
        if code is not None and code not in codes:
            raise DefaultsError(f"deadlines.json: category {code} is not in categories.json")
        for urgency, by_step in by_urgency.items():
            if urgency == "about":
                continue
            if urgency not in URGENCIES:
                raise DefaultsError(f"deadlines.json: unknown urgency {urgency!r}")
            for step, hours in by_step.items():
                if step not in STEPS:
                    raise DefaultsError(f"deadlines.json: unknown step {step!r}")
                value = Decimal(str(hours))
                if value <= 0:
                    raise DefaultsError(f"deadlines.json: {code or 'default'} {urgency} "
                                        f"{step}: hours must be positive")
                rows.append((code, urgency, step, value))
    return tuple(rows)


def _models(apps):
    if apps is None:
        from wangge.cases.models import Category, DeadlineRule

        return Category, DeadlineRule
    return apps.get_model("cases", "Category"), apps.get_model("cases", "DeadlineRule")


def load_case_defaults(apps=None) -> DefaultsReport:
    """Put the default categories and deadline rules into the database; safe to repeat."""
    Category, DeadlineRule = _models(apps)
    report = DefaultsReport()
    tree = category_data()
    with transaction.atomic():
        wanted = [entry["code"] for top in tree for entry in (top, *top["children"])]
        existing = {c.code: c for c in Category.objects.filter(code__in=wanted)}

        def upsert(entry: dict[str, Any], kind: str, parent, sort: int):
            current = existing.get(entry["code"])
            name_en = entry.get("name_en") or ""
            if current is None:
                current = Category.objects.create(code=entry["code"], name=entry["name"],
                                                  name_en=name_en, kind=kind, parent=parent,
                                                  sort=sort)
                existing[current.code] = current
                report.categories_created += 1
            elif (current.name, current.name_en) != (entry["name"], name_en):
                current.name, current.name_en = entry["name"], name_en
                current.save(update_fields=["name", "name_en"])
                report.categories_renamed += 1
            else:
                report.categories_unchanged += 1
            return current

        for position, top in enumerate(tree, start=1):
            parent = upsert(top, top["kind"], None, position)
            for child_position, child in enumerate(top["children"], start=1):
                upsert(child, top["kind"], parent, child_position)

        have = set(DeadlineRule.objects.values_list("category_id", "urgency", "step"))
        new_rules = []
        for code, urgency, step, hours in deadline_data():
            category_id = existing[code].pk if code else None
            if (category_id, urgency, step) in have:
                report.rules_kept += 1
                continue
            new_rules.append(DeadlineRule(category_id=category_id, urgency=urgency, step=step,
                                          working_hours=hours))
            have.add((category_id, urgency, step))
        DeadlineRule.objects.bulk_create(new_rules)
        report.rules_created = len(new_rules)

        if apps is None and report.changed:
            from wangge.audit.services import record

            record("cases.load_defaults", object_type="cases.category", object_id="defaults",
                   detail={"categories_created": report.categories_created,
                           "categories_renamed": report.categories_renamed,
                           "rules_created": report.rules_created})
    return report
