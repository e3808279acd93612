"""Retention: rows past their dataset's retention go, persons left with nothing are
anonymised, the rest re-chosen; audited with counts; a dry run writes nothing."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from tests.registry.test_erasure import _at_once
from tests.registry_factories import ID_A, ID_B, ID_C, add_record, person_from
from wangge.audit.models import AuditRecord
from wangge.core.jobs import JOBS
from wangge.registry.models import Person, PersonStatus, PersonTag, SourceRecord
from wangge.registry.retention import apply_retention, due_for_retention

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


@pytest.fixture
def city(tree, hukou, elderly_list):
    """民政's list keeps rows 30 days; 公安's register keeps them while listed.

    - 王芳: in both; 民政's row is stale (40 days) and alone gave her second phone.
    - 张老: only in 民政's list, stale: nothing of him remains.
    - 赵敏: 民政's row is fresh (10 days).
    - 李四: 公安's row is 1000 days old, but 公安 has no retention.
    """
    elderly_list.retention_days = 30
    elderly_list.save()
    grid = tree["370102001001001"]
    wang = person_from(
        add_record(hukou, "h-wang", {"name": "王芳", "id_number": ID_B}, region=grid),
        add_record(elderly_list, "e-wang", {"name": "王芳", "id_number": ID_B,
                                            "phone": "13900000009"}, region=grid,
                   observed_at=days_ago(40)))
    zhang = person_from(add_record(elderly_list, "e-zhang", {"name": "张老", "id_number": ID_C,
                                                             "phone": "13900000010"},
                                   region=grid, observed_at=days_ago(45)))
    zhao = person_from(add_record(elderly_list, "e-zhao", {"name": "赵敏"}, region=grid,
                                  observed_at=days_ago(10)))
    li = person_from(add_record(hukou, "h-li", {"name": "李四", "id_number": ID_A},
                                region=grid, observed_at=days_ago(1000)))
    return {"wang": wang, "zhang": zhang, "zhao": zhao, "li": li, "elderly": elderly_list,
            "hukou": hukou}


def keys() -> set[str]:
    return set(SourceRecord.objects.values_list("key", flat=True))


def test_due_rows_go_and_orphans_are_anonymised(city):
    assert due_for_retention(city["elderly"]) == 2
    assert due_for_retention(city["hukou"]) == 0  # no retention: nothing is ever due
    assert Person.objects.get(pk=city["wang"].pk).phone == "139****0009"

    report = apply_retention()
    assert report.rows == 2 and report.persons_anonymised == 1
    assert keys() == {"h-wang", "e-zhao", "h-li"}
    # 张老 had nothing else: anonymised, his tag gone.
    zhang = Person.objects.get(pk=city["zhang"].pk)
    assert zhang.status == PersonStatus.ANONYMISED
    assert (zhang.name_cipher, zhang.id_number_index, zhang.phone_masked) == ("", "", "")
    assert not PersonTag.objects.filter(person=zhang).exists()
    # 王芳 keeps 公安's row: her values are chosen again, the stale phone is gone, and so is
    # the 独居老人 tag that came with 民政's row.
    wang = Person.objects.get(pk=city["wang"].pk)
    assert wang.status == PersonStatus.ACTIVE and wang.phone == "" and wang.name == "王*"
    assert set(wang.chosen) == {"name", "id_number"}
    assert not PersonTag.objects.filter(person=wang).exists()
    # The others are untouched.
    assert Person.objects.get(pk=city["zhao"].pk).status == PersonStatus.ACTIVE
    assert Person.objects.get(pk=city["li"].pk).id_number == "3701**********211X"

    audit = AuditRecord.objects.get(action="registry.retention")
    detail = json.loads(audit.detail)
    assert detail["dataset"] == "mz-elderly-alone" and detail["retention_days"] == 30
    assert (detail["rows"], detail["persons_anonymised"], detail["persons_updated"]) == (2, 1, 1)
    assert "13900000009" not in audit.detail and ID_C not in audit.detail


def test_second_pass_does_nothing(city):
    apply_retention()
    before = (keys(), AuditRecord.objects.count())
    report = apply_retention()
    assert report.rows == 0 and report.datasets == []
    assert (keys(), AuditRecord.objects.count()) == before


def test_dry_run_counts_and_writes_nothing(city):
    before = (keys(), AuditRecord.objects.count(),
              list(Person.objects.values_list("status", flat=True)))
    report = apply_retention(dry_run=True)
    item = next(d for d in report.datasets if d.code == "mz-elderly-alone")
    assert (item.rows, item.persons_anonymised, item.persons_updated) == (2, 1, 1)
    assert (keys(), AuditRecord.objects.count(),
            list(Person.objects.values_list("status", flat=True))) == before


def test_batches_are_one_transaction_each(city):
    report = apply_retention(batch=1)
    assert report.rows == 2
    assert AuditRecord.objects.filter(action="registry.retention").count() == 2


def test_command_dry_run_then_for_real(city):
    out = io.StringIO()
    call_command("registry_retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "mz-elderly-alone" in text and "would delete 2 row(s)" in text
    assert "would anonymise 1 person(s)" in text
    assert len(keys()) == 5
    out = io.StringIO()
    call_command("registry_retention", stdout=out)
    assert "deleted 2 row(s)" in out.getvalue() and len(keys()) == 3
    audit = AuditRecord.objects.get(action="registry.retention")
    assert audit.actor.startswith("system:registry_retention")
    out = io.StringIO()
    call_command("registry_retention", stdout=out)
    assert "no dataset has rows past its retention" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("registry_retention", "--batch", "0")


def test_the_worker_runs_it_daily(city):
    job = next(j for j in JOBS if j.name == "registry.retention")
    assert job.every_seconds <= 86400
    assert job.run() == 2
    assert job.run() == 0


def test_husks_of_an_anonymised_person_go_like_any_row(city):
    """Erased rows keep their date: retention removes them in time like the rest."""
    from wangge.registry.erasure import anonymise_person

    zhang = Person.objects.get(pk=city["zhang"].pk)
    anonymise_person(zhang)
    report = apply_retention()
    assert report.rows == 2 and report.persons_anonymised == 0  # he was already
    assert not SourceRecord.objects.filter(person=zhang).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_delete_each_row_once(tree, hukou, elderly_list):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads cannot share SQLite's in-memory test database")
    elderly_list.retention_days = 30
    elderly_list.save()
    grid = tree["370102001001001"]
    stale = []
    for i in range(24):
        row = add_record(elderly_list, f"e{i}", {"name": f"老人{'甲乙丙丁'[i % 4]}"},
                         region=grid, observed_at=days_ago(40))
        stale.append(row)
    # Pairs of stale rows share a person, so two workers may reach the same person.
    for a, b in zip(stale[::2], stale[1::2], strict=True):
        person_from(a, b)
    reports = []

    def work(_i: int) -> None:
        reports.append(apply_retention(batch=3))

    errors = _at_once(3, work)
    assert errors == []
    assert sum(r.rows for r in reports) == 24
    assert sum(r.persons_anonymised for r in reports) == 12
    assert not SourceRecord.objects.exists()
    assert set(Person.objects.values_list("status", flat=True)) == {PersonStatus.ANONYMISED}
    audited = [json.loads(d) for d in AuditRecord.objects.filter(
        action="registry.retention").values_list("detail", flat=True)]
    assert sum(d["rows"] for d in audited) == 24
    assert sum(d["persons_anonymised"] for d in audited) == 12
