"""Writing and verifying the audit trail.

``record`` is called by every service that writes or reveals, inside that service's own
transaction, so the business change and its audit record commit or roll back together.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from wangge.core import rows

from .context import Actor, current_actor
from .models import AuditHead, AuditRecord

GENESIS = "0" * 64


def _digest(alg: str, data: bytes) -> str:
    if alg == "sha256":
        return hashlib.sha256(data).hexdigest()
    if alg == "sm3":
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize().hex()
    raise ValueError(f"unknown audit hash algorithm {alg!r}")


def chain_algorithm() -> str:
    """SM3 when the national suite 国密 is configured, SHA-256 otherwise."""
    return "sm3" if settings.CRYPTO_SUITE == "gm" else "sha256"


def canonical_detail(detail: dict[str, Any] | None) -> str:
    return json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def record_hash(rec: AuditRecord) -> str:
    """Hash of a record's content and its predecessor's hash (the chain link)."""
    body = json.dumps(
        [
            rec.seq, rec.at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
            rec.actor_id, rec.actor, rec.role, rec.node_code, rec.node_path, rec.action,
            rec.object_type, rec.object_id, rec.purpose, rec.client_ip, rec.detail,
            rec.prev_hash,
        ],
        ensure_ascii=False, separators=(",", ":"),
    )
    return _digest(rec.alg, body.encode())


def _lock_head() -> tuple[int, str]:
    """The chain head's (seq, hash), taken under a write lock; concurrent appenders queue here.

    Plain SQL, as ``_move_head``: every write of the platform passes here, and the ORM would
    spend longer composing these one-row statements than the database spends on them.
    """
    # On SQLite the transaction began IMMEDIATE, so the write lock is already held (and
    # SQLite has no FOR UPDATE).
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT seq, hash FROM {_head_table()} WHERE id = 1{lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
        if row is None:
            AuditHead.objects.get_or_create(pk=1)
            cursor.execute(sql)
            row = cursor.fetchone()
    return row[0], row[1]


def _move_head(seq: int, digest: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_head_table()} SET seq = %s, hash = %s "  # noqa: S608
                       "WHERE id = 1", [seq, digest])


def _head_table() -> str:
    return connection.ops.quote_name(AuditHead._meta.db_table)


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: str | int = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditRecord:
    """Append one record: ``actor`` did ``action`` to ``obj`` (for ``purpose``)."""
    actor = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    # Inside the caller's transaction no savepoint: if the append fails, the caller's whole
    # change must roll back with it anyway.
    with transaction.atomic(savepoint=False):
        head_seq, head_hash = _lock_head()
        rec = AuditRecord(
            seq=head_seq + 1,
            at=timezone.now(),
            actor_id=actor.user_id,
            actor=actor.name[:150],
            role=actor.role,
            node_code=actor.node_code,
            node_path=actor.node_path,
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:80],
            purpose=purpose[:300],
            client_ip=actor.client_ip,
            detail=canonical_detail(detail),
            alg=chain_algorithm(),
            prev_hash=head_hash,
        )
        rec.hash = record_hash(rec)
        rows.insert(rec)
        _move_head(rec.seq, rec.hash)
    return rec


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def _iter_chain(batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = list(AuditRecord.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain() -> VerifyResult:
    """Recompute every link; report the first record whose content or link is wrong."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for rec in _iter_chain():
        if rec.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq,
                                f"record #{expected_seq} is missing (next is #{rec.seq})")
        if rec.prev_hash != expected_prev:
            return VerifyResult(False, checked, rec.seq,
                                f"record #{rec.seq} does not link to the record before it")
        if record_hash(rec) != rec.hash:
            return VerifyResult(False, checked, rec.seq,
                                f"record #{rec.seq} was altered after it was written")
        expected_prev = rec.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head and head.seq != checked:
        return VerifyResult(False, checked, checked + 1,
                            f"the chain head says #{head.seq} but the trail ends at #{checked}")
    return VerifyResult(True, checked)
