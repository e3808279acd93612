"""Sharing by grant — 共享审批: who may read a dataset's rows, and the requests for them.

- Access (``access_basis``): why a user may read a dataset's rows — her own department's,
  shared without conditions (无条件共享), sent down to grids (数据下沉), or a live grant
  (有条件共享: then only the grant's fields) — or the refusal that says why not (expired on
  …, revoked on …, not shared). ``registry.access.readable_datasets_q`` stays the gate: the
  basis only names the reason and the fields.
- Requests (共享申请): a department asks the owner for a dataset with a purpose
  (``request_access``); the owner's steward approves or refuses (``decide``); the requester
  may withdraw while pending (``withdraw``); the owner may revoke a live grant. The other
  side is told (``notifications.notify``), every step audited, in one transaction.
- The errors every catalogue service raises (``CatalogError`` and its kinds), each with the
  HTTP status pages and the API answer with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from wangge.accounts.models import User
from wangge.accounts.permissions import has_permission
from wangge.accounts.roles import Role
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal, require
from wangge.registry.access import DOWNWARD_ROLES, NO_ROWS, readable_datasets_q

from .models import AccessRequest, Dataset, RequestStatus, SharingClass

PURPOSE_MIN = 10  # "at least a sentence"
PURPOSE_MAX = 2000
NOTE_MAX = 1000
DAYS_MIN, DAYS_MAX = 1, 365


# -- errors --------------------------------------------------------------------------------


# The refusals pages and the API answer with (``core.refusals``); ``CatalogError`` is their base.
CatalogError = Refusal


def audit_actor(user) -> Actor:
    """The user as the audit trail names her, keeping the request's address when the request
    context already names the same user (pages and the API set it)."""
    current = current_actor()
    if user is None or current.user_id == user.pk:
        return current
    return Actor.for_user(user)


def when(moment) -> str:
    """A moment as pages and messages write it, in local time (2025-03-07 14:30)."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def is_owner_steward(user, dataset: Dataset) -> bool:
    """The owning department's steward: decides requests, reads the access log."""
    return (has_permission(user, "catalog.approve") and user.department_id is not None
            and user.department_id == dataset.department_id)


# -- access: why a user may read a dataset's rows ---------------------------------------------


class Basis:
    """Why rows may be read (its ``code``; ``grant`` and ``fields`` when by grant)."""

    OWN = "own"  # the reader's department owns it
    OPEN = "open"  # 无条件共享
    SENT_DOWN = "sent_down"  # 数据下沉: published to grids, for the area's roles
    GRANT = "grant"  # 有条件共享 under a live grant


@dataclass(frozen=True)
class Access:
    """The reader's access to a dataset's rows."""

    basis: str
    grant: AccessRequest | None = None
    fields: tuple[str, ...] = ()  # the field codes shown, in the dataset's order


def live_grants(department_id: int | None, dataset: Dataset, at=None) -> QuerySet:
    """The department's grants for ``dataset`` that are live at ``at`` (now)."""
    if department_id is None:
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(
        dataset=dataset, department_id=department_id, status=RequestStatus.APPROVED,
        expires_at__gt=at or timezone.now()).order_by("-expires_at")


def _basis_without_grant(user, dataset: Dataset) -> str | None:
    # Mirrors the non-grant terms of ``registry.access.readable_datasets_q`` (which stays
    # the gate) to name the reason and to know the grant's field limit does not apply.
    if user.department_id is not None and user.department_id == dataset.department_id:
        return Basis.OWN
    if dataset.sharing_class == SharingClass.UNCONDITIONAL:
        return Basis.OPEN
    if dataset.flows_down and user.role in DOWNWARD_ROLES:
        return Basis.SENT_DOWN
    return None


def access_basis(user, dataset: Dataset, at=None) -> Access:
    """Why ``user`` may read ``dataset``'s rows, or ``Forbidden`` saying why not."""
    at = at or timezone.now()
    readable = Dataset.objects.filter(readable_datasets_q(user), pk=dataset.pk).exists()
    if readable:
        basis = _basis_without_grant(user, dataset)
        all_fields = tuple(dataset.field_codes())
        if basis is not None:
            return Access(basis, fields=all_fields)
        grants = list(live_grants(user.department_id, dataset, at))
        if grants:
            named = [set(g.fields) for g in grants]
            allowed = set().union(*named) if all(named) else set(all_fields)
            return Access(Basis.GRANT, grant=grants[0],
                          fields=tuple(c for c in all_fields if c in allowed))
    raise Forbidden(refusal(user, dataset, at))


def refusal(user, dataset: Dataset, at=None) -> str:
    """Why ``user`` may not read ``dataset``'s rows, in words she can act on."""
    at = at or timezone.now()
    names = {"name": dataset.name}
    if getattr(user, "role", None) in NO_ROWS:
        return _("Your role does not read people's data.")
    if not dataset.is_active:
        return _("%(name)s is no longer in use.") % names
    if dataset.sharing_class == SharingClass.NONE:
        return _("%(name)s is not shared (不予共享).") % names
    if user.department_id is None:
        return _("%(name)s is shared on conditions, to departments: your account belongs to "
                 "no department.") % names
    last = (AccessRequest.objects.filter(dataset=dataset, department_id=user.department_id,
                                         status__in=[RequestStatus.APPROVED,
                                                     RequestStatus.REVOKED])
            .order_by("-decided_at").first())
    if last is not None and last.status == RequestStatus.APPROVED and last.expires_at <= at:
        return (_("Your department's grant for %(name)s expired on %(date)s; ask again.")
                % {**names, "date": when(last.expires_at)})
    if last is not None and last.status == RequestStatus.REVOKED:
        return (_("Your department's grant for %(name)s was revoked on %(date)s.")
                % {**names, "date": when(last.decided_at)})
    return _("Your department holds no grant for %(name)s: request access first.") % names


@dataclass(frozen=True)
class GrantStatus:
    """What the dataset page tells a reader about her access, and whether she may ask."""

    code: str  # own | open | sent_down | live | pending | closed | none
    message: str
    can_request: bool = False
    request: AccessRequest | None = None


def grant_status(user, dataset: Dataset) -> GrantStatus:
    """The reader's grant status for the dataset page."""
    may_ask = has_permission(user, "catalog.request")
    try:
        access = access_basis(user, dataset)
    except Forbidden as exc:
        access, message = None, exc.message
    if access is not None:
        if access.basis == Basis.GRANT:
            g = access.grant
            return GrantStatus("live", _("Your department's grant is live until %(date)s.")
                               % {"date": when(g.expires_at)}, request=g)
        return GrantStatus(access.basis, {
            Basis.OWN: _("Your department owns this dataset."),
            Basis.OPEN: _("Shared without conditions: no request needed."),
            Basis.SENT_DOWN: _("Published to grids: you see your area's rows."),
        }[access.basis])
    pending = (AccessRequest.objects.filter(dataset=dataset, department_id=user.department_id,
                                            status=RequestStatus.PENDING).first()
               if user.department_id else None)
    if pending is not None:
        return GrantStatus("pending", _("Your department's request of %(date)s is pending.")
                           % {"date": when(pending.created_at)}, request=pending)
    if dataset.sharing_class == SharingClass.NONE:
        return GrantStatus("closed", message)
    askable = (may_ask and user.department_id is not None and dataset.is_active
               and getattr(user, "role", None) not in NO_ROWS)
    return GrantStatus("none", message, can_request=askable)


# -- access requests --------------------------------------------------------------------------


def _stewards_of(department_id: int) -> list[User]:
    return list(User.objects.filter(department_id=department_id, role=Role.STEWARD,
                                    is_active=True))


def _notify(users: Iterable, subject: str, body: str) -> None:
    from wangge.notifications.services import notify

    notify(list(users), subject, body)


def _clean_purpose(purpose: str) -> str:
    text = " ".join((purpose or "").split())
    if len(text) < PURPOSE_MIN:
        raise Invalid(_("Say what the data is for, in at least a sentence (%(n)d characters "
                        "or more).") % {"n": PURPOSE_MIN}, field="purpose")
    if len(text) > PURPOSE_MAX:
        raise Invalid(_("The purpose is at most %(n)d characters.") % {"n": PURPOSE_MAX},
                      field="purpose")
    return text


def _clean_fields(dataset: Dataset, fields: Iterable[str]) -> list[str]:
    asked = [f for f in dict.fromkeys(fields or []) if f]
    carried = dataset.field_codes()
    unknown = [f for f in asked if f not in carried]
    if unknown:
        raise Invalid(_("%(name)s has no field %(fields)s.")
                      % {"name": dataset.name, "fields": ", ".join(unknown)}, field="fields")
    if set(asked) == set(carried):
        return []  # every field: stored as "all", so fields added later follow
    return [f for f in carried if f in asked]


def _clean_days(days) -> int:
    try:
        n = int(days)
    except (TypeError, ValueError):
        n = 0
    if not DAYS_MIN <= n <= DAYS_MAX:
        raise Invalid(_("Ask for between %(min)d and %(max)d days.")
                      % {"min": DAYS_MIN, "max": DAYS_MAX}, field="days")
    return n


def request_access(user, dataset: Dataset, *, purpose: str, fields: Iterable[str] = (),
                   days: int = 90) -> AccessRequest:
    """Ask, for the user's department, to read ``dataset`` for ``purpose`` — 共享申请.

    Refused: datasets not shared (不予共享), those shared without conditions (no request
    needed), one's own department's, and a second pending request for the same dataset.
    The owner's stewards are told.
    """
    require(user, "catalog.request")
    if user.department_id is None:
        raise Forbidden(_("Only an account of a department asks for data on its behalf."))
    purpose = _clean_purpose(purpose)
    days = _clean_days(days)
    with transaction.atomic():
        # The dataset row is the lock: two requests at once cannot both be "the first".
        target = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if not target.is_active:
            raise Conflict(_("%(name)s is no longer in use.") % {"name": target.name})
        if target.sharing_class == SharingClass.NONE:
            raise Forbidden(_("%(name)s is not shared (不予共享): it cannot be requested.")
                            % {"name": target.name})
        if target.sharing_class == SharingClass.UNCONDITIONAL:
            raise Conflict(_("%(name)s is shared without conditions: no request is needed.")
                           % {"name": target.name})
        if target.department_id == user.department_id:
            raise Conflict(_("%(name)s is your own department's dataset.")
                           % {"name": target.name})
        fields = _clean_fields(target, fields)
        if AccessRequest.objects.filter(dataset=target, department_id=user.department_id,
                                        status=RequestStatus.PENDING).exists():
            raise Conflict(_("Your department already has a pending request for %(name)s.")
                           % {"name": target.name})
        req = AccessRequest.objects.create(dataset=target, department_id=user.department_id,
                                           requested_by=user, purpose=purpose, fields=fields,
                                           days=days)
        record("catalog.request.create", req, actor=audit_actor(user), purpose=purpose,
               detail={"dataset": target.code, "fields": fields, "days": days})
        _notify(_stewards_of(target.department_id),
                _("Data request: %(name)s") % {"name": target.name},
                _("%(department)s asks for %(name)s for %(days)d days: %(purpose)s") % {
                    "department": user.department.name, "name": target.name, "days": days,
                    "purpose": purpose})
    return req


def visible_requests(user) -> QuerySet[AccessRequest]:
    """Requests ``user`` may see: her department's, and those for its datasets."""
    if user.department_id is None:
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(
        Q(department_id=user.department_id) | Q(dataset__department_id=user.department_id)
    ).select_related("dataset", "department", "requested_by", "decided_by")


def get_request(user, pk: int) -> AccessRequest:
    found = visible_requests(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No request number %(pk)s.") % {"pk": pk})
    return found


def _locked(pk: int) -> AccessRequest:
    return (AccessRequest.objects.select_for_update().select_related("dataset", "department")
            .get(pk=pk))


def _clean_note(note: str, *, required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        raise Invalid(_("Say why (the requester reads this note)."), field="note")
    if len(text) > NOTE_MAX:
        raise Invalid(_("The note is at most %(n)d characters.") % {"n": NOTE_MAX},
                      field="note")
    return text


def _check_owner(user, req: AccessRequest) -> None:
    require(user, "catalog.approve")
    if not is_owner_steward(user, req.dataset):
        raise Forbidden(_("Only a steward of %(department)s decides requests for its data.")
                        % {"department": req.dataset.department.name})


# (target status, the statuses it starts from, the note required)
DECISIONS: dict[str, tuple[str, str, bool]] = {
    "approve": (RequestStatus.APPROVED, RequestStatus.PENDING, False),
    "refuse": (RequestStatus.REFUSED, RequestStatus.PENDING, True),
    "revoke": (RequestStatus.REVOKED, RequestStatus.APPROVED, True),
}


def decide(user, pk: int, action: str, note: str = "") -> AccessRequest:
    """The owner's steward approves (the grant runs ``days`` from now), refuses or revokes
    a live grant, with a note; the requester is told. Repeating a decision already taken is
    a no-op; the opposite one is a ``Conflict``."""
    target, start, note_required = DECISIONS[action]
    note = _clean_note(note, required=note_required)
    with transaction.atomic():
        req = _locked(get_request(user, pk).pk)
        _check_owner(user, req)
        if req.status == target:
            return req  # a double click or a retry
        now = timezone.now()
        if action == "revoke" and req.status == start and not req.is_live(now):
            raise Conflict(_("This grant expired on %(date)s: there is nothing to revoke.")
                           % {"date": when(req.expires_at)})
        if req.status != start:
            raise _not_now(req, action)
        req.status, req.decided_by, req.decided_at = target, user, now
        req.decision_note = note
        if action == "approve":
            req.expires_at = now + timedelta(days=req.days)
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note",
                                "expires_at"])
        record(f"catalog.request.{action}", req, actor=audit_actor(user), detail={
            "dataset": req.dataset.code, "department": req.department.code, "note": note,
            "expires_at": req.expires_at.isoformat() if req.expires_at else None})
        _tell_requester(req, action)
    return req


def _not_now(req: AccessRequest, action: str) -> Conflict:
    verbs = {"approve": _("approve"), "refuse": _("refuse"), "revoke": _("revoke"),
             "withdraw": _("withdraw")}
    return Conflict(_("This request is %(status)s: you cannot %(action)s it.")
                    % {"status": req.get_status_display(), "action": verbs[action]})


def done_message(action: str) -> str:
    """What the page says once ``action`` is done."""
    return {"approve": _("Request approved."), "refuse": _("Request refused."),
            "revoke": _("Grant revoked."), "withdraw": _("Request withdrawn.")}[action]


def _tell_requester(req: AccessRequest, action: str) -> None:
    values = {"name": req.dataset.name, "note": req.decision_note or "—",
              "date": when(req.expires_at) if req.expires_at else ""}
    subject, body = {
        "approve": (_("Data request approved: %(name)s"),
                    _("Your request for %(name)s is approved until %(date)s. Note: %(note)s")),
        "refuse": (_("Data request refused: %(name)s"),
                   _("Your request for %(name)s is refused. Note: %(note)s")),
        "revoke": (_("Data grant revoked: %(name)s"),
                   _("The grant for %(name)s is revoked. Note: %(note)s")),
    }[action]
    _notify([req.requested_by], subject % values, body % values)


def withdraw(user, pk: int) -> AccessRequest:
    """The requester takes back her pending request; the owner's stewards are told."""
    with transaction.atomic():
        req = _locked(get_request(user, pk).pk)
        if req.requested_by_id != user.pk:
            raise Forbidden(_("Only the person who asked withdraws a request."))
        if req.status == RequestStatus.WITHDRAWN:
            return req
        if req.status != RequestStatus.PENDING:
            raise _not_now(req, "withdraw")
        req.status, req.decided_at = RequestStatus.WITHDRAWN, timezone.now()
        req.save(update_fields=["status", "decided_at"])
        record("catalog.request.withdraw", req, actor=audit_actor(user),
               detail={"dataset": req.dataset.code})
        _notify(_stewards_of(req.dataset.department_id),
                _("Data request withdrawn: %(name)s") % {"name": req.dataset.name},
                _("%(department)s withdrew its request for %(name)s.") % {
                    "department": req.department.name, "name": req.dataset.name})
    return req
