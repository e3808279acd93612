"""Departments, datasets, tags and source rows for registry and catalogue tests.

Values go through the same checks and sealing as an import (``catalog.fields.clean_value``,
``registry.records.seal``), so a test row is stored exactly as a real one would be.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import timezone

from wangge.accounts.models import Department
from wangge.catalog.fields import clean_value
from wangge.catalog.models import Dataset, DatasetField, SharingClass
from wangge.regions.models import Region
from wangge.registry import records
from wangge.registry.models import Person, SourceRecord, TagDefinition
from wangge.registry.survivorship import refresh_person

# Valid GB 11643 numbers (check digits right), for tests.
ID_A = "37010219850307211X"  # 1985-03-07, male
ID_B = "370102194607150022"  # 1946-07-15, female
ID_C = "370102195201010024"  # 1952-01-01


def make_department(code: str, name: str, region: Region) -> Department:
    return Department.objects.create(code=code, name=name, region=region)


def make_dataset(code: str, department: Department, fields: Iterable[str] = (
        "name", "id_number", "phone", "address", "grid_code"), *,
        name: str | None = None, required: Iterable[str] = ("name",),
        **attrs) -> Dataset:
    attrs.setdefault("sharing_class", SharingClass.CONDITIONAL)
    dataset = Dataset.objects.create(code=code, name=name or code, department=department,
                                     **attrs)
    required = set(required)
    for i, code_ in enumerate(fields):
        DatasetField.objects.create(dataset=dataset, field_code=code_, position=i,
                                    required=code_ in required)
    return dataset


def make_tag(code: str, name: str, department: Department, holders: Iterable[str] = (),
             category: str = "care", purpose: str = "关爱服务") -> TagDefinition:
    return TagDefinition.objects.create(code=code, name=name, department=department,
                                        holders=list(holders), category=category,
                                        purpose=purpose)


def add_record(dataset: Dataset, key: str, values: dict[str, str], *,
               region: Region | None = None, person: Person | None = None,
               observed_at: datetime.datetime | None = None) -> SourceRecord:
    """A stored source row of ``dataset`` with raw ``values`` (checked, cleaned, sealed)."""
    clean = {code: clean_value(code, raw) for code, raw in values.items()}
    record = SourceRecord(dataset=dataset, key=key, region=region, person=person,
                          observed_at=observed_at or timezone.now())
    records.apply(record, records.seal(clean))
    record.save()
    return record


def person_from(*rows: SourceRecord) -> Person:
    """A master person linked to ``rows``, its values chosen by survivorship."""
    person = Person.objects.create(region=rows[0].region if rows else None)
    for row in rows:
        row.person = person
        row.save(update_fields=["person"])
    return refresh_person(person)
