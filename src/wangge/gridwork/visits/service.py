"""Visits to key-care persons — 走访: who is due, who is overdue, and recording a visit.

A person carrying a tag with ``visit_interval_days`` (独居老人 every 7 days, say) is due one
interval after the last visit that counts (``COUNTS_AS_VISIT``: finding nobody at home does
not restart the clock); never visited, she is due from the day the tag was put on her. The
worker's day lists those due within ``DUE_SOON_DAYS`` and those overdue.

Which persons and tags a user sees is the registry's rule (``registry.access``, through
``visible_to``): a tag is shown only to its department and the roles that hold it, so a
worker never learns that a person carries a tag she may not see. Anonymised persons are not
listed. Visits are written only here, one per idempotency key (a phone that retries sends the
same key), each audited as ``gridwork.visit.record``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.audit.services import record
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal, require
from wangge.registry.models import Person, PersonStatus, PersonTag

from ..models import COUNTS_AS_VISIT, Visit, VisitOutcome

PERMISSION = "gridwork.work"
# "Due" means due within this many days from today (so a worker can plan the week's round).
DUE_SOON_DAYS = 3
NOTE_MAX = 2000
# A device's clock may run a little ahead; a visit further in the future is a typo.
FUTURE_SKEW = datetime.timedelta(minutes=10)
# Client keys: what a phone makes (a UUID), namespaced by the account on the server.
KEY_RE = re.compile(r"[A-Za-z0-9._:\-]{8,64}")
# A case raised from a visit files with a key derived from the visit's, so a retried visit
# never files a second case.
CASE_KEY_PREFIX = "visit-"
HISTORY_SHOWN = 100


@dataclass(frozen=True)
class DueVisit:
    """One (person, tag) to visit: masked as the registry shows it, when due, how late."""

    person_id: int
    name: str
    address: str
    tag_id: int
    tag: str
    interval_days: int
    due_on: datetime.date
    days_overdue: int
    last_visit: datetime.datetime | None
    last_attempt: datetime.datetime | None

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


@dataclass(frozen=True)
class CaseRequest:
    """A case raised from a visit (需要帮扶): what it is about, in the worker's words."""

    category: str
    title: str
    description: str = ""


# -- reading -------------------------------------------------------------------------------


def visit_tags(user) -> QuerySet[PersonTag]:
    """Tags with a visit interval on active persons that ``user`` may see (person and tag)."""
    persons = visible_to(Person, user).filter(status=PersonStatus.ACTIVE)
    return (visible_to(PersonTag, user)
            .filter(tag__visit_interval_days__isnull=False, tag__visit_interval_days__gt=0,
                    person__in=persons.values("pk")))


def last_visits(tags: QuerySet[PersonTag]) -> dict[tuple[int, int], tuple]:
    """(person, tag) → (last counting visit, last attempt of any outcome), in one query."""
    rows = (Visit.objects.filter(person_id__in=tags.values("person_id"))
            .values("person_id", "tag_id")
            .annotate(last=Max("visited_at", filter=Q(outcome__in=COUNTS_AS_VISIT)),
                      attempt=Max("visited_at")))
    return {(r["person_id"], r["tag_id"]): (r["last"], r["attempt"]) for r in rows}


def due_date(since: datetime.date, interval: int,
             last: datetime.datetime | None) -> datetime.date:
    """When a visit is next due: one interval after the last visit, else from ``since``."""
    if last is None:
        return since
    return timezone.localdate(last) + datetime.timedelta(days=interval)


def schedule(user, today: datetime.date | None = None) -> list[DueVisit]:
    """Every visit-tagged person ``user`` sees, with its due date, soonest first."""
    today = today or timezone.localdate()
    tags = visit_tags(user)
    last = last_visits(tags)
    rows = []
    for pt in tags.select_related("person", "tag"):
        done, attempt = last.get((pt.person_id, pt.tag_id), (None, None))
        due = due_date(pt.since, pt.tag.visit_interval_days, done)
        rows.append(DueVisit(
            person_id=pt.person_id, name=pt.person.name_masked or f"#{pt.person_id}",
            address=pt.person.address_masked, tag_id=pt.tag_id, tag=pt.tag.name,
            interval_days=pt.tag.visit_interval_days, due_on=due,
            days_overdue=max(0, (today - due).days), last_visit=done, last_attempt=attempt))
    rows.sort(key=lambda r: (r.due_on, r.person_id, r.tag_id))
    return rows


def visits_due(user, today: datetime.date | None = None) -> list[DueVisit]:
    """The visits due within ``DUE_SOON_DAYS`` or overdue, overdue (longest) first."""
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=DUE_SOON_DAYS)
    return [r for r in schedule(user, today) if r.due_on <= horizon]


def visible_person(user, person_id) -> Person:
    """An active person ``user`` may see, else ``NotFound`` (out of scope answers alike)."""
    person = (visible_to(Person, user).filter(pk=_as_int(person_id),
                                               status=PersonStatus.ACTIVE)
              .select_related("region").first())
    if person is None:
        raise NotFound(_("No such person in your area."))
    return person


def person_schedule(user, person: Person,
                    today: datetime.date | None = None) -> list[DueVisit]:
    """The visit-tagged entries of one person (for the person's visit page)."""
    return [r for r in schedule(user, today) if r.person_id == person.pk]


def history(user, person: Person) -> QuerySet[Visit]:
    """Visits to ``person`` under tags ``user`` may see, newest first."""
    tag_ids = visible_to(PersonTag, user).filter(person=person).values("tag_id")
    return (visible_to(Visit, user).filter(person=person, tag_id__in=tag_ids)
            .select_related("tag", "by", "case")[:HISTORY_SHOWN])


# -- recording -----------------------------------------------------------------------------


def clean_key(key: str | None, field: str = "idempotency_key") -> str:
    """A device's idempotency key, checked (8–64 letters, digits, '.', '_', ':' or '-')."""
    key = (key or "").strip()
    if not KEY_RE.fullmatch(key):
        raise Invalid(_("Every change needs an idempotency key of 8 to 64 letters, digits, "
                        "'.', '_', ':' or '-'."), field=field)
    return key


def namespaced(user, key: str) -> str:
    """The key as stored: another account's identical key never finds this row."""
    return f"{user.pk}:{key}"


def _clean_visit(outcome: str, note: str, visited_at) -> tuple[str, str, datetime.datetime]:
    if outcome not in VisitOutcome.values:
        raise Invalid(_("Choose the outcome of the visit."), field="outcome")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid(_("The note is at most %(n)d characters.") % {"n": NOTE_MAX},
                      field="note")
    now = timezone.now()
    at = visited_at or now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + FUTURE_SKEW:
        raise Invalid(_("The time of the visit is in the future."), field="visited_at")
    return outcome, note, at


def record_visit(user, *, person_id, tag_id, outcome: str, note: str = "",
                 visited_at: datetime.datetime | None = None, idempotency_key: str,
                 case: CaseRequest | None = None, token=None) -> tuple[Visit, bool]:
    """Record a visit (and a case raised from it); return it and whether it is new.

    The same key again returns the visit already recorded and writes nothing; the same key
    with different content is a ``Conflict``. The person must be one the user sees and carry
    the tag, which the user must see too (else ``NotFound``, telling nothing about it).
    """
    require(user, PERMISSION, token)
    key = namespaced(user, clean_key(idempotency_key))
    outcome, note, at = _clean_visit(outcome, note, visited_at)
    existing = Visit.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, person_id, tag_id, outcome, note), False
    person = visible_person(user, person_id)
    tagged = visit_tags(user).filter(person=person, tag_id=_as_int(tag_id)).first()
    if tagged is None:
        raise NotFound(_("This person has no visit list of yours with that tag."))
    region = person.region or user.region
    if region is None:
        raise Forbidden(_("Your account is bound to no area; visits are recorded in a grid."))
    try:
        with transaction.atomic():
            linked = _raise_case(user, person, case, key) if case is not None else None
            visit = Visit.objects.create(
                person=person, tag_id=tagged.tag_id, region=region, region_path=region.path,
                visited_at=at, by=user, outcome=outcome, note=note, case=linked,
                idempotency_key=key)
            record("gridwork.visit.record", visit, detail={
                "person": person.pk, "tag": tagged.tag.code, "outcome": outcome,
                "case": linked.code if linked else None})
    except IntegrityError:
        # The same key arrived twice at once: the loser answers with the winner's visit.
        existing = Visit.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _replay(existing, person_id, tag_id, outcome, note), False
    return visit, True


def _replay(visit: Visit, person_id, tag_id, outcome: str, note: str) -> Visit:
    if (visit.person_id, visit.tag_id, visit.outcome, visit.note) != (
            _as_int(person_id), _as_int(tag_id), outcome, note):
        raise Conflict(_("This idempotency key was already used for another visit (recorded "
                         "%(at)s); send a new key for a new visit.")
                       % {"at": timezone.localtime(visit.visited_at).strftime("%Y-%m-%d %H:%M")},
                       field="idempotency_key")
    return visit


def _raise_case(user, person: Person, request: CaseRequest, key: str):
    """File the case through intake (its own idempotency key derived from the visit's)."""
    from wangge.cases.services import CaseError, CaseInput, submit_case

    client_key = key.split(":", 1)[1]
    region = person.region or user.region
    # Placed in her grid, addressed by the grid's name: her address and her tag stay off
    # the case (departments that handle it may not see them); the worker's words say more.
    data = CaseInput(category=request.category, title=request.title,
                     description=request.description,
                     grid=region.code if person.region_id else None,
                     address=_("home visit, %(grid)s") % {"grid": region.name},
                     idempotency_key=f"{CASE_KEY_PREFIX}{client_key}")
    try:
        case, _created = submit_case(user, data)
    except CaseError as exc:
        raise as_refusal(exc, prefix="case.") from None
    return case


REFUSAL_BY_STATUS: dict[int, type[Refusal]] = {403: Forbidden, 404: NotFound, 409: Conflict,
                                               422: Invalid}


def as_refusal(exc, prefix: str = "") -> Refusal:
    """A case's refusal raised inside a visit, its field under ``prefix`` (``case.title``):
    same status, same words."""
    kind = REFUSAL_BY_STATUS.get(exc.status, Invalid)
    field = f"{prefix}{exc.field}" if exc.field else ""
    return kind(exc.message, field=field, status=exc.status)


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
