"""What GeoReport v2 words mean here: services, service definitions and service requests.

- A *service* is a case category (事件分类) a report can be filed under: an active category
  without active children, its ``service_code`` the category code and its ``group`` the
  name of its parent (大类). Every service is ``realtime``: the case number is known at once.
- Every service definition has two optional attributes: ``urgency`` (a singlevaluelist of
  our urgencies) and ``title`` (a string; taken from the description when left out).
- A *service request* is a case; ``service_request_id`` is its case number. ``status`` is
  ``closed`` for the states in ``workflow.OPEN311_CLOSED`` and ``open`` otherwise.
- ``address_id`` is the code of the grid (网格编码) the case lies in — the platform's own
  addressing system. A POST may name a grid this way instead of giving a point or address.

Personal data: ``phone`` is validated and handed to intake, which keeps only the masked
number; ``email``, ``first_name``, ``last_name``, ``device_id`` and ``account_id`` are
accepted and dropped, since the case has nowhere to keep them protected. ``media_url`` is
accepted and ignored: photos are uploaded through ``/api/v1``, not fetched from the web.

What a GET shows depends on who asks (see ``request_out``): the cases in the api_key owner's
scope in full, every other case — and every case for a caller without an api_key — in the
public form, with no free text, no address and, for resident requests (诉求), no location.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.cases.models import (
    Assignment,
    AssignmentRole,
    Case,
    Category,
    CategoryKind,
    Source,
    Urgency,
)
from wangge.cases.services import CaseError, CaseInput, CaseInvalid, mask_phone, submit_case
from wangge.cases.workflow import OPEN311_CLOSED, State, Step
from wangge.regions.models import Level, Region

from .clients import Client
from .errors import Open311Error
from .formats import Many

MAX_DESCRIPTION = 4000  # the spec's limit for description
MAX_REQUESTS = 1000  # the spec's default response volume
DEFAULT_SPAN = timedelta(days=90)  # … and its default and longest date range
TITLE_CHARS = 40  # a title taken from the description keeps its first line, this long
PUBLIC_DECIMALS = 3  # about 100 m: where the public sees a case, not whose door it is
ATTRIBUTE_KEY = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")


# -- services -----------------------------------------------------------------------------


def _services() -> list[Category]:
    """Active leaf categories under an active parent (or none), in the categories' order."""
    active = list(Category.objects.filter(is_active=True).select_related("parent"))
    with_children = {c.parent_id for c in active if c.parent_id is not None}
    leaves = [c for c in active if c.pk not in with_children
              and (c.parent is None or c.parent.is_active)]

    def order(c: Category) -> tuple:
        top = c.parent or c
        return (top.sort, top.code, c.parent_id is not None, c.sort, c.code)

    return sorted(leaves, key=order)


def find_service(code: str) -> Category | None:
    """The category behind ``service_code``, if it is one of the listed services."""
    category = (Category.objects.filter(code=code, is_active=True).select_related("parent")
                .first())
    if category is None or (category.parent is not None and not category.parent.is_active):
        return None
    if category.children.filter(is_active=True).exists():
        return None  # a group (大类) with services of its own is not itself a service
    return category


def service_list() -> Many:
    return Many("service", [_service_out(c) for c in _services()])


def _service_out(c: Category) -> dict[str, Any]:
    group = c.parent.name if c.parent else c.name
    description = f"{c.parent.name} › {c.name}" if c.parent else c.name
    if c.name_en:
        description += f" ({c.name_en})"
    description += f" — {c.get_kind_display()}"
    words: list[str] = []
    for word in (c.name, c.name_en, c.parent and c.parent.name, c.parent and c.parent.name_en,
                 c.kind):
        if word and word not in words:
            words.append(word)
    return {
        "service_code": c.code, "service_name": c.name, "description": description,
        "metadata": True, "type": "realtime", "keywords": ", ".join(words), "group": group,
    }


def service_definition(category: Category) -> dict[str, Any]:
    urgencies = [{"key": value, "name": str(label)} for value, label in Urgency.choices]
    return {
        "service_code": category.code,
        "attributes": Many("attribute", [
            {
                "variable": True, "code": "urgency", "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": _("One of the listed keys; %(default)s when left "
                                          "out.") % {"default": Urgency.NORMAL},
                "order": 1,
                "description": _("How urgent is it? (紧急程度)"),
                "values": Many("value", urgencies),
            },
            {
                "variable": True, "code": "title", "datatype": "string", "required": False,
                "datatype_description": _("At most 200 characters, on one line."),
                "order": 2,
                "description": _("A few words saying what is wrong (标题); taken from the "
                                 "description when left out."),
                "values": Many("value", []),
            },
        ]),
    }


# -- POST requests ------------------------------------------------------------------------


def _one(post: QueryDict, name: str) -> str:
    return (post.get(name) or "").strip()


def _attributes(post: QueryDict, errors: list[tuple[int, str]]) -> dict[str, str]:
    known = {"urgency", "title"}
    out: dict[str, str] = {}
    for key in post:
        match = ATTRIBUTE_KEY.fullmatch(key)
        if match is None:
            continue
        code, values = match.group(1), [v.strip() for v in post.getlist(key) if v.strip()]
        if code not in known:
            errors.append((400, f"attribute[{code}]: this service has no attribute {code!r}; "
                                f"its attributes are {', '.join(sorted(known))}"))
        elif len(values) > 1:
            errors.append((400, f"attribute[{code}]: one value only, not {len(values)}"))
        elif values:
            out[code] = values[0]
    urgency = out.get("urgency")
    if urgency is not None and urgency not in Urgency.values:
        errors.append((400, f"attribute[urgency]: {urgency!r} is not one of "
                            f"{', '.join(Urgency.values)}"))
    return out


def _coordinate(post: QueryDict, name: str, limit: float,
                errors: list[tuple[int, str]]) -> float | None:
    text = _one(post, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors.append((400, f"{name}: {text[:20]!r} is not a number (WGS-84 degrees)"))
        return None
    if not -limit <= value <= limit:  # also refuses nan and inf
        errors.append((400, f"{name}: {value} is outside -{limit:g}..{limit:g}"))
        return None
    return value


def _title(attribute: str | None, description: str, service: Category | None) -> str:
    if attribute:
        return attribute
    first_line = next((line.strip() for line in description.splitlines() if line.strip()), "")
    if first_line:
        return (first_line[:TITLE_CHARS - 1] + "…") if len(first_line) > TITLE_CHARS \
            else first_line
    return service.name if service else ""


def parse_submission(post: QueryDict, idempotency_key: str | None) -> CaseInput:
    """The case a POST requests.{format} asks for, or every input error found at once."""
    errors: list[tuple[int, str]] = []
    code = _one(post, "service_code")
    service = None
    if not code:
        errors.append((400, "service_code is required (see services.xml)"))
    else:
        service = find_service(code)
        if service is None:
            errors.append((404, f"service_code {code!r} not found (see services.xml)"))
    lat = _coordinate(post, "lat", 90, errors)
    lon = _coordinate(post, "long", 180, errors)
    address = _one(post, "address_string")
    address_id = _one(post, "address_id")
    has_lat, has_long = bool(_one(post, "lat")), bool(_one(post, "long"))
    if has_lat != has_long:
        errors.append((400, "lat and long: send both, or neither"))
    if not (has_lat and has_long) and not address and not address_id:
        errors.append((400, "a location is required: lat and long (WGS-84), or "
                            "address_string, or address_id (a grid code)"))
    if address_id and not address and not (has_lat and has_long):
        grid = Region.objects.filter(code=address_id, level=Level.GRID).only("name").first()
        if grid is None:
            errors.append((400, f"address_id: no grid with code {address_id!r}"))
        else:
            address = grid.name  # intake files a case without a point only with an address
    if len(address) > 300:
        errors.append((400, f"address_string: at most 300 characters, not {len(address)}"))
    description = (post.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors.append((400, f"description: at most {MAX_DESCRIPTION} characters, not "
                            f"{len(description)}"))
    phone = _one(post, "phone")
    if phone:
        try:
            mask_phone(phone)
        except CaseInvalid as exc:
            errors.append((400, "phone" + exc.message.removeprefix("contact_phone")))
    attributes = _attributes(post, errors)
    if errors:
        raise Open311Error.collected(errors)
    return CaseInput(
        category=code, title=_title(attributes.get("title"), description, service),
        description=description, source=Source.OPEN311,
        urgency=attributes.get("urgency", Urgency.NORMAL), lon=lon, lat=lat,
        crs="wgs84" if lon is not None else None, address=address, grid=address_id or None,
        contact_phone=phone, idempotency_key=idempotency_key or None,
    )


def submit(client: Client, data: CaseInput) -> tuple[Case, bool]:
    try:
        return submit_case(client.user, data)
    except CaseError as exc:
        raise Open311Error.from_case_error(exc) from exc


def submitted_out(case: Case) -> Many:
    notice = _("Received as case %(code)s.") % {"code": case.code}
    if case.due_at is not None and case.state == State.REPORTED:
        notice += " " + _("It will be registered by %(due)s.") % {
            "due": timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M")}
    return Many("request", [{"service_request_id": case.code, "service_notice": notice,
                             "account_id": None}])


# -- GET requests -------------------------------------------------------------------------


@dataclass
class RequestQuery:
    ids: list[str]
    service_codes: list[str]
    start: datetime
    end: datetime
    statuses: set[str]


def _split(params: QueryDict, name: str) -> list[str]:
    """A parameter "declared multiple times, comma delimited": both forms are accepted."""
    out: list[str] = []
    for value in params.getlist(name):
        out += [part.strip() for part in value.split(",") if part.strip()]
    return out


def _instant(params: QueryDict, name: str, errors: list[tuple[int, str]]) -> datetime | None:
    text = _one(params, name)
    if not text:
        return None
    # An unencoded "+08:00" arrives as " 08:00" (a "+" in a query string is a space).
    for candidate in (text, text.replace(" ", "+")):
        try:
            value = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value
    errors.append((400, f"{name}: {text[:40]!r} is not a W3C date-time such as "
                        "2024-05-01T00:00:00+08:00"))
    return None


def parse_query(params: QueryDict, now: datetime | None = None) -> RequestQuery:
    """GET requests.{format} arguments, with the spec's defaults: the most recent 90 days."""
    now = now or timezone.now()
    errors: list[tuple[int, str]] = []
    start = _instant(params, "start_date", errors)
    end = _instant(params, "end_date", errors)
    statuses = set(_split(params, "status"))
    wrong = sorted(statuses - {"open", "closed"})
    if wrong:
        errors.append((400, f"status: {', '.join(wrong)} is not open or closed"))
    if errors:
        raise Open311Error.collected(errors)
    if start is None and end is None:
        end = now
    if start is None:
        start = end - DEFAULT_SPAN
    if end is None:
        end = start + DEFAULT_SPAN
    if start > end:
        raise Open311Error.one(400, "start_date is after end_date")
    if end - start > DEFAULT_SPAN:
        raise Open311Error.one(400, "start_date to end_date may span at most 90 days")
    return RequestQuery(ids=_split(params, "service_request_id"),
                        service_codes=_split(params, "service_code"), start=start, end=end,
                        statuses=statuses)


def _cases() -> QuerySet[Case]:
    leads = Assignment.objects.filter(active=True, role=AssignmentRole.LEAD) \
        .select_related("department")
    return Case.objects.select_related("category", "region", "master").prefetch_related(
        Prefetch("assignments", queryset=leads, to_attr="lead_assignments"))


def find_requests(query: RequestQuery, client: Client | None) -> list[dict[str, Any]]:
    """Up to 1000 requests, newest first; ``service_request_id`` overrides every filter."""
    qs = _cases()
    if query.ids:
        qs = qs.filter(code__in=query.ids[:MAX_REQUESTS])
    else:
        qs = qs.filter(created_at__gte=query.start, created_at__lte=query.end)
        if query.service_codes:
            qs = qs.filter(category__code__in=query.service_codes)
        if query.statuses == {"open"}:
            qs = qs.exclude(state__in=OPEN311_CLOSED)
        elif query.statuses == {"closed"}:
            qs = qs.filter(state__in=OPEN311_CLOSED)
    cases = list(qs.order_by("-created_at", "-id")[:MAX_REQUESTS])
    full = _in_scope(client, cases)
    return [request_out(c, full=c.pk in full) for c in cases]


def find_request(code: str, client: Client | None) -> dict[str, Any]:
    case = _cases().filter(code=code).first()
    if case is None:
        raise Open311Error.one(404, f"service_request_id {code!r} not found")
    return request_out(case, full=case.pk in _in_scope(client, [case]))


def _in_scope(client: Client | None, cases: list[Case]) -> set[int]:
    """Which of ``cases`` the client's owner may see in full: the scope rule, in one place."""
    if client is None or not cases:
        return set()
    return set(visible_to(Case, client.user).filter(pk__in=[c.pk for c in cases])
               .values_list("pk", flat=True))


def find_token(token: str, client: Client) -> dict[str, Any]:
    """The request a client filed with ``Idempotency-Key: <token>``.

    We answer every POST in real time, so we never hand out tokens; instead a client that
    lost the answer to a POST can look its case up by the key it sent.
    """
    from wangge.cases.services.intake import _namespaced_key  # intake's key namespace

    try:
        key = _namespaced_key(client.user, token)
    except CaseInvalid:
        key = None
    case = (visible_to(Case, client.user).filter(idempotency_key=key).only("code").first()
            if key else None)
    if case is None:
        raise Open311Error.one(404, f"token {token[:80]!r} not found for this api_key")
    return {"service_request_id": case.code, "token": token}


def status_of(state: str) -> str:
    return "closed" if state in OPEN311_CLOSED else "open"


def request_out(case: Case, *, full: bool) -> dict[str, Any]:
    """One service request. ``full`` (the case is in the api_key owner's scope) adds the
    description, the address and the exact point; the public form carries nothing a person
    wrote or that could lead to a door."""
    status = status_of(case.state)
    notes = str(case.get_state_display())
    if case.state == State.MERGED and case.master is not None:
        notes += f" → {case.master.code}"
    leads = getattr(case, "lead_assignments", None)
    if leads is None:
        leads = list(case.assignments.filter(active=True, role=AssignmentRole.LEAD)
                     .select_related("department"))
    updated = case.closed_at if status == "closed" and case.closed_at else case.updated_at
    expected = case.due_at if status == "open" and case.step == Step.HANDLE else None
    lat, lon = case.lat, case.lon
    if not full:
        if case.category.kind == CategoryKind.REQUEST or lat is None or lon is None:
            lat = lon = None
        else:
            lat, lon = round(lat, PUBLIC_DECIMALS), round(lon, PUBLIC_DECIMALS)
    return {
        "service_request_id": case.code,
        "status": status,
        "status_notes": notes,
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": (case.description or None) if full else None,
        "agency_responsible": leads[0].department.name if leads else None,
        "service_notice": None,
        "requested_datetime": case.created_at,
        "updated_datetime": updated,
        "expected_datetime": expected,
        "address": (case.address or None) if full else None,
        "address_id": case.region.code if case.region else None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }
