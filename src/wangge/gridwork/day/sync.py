"""Offline sync — 离线同步: what a phone kept while without signal, applied once.

The phone stores every change first (its outbox), each with a key it made itself, and sends
the outbox in order when the connection returns. Each item is applied in its own
transaction through the service that owns it (tasks, visits, cases, patrols, the
catalogue's collection forms) and answered
with a receipt (``SyncReceipt``) kept under its key:

- ``applied``: done; the phone forgets the item.
- ``conflict``: someone changed it first (a target another worker completed, a form's person
  already answered); nothing was overwritten; the message says who and when.
- ``refused``: wrong input, not allowed, not found; nothing was written.

A key sent again (the answer was lost, the phone retries) gets the stored receipt back and
writes nothing. Conflicts and refusals stay listed for the worker until she dismisses them.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from wangge.audit.services import record
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal, require

from ..models import SyncOutcome, SyncReceipt, TargetStatus
from ..visits import service as visits
from . import patrols

PERMISSION = "gridwork.work"
MAX_ITEMS = 200
MAX_PHOTOS = 3  # per quick report
DATA_URL = re.compile(r"data:(image/[a-z+.-]+);base64,([A-Za-z0-9+/=]+)")
LABEL_MAX = 200
OUTCOME_BY_STATUS = {409: SyncOutcome.CONFLICT}  # every other refusal: refused


@dataclass(frozen=True)
class Receipt:
    """The answer to one item, as the phone reads it."""

    key: str
    kind: str
    outcome: str
    message: str
    detail: dict
    replayed: bool

    def as_dict(self) -> dict:
        return {"key": self.key, "kind": self.kind, "outcome": self.outcome,
                "message": self.message, "detail": self.detail, "replayed": self.replayed}


# -- what each kind of item does -------------------------------------------------------------


def _payload(item: dict) -> dict:
    payload = item.get("payload")
    if not isinstance(payload, dict):
        raise Invalid(_("payload: an object is expected."), field="payload")
    return payload


def _target(user, key: str, item: dict, token) -> dict:
    from wangge.gridwork.tasks import service as tasks

    p = _payload(item)
    status = p.get("status") or TargetStatus.DONE
    result = p.get("result") or {}
    if not isinstance(result, dict):
        raise Invalid(_("result: an object of field values is expected."), field="result")
    base = item.get("base_version")
    outcome = tasks.complete_target(
        user, _int(p.get("target"), "target"), status=status, result=result,
        note=str(p.get("note") or ""), idempotency_key=key,
        base_version=None if base in (None, "") else _int(base, "base_version"), token=token)
    target = outcome.target
    return {"target": target.pk, "status": target.status, "version": target.version}


def _visit(user, key: str, item: dict, token) -> dict:
    p = _payload(item)
    visited_at = patrols.parse_time(p["visited_at"], "visited_at") if p.get("visited_at") \
        else None
    case = None
    if isinstance(p.get("case"), dict) and (p["case"].get("title") or "").strip():
        c = p["case"]
        case = visits.CaseRequest(category=str(c.get("category") or ""),
                                  title=str(c.get("title") or ""),
                                  description=str(c.get("description") or ""))
    visit, _created = visits.record_visit(
        user, person_id=_int(p.get("person"), "person"), tag_id=_int(p.get("tag"), "tag"),
        outcome=str(p.get("outcome") or ""), note=str(p.get("note") or ""),
        visited_at=visited_at, idempotency_key=key, case=case, token=token)
    return {"visit": visit.pk, "person": visit.person_id,
            "case": visit.case.code if visit.case_id else None}


def _photos(user, raw) -> list[int]:
    """Photos taken for a quick report, kept on the phone as data URLs until it was online.

    Each goes through the same checks and storage as an upload on the report page (type by
    content, size, pixels; stored outside the web root). They are stored in the item's own
    transaction: if the report is refused, no photo row stays (the sweep job removes the
    file).
    """
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wangge.cases.services import CaseError, add_photo

    if raw in (None, "", []):
        return []
    if not isinstance(raw, list) or len(raw) > MAX_PHOTOS:
        raise Invalid(_("photos: at most %(n)d photos, each as a data URL.") % {"n": MAX_PHOTOS},
                      field="photos")
    ids = []
    for n, url in enumerate(raw, 1):
        match = DATA_URL.fullmatch(url) if isinstance(url, str) else None
        try:
            data = base64.b64decode(match.group(2), validate=True) if match else None
        except (binascii.Error, ValueError):
            data = None
        if not data:
            raise Invalid(_("photos: photo %(n)d is not a base64 data URL of an image.")
                          % {"n": n}, field="photos")
        upload = SimpleUploadedFile(f"offline-{n}", data, content_type=match.group(1))
        try:
            ids.append(add_photo(user, None, upload).pk)
        except CaseError as exc:
            raise Invalid(_("photos: photo %(n)d: %(why)s") % {"n": n, "why": exc.message},
                          field="photos", status=exc.status) from None
    return ids


def _case(user, key: str, item: dict, token) -> dict:
    from wangge.cases.services import CaseInput, submit_case

    require(user, "cases.report", token)
    p = _payload(item)
    lon, lat = p.get("lon"), p.get("lat")
    point = lon not in (None, "") and lat not in (None, "")
    try:
        lon, lat = (float(lon), float(lat)) if point else (None, None)
    except (TypeError, ValueError):
        raise Invalid(_("lon/lat: numbers are expected."), field="lon") from None
    # The phone's GPS gives WGS-84.
    data = CaseInput(category=str(p.get("category") or ""), title=str(p.get("title") or ""),
                     description=str(p.get("description") or ""),
                     address=str(p.get("address") or ""), lon=lon, lat=lat,
                     crs="wgs84" if point else None, idempotency_key=key,
                     photos=_photos(user, p.get("photos")))
    case, _created = submit_case(user, data)  # a case's refusal is one of ours as it is
    return {"case": case.code, "photos": len(data.photos)}


def _form(user, key: str, item: dict, token) -> dict:
    """One person of a collection form answered (采集表): the catalogue's ``fill`` writes it,
    under the item's key namespaced per account, so a retry returns the first answer."""
    from wangge.catalog.collection import fill

    p = _payload(item)
    values = p.get("result") or {}
    if not isinstance(values, dict):
        raise Invalid(_("result: an object of field values is expected."), field="result")
    target_id = _int(p.get("target"), "target")
    try:
        answer = fill.submit_answer(user, target_id, values,
                                    key=visits.namespaced(user, key), token=token)
    except Http404:  # a form's own refusals are ours as they are
        raise NotFound(_("No such form target in your area.")) from None
    except PermissionDenied:
        raise Forbidden(_("You may not answer collection forms.")) from None
    return {"form_target": answer.target.pk, "form": answer.target.form_id,
            "replayed": answer.replayed}


def _patrol_start(user, key: str, item: dict, token) -> dict:
    p = _payload(item)
    patrol, _created = patrols.start_patrol(user, key=str(p.get("patrol") or key),
                                            started_at=p.get("started_at"),
                                            note=str(p.get("note") or ""), token=token)
    return {"patrol": patrol.pk}


def _patrol_points(user, key: str, item: dict, token) -> dict:
    p = _payload(item)
    return patrols.add_points(user, key=str(p.get("patrol") or ""), points=p.get("points"),
                              token=token)


def _patrol_end(user, key: str, item: dict, token) -> dict:
    p = _payload(item)
    patrol = patrols.end_patrol(user, key=str(p.get("patrol") or ""),
                                ended_at=p.get("ended_at"), token=token)
    return {"patrol": patrol.pk, "distance_m": patrol.distance_m}


# Each kind of item and the service function that applies it (declared once, here).
HANDLERS: dict[str, Callable[..., dict]] = {
    "target": _target,
    "visit": _visit,
    "case": _case,
    "form": _form,
    "patrol_start": _patrol_start,
    "patrol_points": _patrol_points,
    "patrol_end": _patrol_end,
}


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(_("%(field)s: a number is expected.") % {"field": field},
                      field=field) from None


# -- sync ------------------------------------------------------------------------------------


def sync(user, items: list, token=None) -> list[Receipt]:
    """Apply ``items`` (``{key, kind, payload, base_version?, label?}``) in order; one
    receipt each. The whole batch is refused (``Forbidden``) for an account that does not
    do grid work, and (``Invalid``) when it is not a list or too long."""
    require(user, PERMISSION, token)
    if not isinstance(items, list):
        raise Invalid(_("Send a list of items."), field="items")
    if len(items) > MAX_ITEMS:
        raise Invalid(_("At most %(n)d items at a time.") % {"n": MAX_ITEMS}, field="items")
    return [_one(user, item, token) for item in items]


def _one(user, item, token) -> Receipt:
    if not isinstance(item, dict):
        return Receipt("", "", SyncOutcome.REFUSED, _("An item must be an object."), {}, False)
    raw_key, kind = str(item.get("key") or ""), str(item.get("kind") or "")
    try:
        key = visits.clean_key(raw_key, "key")
    except Refusal as exc:
        return Receipt(raw_key[:80], kind, SyncOutcome.REFUSED, exc.message, {}, False)
    stored_key = visits.namespaced(user, key)
    kept = SyncReceipt.objects.filter(key=stored_key).first()
    if kept is not None:
        return _from_stored(key, kept, replayed=True)
    label = str(item.get("label") or "")[:LABEL_MAX]
    handler = HANDLERS.get(kind)
    try:
        if handler is None:
            raise Invalid(_("Unknown kind of item: %(kind)s.") % {"kind": kind[:40]},
                          field="kind")
        with transaction.atomic():
            detail = handler(user, key, item, token)
            receipt = SyncReceipt.objects.create(
                key=stored_key, user=user, kind=kind[:20], outcome=SyncOutcome.APPLIED,
                detail={"result": _jsonable(detail), "label": label})
    except Refusal as exc:
        return _refused(user, key, stored_key, kind, label, exc)
    except ValidationError as exc:
        # A model's own check (a registry value, say): refused with its words, so one bad
        # item never blocks the phone's outbox.
        return _refused(user, key, stored_key, kind, label, Invalid("; ".join(exc.messages)))
    except IntegrityError:
        # The same key in two requests at once: the first one's receipt is the answer.
        kept = SyncReceipt.objects.filter(key=stored_key).first()
        if kept is None:
            raise
        return _from_stored(key, kept, replayed=True)
    return _from_stored(key, receipt, replayed=False)


def _refused(user, key: str, stored_key: str, kind: str, label: str,
             exc: Refusal) -> Receipt:
    outcome = OUTCOME_BY_STATUS.get(exc.status, SyncOutcome.REFUSED)
    detail = {"message": exc.message, "field": exc.field, "status": exc.status,
              "label": label}
    try:
        with transaction.atomic():
            receipt = SyncReceipt.objects.create(key=stored_key, user=user, kind=kind[:20],
                                                 outcome=outcome, detail=detail)
            record(f"gridwork.sync.{outcome}", receipt, detail={
                "kind": kind[:20], "status": exc.status, "field": exc.field})
    except IntegrityError:
        kept = SyncReceipt.objects.filter(key=stored_key).first()
        if kept is None:
            raise
        return _from_stored(key, kept, replayed=True)
    return _from_stored(key, receipt, replayed=False)


def _from_stored(key: str, receipt: SyncReceipt, *, replayed: bool) -> Receipt:
    detail = receipt.detail or {}
    return Receipt(key=key, kind=receipt.kind, outcome=receipt.outcome,
                   message=detail.get("message", ""),
                   detail=detail.get("result", {}) if receipt.outcome == SyncOutcome.APPLIED
                   else {"field": detail.get("field", ""), "label": detail.get("label", "")},
                   replayed=replayed)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# -- what is left to look at ----------------------------------------------------------------


def open_problems(user) -> QuerySet[SyncReceipt]:
    """The user's conflicts and refusals not yet dismissed, newest first."""
    return SyncReceipt.objects.filter(
        user=user, outcome__in=(SyncOutcome.CONFLICT, SyncOutcome.REFUSED), dismissed=False)


def client_key(receipt: SyncReceipt) -> str:
    """The key as the phone made it (without the account's namespace)."""
    return receipt.key.split(":", 1)[1] if ":" in receipt.key else receipt.key


def dismiss(user, key: str, token=None) -> SyncReceipt:
    """The worker has seen a conflict or refusal: it leaves her list (kept on record)."""
    require(user, PERMISSION, token)
    stored_key = visits.namespaced(user, visits.clean_key(key, "key"))
    with transaction.atomic():
        receipt = SyncReceipt.objects.select_for_update().filter(
            key=stored_key, user=user).first()
        if receipt is None:
            raise NotFound(_("No such item of yours."))
        if receipt.outcome == SyncOutcome.APPLIED:
            raise Conflict(_("This item was applied; there is nothing to dismiss."))
        if not receipt.dismissed:
            receipt.dismissed = True
            receipt.save(update_fields=["dismissed"])
            record("gridwork.sync.dismiss", receipt, detail={"kind": receipt.kind})
    return receipt
