"""Intake — 受理: one case from any source, exactly once per idempotency key.

Grid workers (巡查上报), residents (居民上报), the 12345 hotline (热线工单), sensors and video
analytics (物联感知、雪亮工程, machine clients), referrals from above (上级交办) and Open311
clients all file through ``submit_case``. It places the case in the tree (the grid under its
point, found by ``regions.locate``), numbers it, suggests a route, starts the registration
deadline and writes the first line of the timeline and the audit record, all in one
transaction.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission
from wangge.accounts.roles import Role
from wangge.audit.services import record
from wangge.core import clock, rows
from wangge.core.memo import Snapshot
from wangge.core.phones import PhoneError, mask_digits, phone_digits
from wangge.figures import recorder as figures
from wangge.figures.recorder import Facts
from wangge.regions.crs import CRS_NAMES, normalise_crs
from wangge.regions.locate import LocateInputError, locate
from wangge.regions.models import Level, Region

from ..models import Case, CaseCounter, CaseEvent, Category, Photo, Source, Urgency
from ..workflow import State, Step
from .common import audit_actor, deadline_for, event_for
from .errors import CaseConflict, CaseForbidden, CaseInvalid

# Which sources each role may file under: the hotline and referrals are desk work, sensors
# and video are machines, a resident is always a resident.
SOURCES_BY_ROLE: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({Source.PATROL}),
    Role.RESIDENT: frozenset({Source.RESIDENT}),
    Role.STAFF: frozenset({Source.PATROL, Source.HOTLINE, Source.REFERRAL}),
    Role.COMMAND: frozenset({Source.HOTLINE, Source.REFERRAL}),
    Role.MACHINE: frozenset({Source.SENSOR, Source.VIDEO, Source.HOTLINE, Source.OPEN311}),
}
# The source assumed when a person leaves it out; machine clients must always say.
DEFAULT_SOURCE: dict[str, str] = {
    Role.GRID_WORKER: Source.PATROL,
    Role.RESIDENT: Source.RESIDENT,
    Role.STAFF: Source.PATROL,
    Role.COMMAND: Source.REFERRAL,
}
KEY_RE = re.compile(r"[A-Za-z0-9._:\-]{1,80}")
MAX_DESCRIPTION = 10_000


@dataclass
class CaseInput:
    """What a reporter submits. ``lon``/``lat`` need ``crs`` (wgs84, cgcs2000, gcj02, bd09).

    ``grid`` names a grid explicitly, for a point in no grid (the nearest grid is offered and
    the reporter accepts it) or a report without a point. ``photos`` are ids of the reporter's
    own uploads; a self-handled report (自处置) needs at least one as evidence.
    """

    category: str
    title: str
    description: str = ""
    source: str | None = None
    urgency: str = Urgency.NORMAL
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None
    address: str = ""
    grid: str | None = None
    contact_phone: str = ""
    external_id: str = ""
    idempotency_key: str | None = None
    self_handled: bool = False
    photos: list[int] = field(default_factory=list)
    note: str = ""


@dataclass
class _Place:
    region: Region
    lon: float | None
    lat: float | None
    in_grid: bool
    note: str = ""
    detail: dict = field(default_factory=dict)


def mask_phone(raw: str) -> str:
    """A contact number as staff may see it: 13812345678 → 138****5678.

    The raw number is never stored on the case; it is validated, masked and dropped (a
    resident account with the same number is linked as the requester, by blind index).
    """
    return mask_digits(contact_digits(raw))


def contact_digits(raw: str) -> str:
    """The contact number's digits, or a ``CaseInvalid`` naming the field."""
    try:
        return phone_digits(raw)
    except PhoneError as exc:
        raise CaseInvalid(_("contact_phone: %(why)s") % {"why": exc}, field="contact_phone") \
            from exc


def submit_case(actor, data: CaseInput) -> tuple[Case, bool]:
    """File a case for ``actor``; return it and whether it was created now.

    A retry with the same idempotency key returns the case the first attempt made
    (``created`` False), also when the two arrive at the same moment: the key is unique in
    the database and the loser of the race reads the winner's case. The same key with
    different content is refused (409) rather than silently answered with the old case.

    Nearly every submission is new, so the key is not looked up first: the unique key
    refuses the insert of a retry, and the retry then reads the case it repeats. A retry
    that no longer passes the checks (its photos are attached by now, its category closed
    since) is answered with its case too, not with the refusal.
    """
    if not has_permission(actor, "cases.report"):
        raise CaseForbidden(_("your role may not report cases"))
    key = _namespaced_key(actor, data.idempotency_key)
    fingerprint = _fingerprint(data)
    try:
        checked = _validate(actor, data)
    except (CaseInvalid, CaseForbidden):
        existing = _case_with_key(key)
        if existing is None:
            raise
        return _replay(existing, data.idempotency_key, fingerprint), False
    case = _prepare(actor, data, checked, key, fingerprint)
    try:
        with transaction.atomic():
            case = _create(actor, data, checked, case)
    except IntegrityError:
        existing = _case_with_key(key)
        if existing is None:
            raise
        return _replay(existing, data.idempotency_key, fingerprint), False
    return case, True


def _case_with_key(key: str | None) -> Case | None:
    return Case.objects.filter(idempotency_key=key).first() if key is not None else None


def _load_active_categories() -> dict[str, Category]:
    return {c.code: c for c in Category.objects.filter(is_active=True)}


_active_categories = Snapshot(_load_active_categories).clear_on(Category)


# -- validation ---------------------------------------------------------------------------


@dataclass
class _Checked:
    category: Category
    source: str
    place: _Place
    contact: str
    photos: list[int]
    requester: object = None  # the resident account the contact number belongs to


def _namespaced_key(actor, key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if not KEY_RE.fullmatch(key):
        raise CaseInvalid(_("idempotency_key: up to 80 letters, digits, '.', '_', ':' or '-'"),
                          field="idempotency_key")
    # Namespaced by the submitting account: another client's key never finds this case.
    return f"{actor.pk}:{key}"


def _fingerprint(data: CaseInput) -> str:
    """A keyed digest of the submission, to tell a retry from a reuse of its key.

    Keyed (HMAC with the installation secret) because the content includes the contact
    number, which an unkeyed hash would let anyone with the table recover by brute force.
    """
    content = {
        "category": data.category, "title": data.title.strip(),
        "description": data.description.strip(), "source": data.source or "",
        "urgency": data.urgency, "lon": data.lon, "lat": data.lat,
        "crs": (data.crs or "").strip().lower(), "address": data.address.strip(),
        "grid": data.grid or "", "contact": re.sub(r"\D", "", data.contact_phone or ""),
        "external_id": data.external_id.strip(), "self_handled": bool(data.self_handled),
        "photos": sorted(int(p) for p in data.photos), "note": data.note.strip(),
    }
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return salted_hmac("wangge.cases.intake", payload, algorithm="sha256").hexdigest()


def _replay(existing: Case, key: str | None, fingerprint: str) -> Case:
    if existing.fingerprint != fingerprint:
        raise CaseConflict(
            _("idempotency key %(key)s was already used for a different submission (case "
              "%(code)s); send a new key for a new case, or the same content to retry")
            % {"key": repr(key), "code": existing.code}, field="idempotency_key")
    return existing


def _validate(actor, data: CaseInput) -> _Checked:
    title = (data.title or "").strip()
    if not title:
        raise CaseInvalid(_("title: say in a few words what is wrong"), field="title")
    if len(title) > 200:
        raise CaseInvalid(_("title: at most 200 characters, not %(n)d") % {"n": len(title)},
                          field="title")
    if len(data.description or "") > MAX_DESCRIPTION:
        raise CaseInvalid(_("description: at most %(n)d characters") % {"n": MAX_DESCRIPTION},
                          field="description")
    if len(data.address or "") > 300:
        raise CaseInvalid(_("address: at most %(n)d characters") % {"n": 300}, field="address")
    if len(data.external_id or "") > 80:
        raise CaseInvalid(_("external_id: at most %(n)d characters") % {"n": 80},
                          field="external_id")
    if data.urgency not in Urgency.values:
        raise CaseInvalid(_("urgency: %(value)s is not one of %(choices)s")
                          % {"value": repr(data.urgency), "choices": ", ".join(Urgency.values)},
                          field="urgency")
    category = _active_categories.get().get(data.category)
    if category is None:
        raise CaseInvalid(_("category: no active category with code %(code)s")
                          % {"code": repr(data.category)}, field="category")
    source = _source(actor, data.source)
    photos = sorted({int(p) for p in data.photos})
    if data.self_handled:
        if actor.role != Role.GRID_WORKER:
            raise CaseForbidden(_("only a grid worker handles a matter on the spot (自处置)"))
        if not photos:
            raise CaseInvalid(_("photos: a self-handled report needs at least one evidence "
                                "photo of the fixed matter"), field="photos")
    if photos:
        own = Photo.objects.filter(pk__in=photos, case__isnull=True, uploaded_by=actor).count()
        if own != len(photos):
            raise CaseInvalid(_("photos: every photo must be one of your own uploads not yet "
                                "attached to a case"), field="photos")
    digits = contact_digits(data.contact_phone)
    return _Checked(category=category, source=source, place=_place(actor, data),
                    contact=mask_digits(digits), photos=photos,
                    requester=_requester(actor, digits))


def _requester(actor, digits: str):
    """反映人: when a grid worker or the hotline files a matter a resident raised, the
    resident's account (found by the number's blind index) may follow and rate it."""
    if not digits or actor.role == Role.RESIDENT:
        return None
    from wangge.accounts.services import resident_with_phone

    return resident_with_phone(digits)


def _source(actor, source: str | None) -> str:
    allowed = SOURCES_BY_ROLE.get(actor.role, frozenset())
    if not source:
        source = DEFAULT_SOURCE.get(actor.role)
        if source is None:
            raise CaseInvalid(_("source: say which source this is (%(choices)s)")
                              % {"choices": ", ".join(sorted(allowed))}, field="source")
    if source not in Source.values:
        raise CaseInvalid(_("source: %(value)s is not one of %(choices)s")
                          % {"value": repr(source), "choices": ", ".join(Source.values)},
                          field="source")
    if source not in allowed:
        raise CaseForbidden(_("a %(role)s account may not file %(source)s cases")
                            % {"role": actor.role, "source": source})
    return source


def _place(actor, data: CaseInput) -> _Place:
    """Where the case belongs: the grid under its point, else a named grid, else the actor's
    own node — never a guess. A report nothing can place is refused with what to add."""
    if (data.lon is None) != (data.lat is None):
        raise CaseInvalid(_("lon/lat: give both, or neither"), field="lon")
    if data.lon is None and not (data.address or "").strip():
        raise CaseInvalid(_("location: give a map point (lon, lat and crs) or an address"),
                          field="lon")
    named = _named_grid(data.grid) if data.grid else None
    if data.lon is not None:
        if not data.crs:
            raise CaseInvalid(_("crs: say which coordinate system lon/lat are in "
                                "(%(choices)s); it is never guessed")
                              % {"choices": ", ".join(CRS_NAMES)}, field="crs")
        try:
            normalise_crs(data.crs)
            # Only the grid's code is needed here (its row is read next); names for the
            # nearest grid are looked up only for a point that lies in no grid.
            found = locate(float(data.lon), float(data.lat), data.crs, describe=False)
            if found.grid is None and found.nearest is not None:
                found = locate(float(data.lon), float(data.lat), data.crs)
        except (LocateInputError, ValueError) as exc:
            raise CaseInvalid(_("lon/lat: %(error)s") % {"error": exc}, field="lon") from None
        if found.grid is not None:
            if named is not None and named.code != found.grid.code:
                raise CaseInvalid(_("grid: the point lies in grid %(found)s, not %(named)s")
                                  % {"found": found.grid.code, "named": named.code},
                                  field="grid")
            # A grid deleted since this process indexed it (for at most a second) is passed
            # over like a point in no grid.
            region = named or rows.fetch_one(Region, "code", found.grid.code,
                                             skip=("geometry",))
            if region is not None:
                return _Place(region, found.lon, found.lat, True, detail={"grid": region.code})
        detail = {"outside_grids": True}
        if found.nearest is not None:
            detail["nearest"] = {"code": found.nearest.code, "name": found.nearest.name,
                                 "metres": round(found.nearest.metres, 1)}
        if named is not None:
            detail["grid"] = named.code
            return _Place(named, found.lon, found.lat, True,
                          note=_("The point lies in no grid; filed in the named grid "
                                 "%(name)s (%(code)s).") % {"name": named.name,
                                                             "code": named.code},
                          detail=detail)
        return _at_actor_node(actor, found.lon, found.lat, True, detail)
    if named is not None:
        return _Place(named, None, None, True, detail={"grid": named.code})
    return _at_actor_node(actor, None, None, False, {"address_only": True})


def _named_grid(code: str) -> Region:
    region = Region.objects.filter(code=code, level=Level.GRID).first()
    if region is None:
        raise CaseInvalid(_("grid: no grid with code %(code)s") % {"code": repr(code)},
                          field="grid")
    return region


def _at_actor_node(actor, lon, lat, had_point: bool, detail: dict) -> _Place:
    node = actor.region
    near = detail.get("nearest")
    if node is None:
        if had_point:
            message = _("location: the point lies in no grid and your account is bound to no "
                        "node; give a point inside a grid or name the grid")
        else:
            message = _("location: an address alone cannot be placed and your account is bound "
                        "to no node; give a map point or name the grid")
        if near:
            message += " " + _("(grid %(code)s is %(metres)s m away)") % near
        raise CaseInvalid(message, field="grid")
    values = {"name": node.name, "code": node.code}
    if had_point:
        note = _("The point lies in no grid; filed at the reporter's node %(name)s "
                 "(%(code)s).") % values
    else:
        note = _("No map point was given; filed at the reporter's node %(name)s "
                 "(%(code)s).") % values
    if near:
        note += " " + _("Nearest grid %(name)s (%(code)s), %(metres)s m away, offered.") % near
    detail = {**detail, "filed_at_actor_node": node.code}
    return _Place(node, lon, lat, node.level == Level.GRID, note=note, detail=detail)


# -- creation -----------------------------------------------------------------------------


def _next_code(now) -> str:
    """WG + local date + a 6-digit sequence of that day, unique and readable on the phone.

    The day's counter row is locked by the increment until the intake commits, so numbers
    are never handed out twice; a rolled-back intake gives its number back.
    """
    day = timezone.localdate(now)
    n = _bump_counter(day)
    if n is None:
        try:
            with transaction.atomic():
                CaseCounter.objects.create(day=day, last=1)
            n = 1
        except IntegrityError:  # another intake created today's row first
            n = _bump_counter(day)
    return f"WG{day:%Y%m%d}{n:06d}"


def _bump_counter(day) -> int | None:
    """Increment the day's counter and read it back in one statement (UPDATE … RETURNING,
    PostgreSQL and SQLite ≥ 3.35); None when the day has no row yet."""
    table = connection.ops.quote_name(CaseCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE day = %s "  # noqa: S608
                       "RETURNING last", [day])
        row = cursor.fetchone()
    return row[0] if row else None


def _route_of(category: Category, region: Region) -> dict:
    from ..routing import route

    result = route(category, region)
    if result is None:
        return {}
    return {"lead": result.lead.code, "assisting": [d.code for d in result.assisting]}


def _prepare(actor, data: CaseInput, checked: _Checked, key: str | None,
             fingerprint: str) -> Case:
    """The case as it will be saved, but for its number: route and deadline are read here,
    before the transaction, so the write lock (SQLite) and the row locks (PostgreSQL) are
    held only for the writes themselves."""
    now = clock.now()
    place = checked.place
    case = Case(
        code="", title=data.title.strip(), description=data.description.strip(),
        category=checked.category, urgency=data.urgency, source=checked.source,
        state=State.REPORTED, lon=place.lon, lat=place.lat, address=data.address.strip(),
        region=place.region, region_path=place.region.path, reporter=actor,
        reporter_contact_masked=checked.contact, requester=checked.requester,
        external_id=data.external_id.strip(),
        idempotency_key=key, fingerprint=fingerprint, self_handled=bool(data.self_handled),
        created_at=now,
    )
    if data.self_handled:
        case.state = State.HANDLED
        case.step, case.step_started_at = Step.VERIFY, now
        case.due_at = deadline_for(case, Step.VERIFY)
    else:
        case.route = _route_of(checked.category, place.region)
        case.step, case.step_started_at = Step.REGISTER, now
        case.due_at = deadline_for(case, Step.REGISTER)
    return case


def _create(actor, data: CaseInput, checked: _Checked, case: Case) -> Case:
    now = case.step_started_at
    place = checked.place
    case.code = _next_code(now)
    rows.insert(case)
    detail = {"source": checked.source, **place.detail}
    if case.route:
        detail["route"] = case.route
    report = rows.insert(CaseEvent(**event_for(
        case, actor, "report", "", State.REPORTED, now, note=place.note, detail=detail)))
    evidence_event = report
    if data.self_handled:
        evidence_event = rows.insert(CaseEvent(**event_for(
            case, actor, "self_handle", State.REPORTED, State.HANDLED, now,
            note=data.note.strip() or _("Handled on the spot by the reporting grid worker."),
            detail={"evidence": checked.photos})))
    figures.record(None, Facts.of(case),
                   [report] if evidence_event is report else [report, evidence_event])
    if checked.photos:
        Photo.objects.filter(pk__in=checked.photos, case__isnull=True,
                             uploaded_by=actor).update(case=case, event=evidence_event)
    record("cases.report", case, actor=audit_actor(actor), detail={
        "code": case.code, "source": checked.source, "category": checked.category.code,
        "region": place.region.code, "in_grid": place.in_grid,
        "self_handled": case.self_handled, "photos": checked.photos,
        "contact_masked": checked.contact, "idempotency_key": data.idempotency_key or "",
        "requester": checked.requester.username if checked.requester else None,
    })
    if not checked.photos:
        # What intake wrote is the whole case so far: the API answers without reading back.
        case.intake_events = [report] if evidence_event is report else [report, evidence_event]
    return case
