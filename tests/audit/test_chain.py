from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction

from wangge.audit.context import Actor, acting_as
from wangge.audit.guard import remove_guard
from wangge.audit.models import AuditRecord
from wangge.audit.services import record, verify_chain

pytestmark = pytest.mark.django_db


def _write(n: int) -> list[AuditRecord]:
    with acting_as(Actor(user_id=7, name="alice", role="staff", node_code="370102001001",
                         node_path="37.3701.370102.370102001.370102001001.",
                         client_ip="10.1.2.3")):
        return [record("regions.create", object_type="regions.region", object_id=i,
                       detail={"n": i, "name": "网格"}) for i in range(1, n + 1)]


def _drop_guard():
    """Simulate a privileged attacker who first removes the append-only triggers."""
    remove_guard()


def test_records_link_into_a_chain_that_verifies():
    recs = _write(5)
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(recs))
    stored = AuditRecord.objects.get(seq=3)
    assert (stored.actor, stored.role, stored.node_code, stored.client_ip) == (
        "alice", "staff", "370102001001", "10.1.2.3")
    result = verify_chain()
    assert result.ok and result.checked == 5


def test_database_refuses_update_and_delete():
    _write(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(seq=1).update(actor="mallory")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(seq=2)._raw_delete(using="default")
    with pytest.raises(RuntimeError):
        AuditRecord.objects.get(seq=1).delete()


def test_tampered_record_is_named_by_verify():
    _write(6)
    _drop_guard()
    AuditRecord.objects.filter(seq=4).update(purpose="nothing to see")
    result = verify_chain()
    assert not result.ok
    assert result.first_broken_seq == 4
    assert "altered" in result.reason
    with pytest.raises(CommandError, match="#4"):
        call_command("audit", "verify")


def test_deleted_record_is_named_by_verify():
    _write(5)
    _drop_guard()
    AuditRecord.objects.filter(seq=3)._raw_delete(using="default")
    result = verify_chain()
    assert not result.ok and result.first_broken_seq == 3


def test_rewritten_record_with_recomputed_hash_breaks_the_next_link():
    from wangge.audit.services import record_hash

    _write(4)
    _drop_guard()
    rec = AuditRecord.objects.get(seq=2)
    rec.purpose = "forged"
    new_hash = record_hash(rec)
    AuditRecord.objects.filter(seq=2).update(purpose="forged", hash=new_hash)
    result = verify_chain()
    assert not result.ok and result.first_broken_seq == 3
    assert "does not link" in result.reason


def test_sm3_chain_when_national_suite_configured(settings):
    settings.CRYPTO_SUITE = "gm"
    recs = _write(3)
    assert {r.alg for r in recs} == {"sm3"}
    assert verify_chain().ok


def test_verify_command_reports_intact_chain(capsys):
    _write(3)
    call_command("audit", "verify")
    assert "intact: 3 records" in capsys.readouterr().out
