"""A steward's linkage decisions — 人工合并、拆分与撤销: applied at once, reversible, audited.

- **Merge** two persons (合并): a *same* decision between one row of each; every row of the
  second person (and the tags added to it by hand) moves to the first, whose id stays — tags,
  forms and links keep working. The emptied person is removed unless something refers to it.
- **Split** a row off a person (拆分): *apart* decisions between that row and each other row
  of the person; the row gets a new person.
- **Decide** a review pair (same / apart, with a reason): the decision, applied the same way.
- **Revoke** a decision (撤销): the persons are restored as they were before it (``effects``
  says what moved), and the pair can be reviewed again.

All of it happens in one transaction, without running the model again; every later linkage
run passes the active decisions to the engine, so they are honoured from then on. Each
action waits for a run applying its clusters (a lock on running runs), so neither overwrites
the other. Scope is ``scope``'s rule; out-of-scope answers like missing (404).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.audit.services import record

from ..models import (
    LinkDecision,
    LinkRun,
    Person,
    PersonStatus,
    PersonTag,
    ReviewItem,
    ReviewStatus,
    SourceRecord,
    Verdict,
)
from . import effects, persons, scope
from .effects import MergeEffect, SplitEffect
from .errors import LinkingError
from .runs import RUNNING

REASON_MAX = 200


def clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise LinkingError(_("Give a reason for the decision."))
    if len(text) > REASON_MAX:
        raise LinkingError(_("The reason has at most %(max)d characters, not %(n)d.")
                           % {"max": REASON_MAX, "n": len(text)})
    return text


def _wait_for_runs() -> None:
    """Take the lock a run holds while applying its clusters (see ``runs``)."""
    list(LinkRun.objects.select_for_update().filter(status=RUNNING)
         .values_list("pk", flat=True))


def _lock_persons(ids) -> dict[int, Person]:
    wanted = sorted({i for i in ids if i is not None})
    return {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=wanted)
            .order_by("pk")}


def _not_found() -> LinkingError:
    return LinkingError(_("Not found, or not in your area."), status=404)


def _row_ids(person_id: int) -> list[int]:
    return list(SourceRecord.objects.filter(person_id=person_id).order_by("pk")
                .values_list("pk", flat=True))


def _active_between(verdict: str, left: list[int], right: list[int]) -> LinkDecision | None:
    return LinkDecision.objects.filter(
        Q(record_a_id__in=left, record_b_id__in=right)
        | Q(record_a_id__in=right, record_b_id__in=left),
        verdict=verdict, revoked_at__isnull=True).order_by("pk").first()


def _refuse_contradiction(verdict: str, left: list[int], right: list[int]) -> None:
    """A merge against a keep-apart decision (or a split against a merge) is refused: the
    steward revokes the earlier decision first, so the record of why stays readable."""
    earlier = _active_between(Verdict.APART if verdict == Verdict.SAME else Verdict.SAME,
                              left, right)
    if earlier is None:
        return
    if verdict == Verdict.SAME:
        message = _("Decision #%(id)s keeps records of these two persons apart; revoke it "
                    "first.")
    else:
        message = _("Decision #%(id)s merged this record with the person's others; revoke "
                    "it first.")
    raise LinkingError(message % {"id": earlier.pk}, status=409)


def _settle(*person_ids: int | None) -> tuple[bool, str]:
    """Survivorship for the persons given; the emptied one (if any) removed or kept.
    Returns (removed, kept_because) for the persons left empty."""
    removed, because = False, ""
    for pk in persons.refresh(p for p in person_ids if p is not None):
        gone, why = persons.remove_if_empty(pk)
        removed, because = removed or gone, because or why
    return removed, because


# -- merge ----------------------------------------------------------------------------------


def _merge_rows(decision: LinkDecision, keep: Person, other_id: int | None,
                moving: list[int]) -> MergeEffect:
    """Move ``moving`` rows (those of ``other_id``) and its manual tags to ``keep``."""
    effect = MergeEffect(decision=decision.pk, kept=keep.pk, merged=other_id, moved=moving)
    SourceRecord.objects.filter(pk__in=moving).update(person_id=keep.pk)
    if other_id is not None:
        held = set(PersonTag.objects.filter(person=keep).values_list("tag_id", flat=True))
        tags = list(PersonTag.objects.filter(person_id=other_id, dataset__isnull=True)
                    .exclude(tag_id__in=held).values_list("pk", flat=True))
        PersonTag.objects.filter(pk__in=tags).update(person_id=keep.pk)
        effect.tags = tags
    effect.removed, effect.kept_because = _settle(keep.pk, other_id)
    keep.refresh_from_db()
    PersonTag.objects.filter(pk__in=effect.tags).update(region_path=keep.region_path)
    return effect


def merge(user, keep_id: int, other_id: int, reason: str, token=None) -> MergeEffect:
    """Merge person ``other_id`` into ``keep_id`` (see the module docstring)."""
    scope.can_link(user, token)
    reason = clean_reason(reason)
    if keep_id == other_id:
        raise LinkingError(_("Choose two different persons."))
    with transaction.atomic():
        _wait_for_runs()
        locked = _lock_persons([keep_id, other_id])
        if set(locked) != {keep_id, other_id} or not scope.may_merge(user, list(locked)):
            raise _not_found()
        keep_rows, other_rows = _row_ids(keep_id), _row_ids(other_id)
        if not keep_rows or not other_rows:
            raise LinkingError(_("A person without records cannot be merged."), status=409)
        _refuse_contradiction(Verdict.SAME, keep_rows, other_rows)
        decision = LinkDecision.objects.create(
            record_a_id=keep_rows[0], record_b_id=other_rows[0], verdict=Verdict.SAME,
            reason=reason, decided_by=user)
        effect = _merge_rows(decision, locked[keep_id], other_id, other_rows)
        effects.write_merge(decision, effect, len(reason))
    return effect


# -- split ----------------------------------------------------------------------------------


def split(user, row_id: int, reason: str, token=None) -> SplitEffect:
    """Split source row ``row_id`` off its person (see the module docstring)."""
    scope.can_link(user, token)
    reason = clean_reason(reason)
    with transaction.atomic():
        _wait_for_runs()
        row = scope.rows(user).filter(pk=row_id).first()
        if row is None:
            raise _not_found()
        source = _lock_persons([row.person_id]).get(row.person_id)
        if source is None or row.person_id != source.pk:
            raise LinkingError(_("The record moved meanwhile; reload the page."), status=409)
        others = [pk for pk in _row_ids(source.pk) if pk != row.pk]
        if not others:
            raise LinkingError(_("This is the person's only record; there is nothing to "
                                 "split off."), status=409)
        _refuse_contradiction(Verdict.APART, [row.pk], others)
        now = timezone.now()
        made = [LinkDecision.objects.create(record_a_id=row.pk, record_b_id=other,
                                            verdict=Verdict.APART, reason=reason,
                                            decided_by=user, decided_at=now)
                for other in others]
        effect = _split_row(row, source.pk, [d.pk for d in made])
        effects.write_split(row, effect, len(reason))
    return effect


def _split_row(row: SourceRecord, source_id: int, decision_ids: list[int]) -> SplitEffect:
    target = persons.new_person(row.region_id)
    SourceRecord.objects.filter(pk=row.pk).update(person_id=target.pk)
    _settle(source_id, target.pk)
    return SplitEffect(row=row.pk, source=source_id, target=target.pk, decisions=decision_ids)


# -- a review pair --------------------------------------------------------------------------


def decide(user, item_id: int, verdict: str, reason: str, token=None) -> LinkDecision:
    """Decide review pair ``item_id`` (``same`` or ``apart``) and apply it at once."""
    scope.can_link(user, token)
    if verdict not in Verdict.values:
        raise LinkingError(_("Decide “same” or “apart”, not “%(value)s”.")
                           % {"value": str(verdict)[:20]})
    reason = clean_reason(reason)
    with transaction.atomic():
        _wait_for_runs()
        item = (scope.review_items(user).select_for_update(of=("self",))
                .select_related("record_a", "record_b").filter(pk=item_id).first())
        if item is None:
            raise _not_found()
        if item.status == ReviewStatus.DECIDED:
            raise LinkingError(_("This pair has been decided already."), status=409)
        a, b = item.record_a, item.record_b
        a.refresh_from_db(fields=["person"])
        b.refresh_from_db(fields=["person"])
        locked = _lock_persons([a.person_id, b.person_id])
        if set(SourceRecord.objects.filter(pk__in=[a.pk, b.pk]).values_list(
                "pk", "person_id")) != {(a.pk, a.person_id), (b.pk, b.person_id)}:
            raise LinkingError(_("The records moved meanwhile; reload the page."), status=409)
        if verdict == Verdict.SAME:
            decision = _decide_same(user, a, b, locked, reason, item)
        else:
            decision = _decide_apart(user, a, b, reason, item)
        item.status, item.decision = ReviewStatus.DECIDED, decision
        item.save(update_fields=["status", "decision"])
    return decision


def _decide_same(user, a: SourceRecord, b: SourceRecord, locked: dict[int, Person],
                 reason: str, item: ReviewItem) -> LinkDecision:
    pa, pb = a.person_id, b.person_id
    if pa is not None and pb is not None and pa != pb:
        if not scope.may_merge(user, [pa, pb]):
            raise LinkingError(_("One of these persons has records outside your area; a "
                                 "steward who serves them all decides."), status=403)
        _refuse_contradiction(Verdict.SAME, _row_ids(pa), _row_ids(pb))
    decision = LinkDecision.objects.create(record_a=a, record_b=b, verdict=Verdict.SAME,
                                           reason=reason, decided_by=user)
    if pa is None and pb is None:
        keep, other, moving = persons.new_person(a.region_id), None, [a.pk, b.pk]
    elif pa is None or pb is None:
        keep = locked[pa if pa is not None else pb]
        other, moving = None, [a.pk if pa is None else b.pk]
    elif pa == pb:
        keep, other, moving = locked[pa], None, []
    else:
        sizes = {p: len(_row_ids(p)) for p in (pa, pb)}
        keep_id = min((pa, pb), key=lambda p: (-sizes[p], p))
        other = pb if keep_id == pa else pa
        keep, moving = locked[keep_id], _row_ids(other)
    effect = _merge_rows(decision, keep, other, moving)
    effect.review = item.pk
    effects.write_merge(decision, effect, len(reason))
    return decision


def _decide_apart(user, a: SourceRecord, b: SourceRecord, reason: str,
                  item: ReviewItem) -> LinkDecision:
    if a.person_id is not None and a.person_id == b.person_id:
        _refuse_contradiction(Verdict.APART, [b.pk], [a.pk])
    decision = LinkDecision.objects.create(record_a=a, record_b=b, verdict=Verdict.APART,
                                           reason=reason, decided_by=user)
    if a.person_id is not None and a.person_id == b.person_id:
        effect = _split_row(b, a.person_id, [decision.pk])
    else:  # already two persons: the decision keeps them so
        effect = SplitEffect(row=b.pk, source=b.person_id, target=None,
                             decisions=[decision.pk])
    effect.review = item.pk
    effects.write_split(b, effect, len(reason))
    return decision


# -- revoke ---------------------------------------------------------------------------------


def revoke(user, decision_id: int, token=None) -> LinkDecision:
    """Revoke a decision (and the others made with it by one split) and restore the persons
    as they were before it. Revoking a revoked decision changes nothing."""
    scope.can_link(user, token)
    with transaction.atomic():
        _wait_for_runs()
        decision = scope.decisions(user).select_for_update(of=("self",)).filter(
            pk=decision_id).first()
        if decision is None:
            raise _not_found()
        if decision.revoked_at is not None:
            return decision
        if decision.verdict == Verdict.SAME:
            group, restored = [decision], _restore_merge(effects.merge_of(decision))
        else:
            split_effect = effects.split_of(decision)
            ids = split_effect.decisions if split_effect else [decision.pk]
            group = list(LinkDecision.objects.select_for_update().filter(
                pk__in=ids, revoked_at__isnull=True).order_by("pk"))
            restored = _restore_split(split_effect)
        now = timezone.now()
        for d in group:
            d.revoked_by, d.revoked_at = user, now
            d.save(update_fields=["revoked_by", "revoked_at"])
        # The pair may be reviewed again; the next run proposes it or marks it stale.
        ReviewItem.objects.filter(decision__in=group).update(status=ReviewStatus.OPEN,
                                                             decision=None)
        record(effects.REVOKED, decision, detail={
            "verdict": decision.verdict, "decisions": [d.pk for d in group], **restored})
    decision.refresh_from_db()
    return decision


def _restore_merge(effect: MergeEffect | None) -> dict:
    """Rows the merge moved that are still with the kept person go back to the merged one
    (re-created with its old id if it was removed)."""
    if effect is None or not effect.moved:
        return {"restored_rows": 0}
    locked = _lock_persons([effect.kept, effect.merged])
    back = list(SourceRecord.objects.filter(pk__in=effect.moved, person_id=effect.kept)
                .order_by("pk").values_list("pk", "region_id"))
    if not back:
        return {"restored_rows": 0}
    target = locked.get(effect.merged) if effect.merged is not None else None
    if target is None or target.status != PersonStatus.ACTIVE:
        if effect.merged is not None and target is None:
            target = Person.objects.create(pk=effect.merged, region_id=back[0][1])
        else:
            target = persons.new_person(back[0][1])
    SourceRecord.objects.filter(pk__in=[pk for pk, _region in back]).update(person_id=target.pk)
    held = set(PersonTag.objects.filter(person=target).values_list("tag_id", flat=True))
    PersonTag.objects.filter(pk__in=effect.tags, person_id=effect.kept).exclude(
        tag_id__in=held).update(person_id=target.pk)
    _settle(effect.kept, target.pk)
    target.refresh_from_db()
    PersonTag.objects.filter(pk__in=effect.tags, person_id=target.pk).update(
        region_path=target.region_path)
    return {"restored_rows": len(back), "restored_person": target.pk}


def _restore_split(effect: SplitEffect | None) -> dict:
    """The row goes back to the person it was split from (or, if that one is gone, to the
    person now holding most of the rows it was kept apart from)."""
    if effect is None or effect.target is None:
        return {"restored_rows": 0}
    row = SourceRecord.objects.filter(pk=effect.row, person_id=effect.target).first()
    if row is None:
        return {"restored_rows": 0}
    others = [b if a == effect.row else a for a, b in LinkDecision.objects.filter(
        pk__in=effect.decisions).values_list("record_a_id", "record_b_id")]
    holders = list(SourceRecord.objects.filter(pk__in=others, person__isnull=False,
                                               person__status=PersonStatus.ACTIVE)
                   .exclude(person_id=effect.target).values_list("person_id", flat=True))
    if not holders:
        return {"restored_rows": 0}
    home = effect.source if effect.source in holders else max(
        set(holders), key=lambda p: (holders.count(p), -p))
    _lock_persons([home, effect.target])
    SourceRecord.objects.filter(pk=row.pk).update(person_id=home)
    _settle(home, effect.target)
    return {"restored_rows": 1, "restored_person": home}
