"""What a merge or un-merge did — 合并/拆分的效果, kept so that revoking can undo it.

Revoking a decision restores the persons as they were *before* it: after a merge, the
persons' former rows; after an un-merge, the row back in its person. The decision row
(``LinkDecision``) says which pair and which verdict, not which rows moved, so the move is
kept in the audit record the action writes anyway (``registry.merge`` /
``registry.unmerge``): ids of persons, rows and tags — never values. The trail is
append-only and hash-chained, so what is read back is what was done.

This module is the only place that writes or reads that detail; a dedicated column on the
decision (``LinkDecision.effect``) would replace the look-up without touching callers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from wangge.audit.models import AuditRecord
from wangge.audit.services import record

from ..models import LinkDecision, SourceRecord

MERGE = "registry.merge"
UNMERGE = "registry.unmerge"
REVOKED = "registry.decision_revoked"
DECISION_TYPE = LinkDecision._meta.label_lower
ROW_TYPE = SourceRecord._meta.label_lower


@dataclass
class MergeEffect:
    """Rows (and manual tags) of ``merged`` that went to ``kept``."""

    decision: int
    kept: int
    merged: int | None  # None: the rows had no person yet
    moved: list[int] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    removed: bool = False  # the emptied person was removed (else kept: ``kept_because``)
    kept_because: str = ""
    review: int | None = None


@dataclass
class SplitEffect:
    """``row`` left ``source`` for ``target``; ``decisions`` keep it apart from the rest."""

    row: int
    source: int | None
    target: int | None
    decisions: list[int] = field(default_factory=list)
    review: int | None = None


def write_merge(decision: LinkDecision, effect: MergeEffect, reason_length: int) -> None:
    record(MERGE, decision, detail={**asdict(effect), "reason_length": reason_length})


def write_split(row: SourceRecord, effect: SplitEffect, reason_length: int) -> None:
    record(UNMERGE, row, detail={**asdict(effect), "reason_length": reason_length})


def _detail(rec: AuditRecord) -> dict:
    try:
        return json.loads(rec.detail or "{}")
    except ValueError:
        return {}


def merge_of(decision: LinkDecision) -> MergeEffect | None:
    """The effect of the merge that created ``decision`` (None: nothing moved)."""
    rec = (AuditRecord.objects.filter(action=MERGE, object_type=DECISION_TYPE,
                                      object_id=str(decision.pk)).order_by("-seq").first())
    if rec is None:
        return None
    detail = _detail(rec)
    names = MergeEffect.__dataclass_fields__
    return MergeEffect(**{k: v for k, v in detail.items() if k in names})


def split_of(decision: LinkDecision) -> SplitEffect | None:
    """The un-merge ``decision`` belongs to (with its sibling decisions), if it moved a row."""
    candidates = AuditRecord.objects.filter(
        action=UNMERGE, object_type=ROW_TYPE,
        object_id__in=[str(decision.record_a_id), str(decision.record_b_id)]).order_by("-seq")
    names = SplitEffect.__dataclass_fields__
    for rec in candidates:
        detail = _detail(rec)
        if decision.pk in detail.get("decisions", []):
            return SplitEffect(**{k: v for k, v in detail.items() if k in names})
    return None
