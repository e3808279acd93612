"""Erasure as a workflow — 删除/匿名化: asked for, decided by a data steward, carried out once.

Who may do what (``accounts.roles``):

- ``registry.erase_request`` (street / community staff, the command centre, grid workers,
  stewards) asks about a person in their scope; a resident asks about her own record
  (``registry.own_data``, matched as ``own_data`` says). A retry of the same pending request
  returns it unchanged.
- ``registry.erase`` (data stewards) decides requests about persons in his subtree —
  another steward than the one who asked (four eyes). Approving carries the request out in
  the same transaction; approving or refusing twice does nothing more. Out of scope answers
  404, exactly like a request that does not exist.

What carrying out means:

- **anonymise** (匿名化): the person's protected values emptied (name, ID number, phone,
  address: cipher, index and mask), ``values`` / ``chosen`` / conflicts cleared, sex,
  residence type, household and house unlinked, tags removed, ``status`` anonymised. The
  year of birth and the grid are kept as statistics (how many people of which age live
  where), nothing else. Every linked source row becomes a husk: its sealed payload, masked
  values, blind indexes and row hash are emptied and its key (which may be the blind index
  of an ID number) replaced, so no value of hers remains; the husk keeps its dataset, grid,
  date and person, so counts and other persons' provenance still add up.
- **delete** (删除): her source rows and tags deleted, then the person. Rows of other apps
  that must keep pointing at her (a collection form's target, a grid worker's visit,
  ``on_delete=PROTECT``) refuse the deletion with a message naming them; anonymising is then
  the way (it keeps the visits but empties their notes).

Every step is audited without values: ``registry.erase_requested``, ``registry.erase_decided``
and ``registry.erased`` (with counts).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, CharField, IntegerField, Q, QuerySet, Value, When
from django.db.models.deletion import ProtectedError, RestrictedError
from django.db.models.functions import Cast, Concat
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wangge.accounts.permissions import has_permission, require_permission
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.audit.services import record

from .models import (
    ErasureKind,
    ErasureRequest,
    ErasureStatus,
    Person,
    PersonStatus,
    PersonTag,
    ReviewItem,
    ReviewStatus,
    SourceRecord,
)

REQUEST_PERMISSION = "registry.erase_request"
DECIDE_PERMISSION = "registry.erase"
OWN_PERMISSION = "registry.own_data"
REASON_MAX = 1000
NOTE_MAX = 1000
HUSK_KEY_PREFIX = "erased-"
# Person columns an anonymised record keeps, as statistics (say so wherever this is shown).
KEPT_COLUMNS = ("birth_year", "region")


# --- carrying out --------------------------------------------------------------------------

def husk_rows(rows: QuerySet[SourceRecord]) -> int:
    """Empty the values of ``rows`` and keep them as husks; returns how many."""
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0
    # Pairs the linkage model proposed about these rows compare nothing any more.
    ReviewItem.objects.filter(Q(record_a_id__in=ids) | Q(record_b_id__in=ids),
                              status=ReviewStatus.OPEN).update(status=ReviewStatus.STALE)
    return SourceRecord.objects.filter(pk__in=ids).update(
        payload_cipher="", masked={}, id_number_index="", phone_index="", name_index="",
        row_hash="", key=Concat(Value(HUSK_KEY_PREFIX),
                                Cast("pk", output_field=CharField(max_length=40))),
        updated_at=timezone.now())


def anonymise_person(person: Person) -> dict[str, int]:
    """Anonymise ``person`` (saved) and husk its source rows; the caller holds the
    transaction. Running it again changes nothing more."""
    for field in Person.protected_fields:
        setattr(person, field, "")
    person.values, person.chosen, person.conflict_fields = {}, {}, []
    person.has_conflicts = False
    person.sex = person.residence_type = ""
    person.household = person.house = None
    person.status = PersonStatus.ANONYMISED
    person.save()
    tags = PersonTag.objects.filter(person=person).delete()[0]
    rows = husk_rows(SourceRecord.objects.filter(person=person))
    # Forms that asked about her keep the target (their counts stay true) but not what was
    # pre-filled from her record.
    from wangge.catalog.models import FormTarget

    forms = FormTarget.objects.filter(person=person).exclude(prefilled={}).update(prefilled={})
    # Visits to her stay (a grid worker's work and the visit counts stay true) but not what
    # was written about her.
    from wangge.gridwork.models import Visit

    visits = Visit.objects.filter(person=person).exclude(note="").update(note="")
    return {"source_rows": rows, "tags": tags, "form_targets": forms, "visits": visits}


def references(person: Person) -> list[str]:
    """What still refers to ``person`` and would forbid deleting it, in the reader's words."""
    from wangge.catalog.models import FormTarget

    found = []
    targets = (FormTarget.objects.filter(person=person).select_related("form")
               .order_by("form_id"))
    for target in targets:
        found.append(_("collection form “%(form)s”") % {"form": target.form.name})
    from wangge.gridwork.models import Visit

    visits = Visit.objects.filter(person=person).count()
    if visits:
        found.append(ngettext("%(n)d visit by a grid worker", "%(n)d visits by grid workers",
                              visits) % {"n": visits})
    return found


def delete_person(person: Person) -> dict[str, int]:
    """Delete ``person`` with its source rows and tags; ``ValidationError`` naming what
    still refers to it. The caller holds the transaction."""
    blockers = references(person)
    if blockers:
        raise ValidationError({"person": _blocked_message(blockers)})
    rows = SourceRecord.objects.filter(person=person).delete()[1].get(
        SourceRecord._meta.label, 0)
    tags = PersonTag.objects.filter(person=person).delete()[0]
    try:
        with transaction.atomic():
            person.delete()
    except (ProtectedError, RestrictedError) as exc:
        names = sorted({f"{o._meta.verbose_name} {o}" for o in exc.args[1]})[:5]
        raise ValidationError({"person": _blocked_message(names)}) from None
    return {"source_rows": rows, "tags": tags}


def _blocked_message(names: list[str]) -> str:
    return _("This person cannot be deleted while %(what)s still refers to them; anonymise "
             "the person instead.") % {"what": "、".join(names)}


CARRY_OUT = {ErasureKind.ANONYMISE: anonymise_person, ErasureKind.DELETE: delete_person}


# --- asking --------------------------------------------------------------------------------

def _check_request(kind: str, reason: str) -> tuple[str, str]:
    reason = (reason or "").strip()
    errors = {}
    if kind not in ErasureKind.values:
        errors["kind"] = _("choose anonymise or delete")
    if not reason:
        errors["reason"] = _("say why the data should go")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("at most %(max)d characters, not %(n)d") % {
            "max": REASON_MAX, "n": len(reason)}
    if errors:
        raise ValidationError(errors)
    return kind, reason


def _create(user, person: Person, kind: str, reason: str, *, own: bool
            ) -> tuple[ErasureRequest, bool]:
    """The new request (True), or the same pending one already asked (False)."""
    kind, reason = _check_request(kind, reason)
    if person.status == PersonStatus.ANONYMISED and kind == ErasureKind.ANONYMISE:
        raise ValidationError({"kind": _("this record is already anonymised")})
    with transaction.atomic():
        existing = ErasureRequest.objects.filter(
            person=person, kind=kind, requested_by=user, status=ErasureStatus.PENDING).first()
        if existing is not None:
            return existing, False
        req = ErasureRequest.objects.create(person=person, region_path=person.region_path,
                                            kind=kind, reason=reason, requested_by=user)
        record("registry.erase_requested", req,
               detail={"person": person.pk, "kind": kind, "own_record": own})
    return req, True


def request_erasure(user, person_id: int, kind: str, reason: str, *, token=None
                    ) -> tuple[ErasureRequest, bool]:
    """Staff ask to erase a person they can see (``Http404`` otherwise)."""
    require_permission(user, REQUEST_PERMISSION, token)
    person = get_visible_or_404(Person, user, pk=person_id)
    return _create(user, person, kind, reason, own=False)


def request_own_erasure(user, person_id: int, kind: str, reason: str
                        ) -> tuple[ErasureRequest, bool]:
    """A resident asks to erase her own record (one ``own_data`` matches to her)."""
    from .own_data import own_persons

    require_permission(user, OWN_PERMISSION)
    person = own_persons(user).filter(pk=person_id).first()
    if person is None:
        raise Http404
    return _create(user, person, kind, reason, own=True)


# --- who sees which requests ---------------------------------------------------------------

def _pending_first(qs: QuerySet[ErasureRequest]) -> QuerySet[ErasureRequest]:
    return qs.annotate(pending_rank=Case(
        When(status=ErasureStatus.PENDING, then=Value(0)), default=Value(1),
        output_field=IntegerField())).order_by("pending_rank", "-requested_at", "-pk")


def requests_to_decide(user) -> QuerySet[ErasureRequest]:
    """Requests in a steward's subtree, pending first (none for anyone else)."""
    if not has_permission(user, DECIDE_PERMISSION):
        return ErasureRequest.objects.none()
    return _pending_first(visible_to(ErasureRequest, user)).select_related(
        "person", "requested_by", "decided_by")


def requests_of(user) -> QuerySet[ErasureRequest]:
    """The requests ``user`` asked for, pending first."""
    if not getattr(user, "is_authenticated", False):
        return ErasureRequest.objects.none()
    return _pending_first(ErasureRequest.objects.filter(requested_by=user)).select_related(
        "person", "decided_by")


def can_list(user) -> bool:
    return any(has_permission(user, p)
               for p in (DECIDE_PERMISSION, REQUEST_PERMISSION, OWN_PERMISSION))


def get_request_or_404(user, pk: int) -> ErasureRequest:
    """One request its asker or a steward in scope may read; anything else is a 404."""
    req = (requests_of(user).filter(pk=pk).first()
           or requests_to_decide(user).filter(pk=pk).first())
    if req is None:
        raise Http404
    return req


def can_decide(user, req: ErasureRequest) -> bool:
    return (req.status == ErasureStatus.PENDING and req.requested_by_id != user.pk
            and has_permission(user, DECIDE_PERMISSION))


# --- deciding ------------------------------------------------------------------------------

def decide(user, pk: int, approve: bool, note: str = "", *, token=None) -> ErasureRequest:
    """Approve (and carry out) or refuse request ``pk``; idempotent for the same answer.

    ``PermissionDenied`` without ``registry.erase``; ``Http404`` out of scope;
    ``ValidationError`` naming the field for a refusal without a note, a request already
    decided the other way, one's own request, or a deletion something still refers to.
    """
    require_permission(user, DECIDE_PERMISSION, token)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("at most %(max)d characters, not %(n)d")
                               % {"max": NOTE_MAX, "n": len(note)}})
    if not approve and not note:
        raise ValidationError({"note": _("say why the request is refused")})
    wanted = ErasureStatus.APPROVED if approve else ErasureStatus.REFUSED
    with transaction.atomic():
        req = visible_to(ErasureRequest, user).select_for_update().filter(pk=pk).first()
        if req is None:
            raise Http404
        if req.status == wanted:
            return req  # asked twice (double click, retry): done already
        if req.status != ErasureStatus.PENDING:
            raise ValidationError({"decision": _("this request was already %(status)s")
                                   % {"status": req.get_status_display()}})
        if req.requested_by_id == user.pk:
            raise ValidationError({"decision": _("another steward must decide a request you "
                                                 "made yourself")})
        counts = _carry_out(user, req) if approve else {}
        req.status, req.decided_by, req.decided_at = wanted, user, timezone.now()
        req.decision_note = note
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record("registry.erase_decided", req,
               detail={"decision": str(wanted), "kind": req.kind, "person": req.person_id})
        if approve:
            record("registry.erased", req,
                   detail={"kind": req.kind, "person": req.person_id, **counts})
    return req


def _carry_out(user, req: ErasureRequest) -> dict[str, int]:
    if req.person_id is None:  # already deleted by another request: nothing is left
        return {"source_rows": 0, "tags": 0}
    person = Person.objects.select_for_update().filter(pk=req.person_id).first()
    if person is None:
        return {"source_rows": 0, "tags": 0}
    if not visible_to(Person, user).filter(pk=person.pk).exists():
        raise Http404  # the person moved out of the steward's subtree since the request
    return CARRY_OUT[ErasureKind(req.kind)](person)
