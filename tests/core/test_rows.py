"""The hot-path row helpers read and write exactly what the ORM would."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from wangge.audit.models import AuditRecord
from wangge.core import memo, rows
from wangge.regions.models import Region

pytestmark = pytest.mark.django_db


def test_fetch_one_reads_the_row_as_the_orm_does(tree):
    by_orm = Region.objects.get(code="370102001001")
    fetched = rows.fetch_one(Region, "code", "370102001001", skip=("geometry",))
    assert fetched is not None and fetched.pk == by_orm.pk
    for field in Region._meta.concrete_fields:
        if field.name != "geometry":
            assert getattr(fetched, field.attname) == getattr(by_orm, field.attname), field.name
    assert "geometry" in fetched.get_deferred_fields()
    # A skipped field is still there when asked for: read then, as the ORM does.
    assert fetched.geometry == by_orm.geometry
    assert rows.fetch_one(Region, "code", "no-such-code") is None


def test_insert_writes_what_save_would_and_sets_the_key():
    at = timezone.now() - timedelta(minutes=3)
    rec = AuditRecord(seq=987654, at=at, actor="测试", action="tests.insert",
                      detail='{"a":1}', alg="sha256", prev_hash="0" * 64, hash="f" * 64)
    rows.insert(rec)
    assert rec.pk is not None and not rec._state.adding
    stored = AuditRecord.objects.get(pk=rec.pk)
    assert (stored.seq, stored.actor, stored.action, stored.detail) == (
        987654, "测试", "tests.insert", '{"a":1}')
    assert isinstance(stored.at, datetime) and stored.at == at


def test_recent_keeps_a_row_for_its_seconds_and_not_a_missing_one(monkeypatch):
    loads = []

    def load(key):
        loads.append(key)
        return None if key == "missing" else key.upper()

    recent = memo.Recent(load, seconds=5.0, max_entries=2)
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    assert recent.get("a") == "A" and recent.get("a") == "A"
    assert loads == ["a"]
    now[0] += 5.1
    assert recent.get("a") == "A"
    assert loads == ["a", "a"]
    assert recent.get("missing") is None and recent.get("missing") is None
    assert loads.count("missing") == 2  # never kept: a row created meanwhile is found
    recent.get("b")
    recent.get("c")  # past max_entries: the memory starts afresh
    recent.get("a")
    assert loads[-2:] == ["c", "a"]
    recent.clear()
    recent.get("c")
    assert loads[-1] == "c"
