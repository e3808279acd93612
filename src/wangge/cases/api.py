"""Case API under /api/v1/cases: intake, the scoped list and detail, workflow actions, photos.

Reading needs "cases.view" (token scope ``cases:read``); filing a case or uploading a photo
for one needs "cases.report" (``cases:report``). Workflow actions are taken by people in a
signed-in session: the engine checks each against the role, department and state declared in
``workflow.TRANSITIONS``. A case outside the caller's scope answers 404 exactly like a code
that does not exist.

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, P, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.params import HeaderEx

from wangge.accounts.permissions import has_permission, require_permission
from wangge.accounts.roles import Role

from . import services
from .models import Case, CaseEvent, Photo
from .schemas import (
    ActionIn,
    ActionOut,
    AssignmentOut,
    CaseDetailOut,
    CaseIn,
    CasePage,
    CaseSummaryOut,
    CategoryOut,
    EventOut,
    PhotoOut,
)
from .services import CaseError, CaseFilters, CaseInput

router = Router(tags=["cases"])

# Multipart overhead allowed on top of the photo itself before the body is refused unread.
_MULTIPART_SLACK = 64 * 1024
_PHOTO_BODY = {
    "requestBody": {
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "JPEG, PNG or WebP, at most 10 MB"}}}}},
        "required": True,
    },
}
# Timeline details that name staff (who asked, who was notified) stay inside.
_STAFF_ONLY_DETAIL = frozenset({"notified", "request"})
_IMAGE = {"responses": {200: {"description": "the image",
                              "content": {"image/*": {"schema": {"type": "string",
                                                                  "format": "binary"}}}}}}


class ListQuery(Schema):
    state: str | None = Field(None, description="one state or several, comma-separated")
    category: str | None = Field(None, description="category code (includes its children)")
    source: str | None = None
    node: str | None = Field(None, description="region code: cases in its subtree")
    overdue: bool | None = Field(None, description="true: open cases past their deadline")
    q: str | None = Field(None, description="search code, title, description, address")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


@contextmanager
def _answers() -> Iterator[None]:
    """Service refusals become responses with their own status and message."""
    try:
        yield
    except CaseError as exc:
        raise HttpError(exc.status, exc.message) from exc


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


def _can_read(request: HttpRequest) -> None:
    require_permission(request.user, "cases.view", _token(request))


def _can_report(request: HttpRequest) -> None:
    require_permission(request.user, "cases.report", _token(request))


# -- output -------------------------------------------------------------------------------


def _photo_out(photo: Photo, code: str | None) -> PhotoOut:
    if code is None:
        url = reverse("api:cases_own_photo", kwargs={"photo_id": photo.pk})
        thumb = reverse("api:cases_own_photo_thumb", kwargs={"photo_id": photo.pk})
    else:
        url = reverse("api:cases_photo", kwargs={"code": code, "photo_id": photo.pk})
        thumb = reverse("api:cases_photo_thumb", kwargs={"code": code, "photo_id": photo.pk})
    return PhotoOut(id=photo.pk, content_type=photo.content_type, size=photo.size,
                    width=photo.width, height=photo.height, url=url, thumb_url=thumb,
                    exif_lon=photo.exif_lon, exif_lat=photo.exif_lat,
                    uploaded_at=photo.uploaded_at)


def _summary_fields(case: Case) -> dict:
    return {
        "code": case.code, "title": case.title, "category": case.category.code,
        "category_name": case.category.name, "state": case.state,
        "state_label": str(case.get_state_display()), "source": case.source,
        "urgency": case.urgency, "region": case.region.code if case.region else None,
        "region_name": case.region.name if case.region else None, "address": case.address,
        "lon": case.lon, "lat": case.lat, "step": case.step, "due_at": case.due_at,
        "traffic_light": services.traffic_light(case), "created_at": case.created_at,
        "version": case.version,
    }


def _outside_view(user) -> bool:
    """Residents and machine clients see the case's progress, not who inside did what."""
    return getattr(user, "role", None) in (Role.RESIDENT, Role.MACHINE)


def _event_out(event: CaseEvent, viewer, photo_ids: list[int] | None = None) -> EventOut:
    actor, detail = event.actor_name, event.detail
    if _outside_view(viewer) and event.actor_id != viewer.pk:
        role = event.actor_role
        actor = str(Role(role).label) if role in Role.values else role
        detail = {k: v for k, v in detail.items() if k not in _STAFF_ONLY_DETAIL}
    return EventOut(
        action=event.action, from_state=event.from_state, to_state=event.to_state,
        actor=actor, actor_role=event.actor_role,
        department=event.department.name if event.department else None, note=event.note,
        detail=detail, at=event.at, step=event.step, step_due_at=event.step_due_at,
        step_elapsed_ratio=event.step_elapsed_ratio,
        photos=sorted(p.pk for p in event.photos.all()) if photo_ids is None else photo_ids)


def _detail(request: HttpRequest, case: Case) -> CaseDetailOut:
    user = request.user
    fresh = getattr(case, "intake_events", None)
    if fresh is not None:  # just filed without photos: its timeline is what intake wrote
        timeline = [_event_out(e, user, photo_ids=[]) for e in fresh]
        assignments, photos = [], []
    else:
        events = case.events.select_related("department").prefetch_related("photos")
        timeline = [_event_out(e, user) for e in events]
        assignments = list(case.assignments.select_related("department")
                           .order_by("assigned_at", "id"))
        photos = list(case.photos.order_by("id"))
    return CaseDetailOut(
        **_summary_fields(case),
        description=case.description, reporter_contact=case.reporter_contact_masked,
        external_id=case.external_id, self_handled=case.self_handled,
        master=case.master.code if case.master_id else None, route=case.route,
        pending_request=case.pending_request,
        pending_detail={} if _outside_view(user) else case.pending_detail,
        rating=case.rating, rating_comment=case.rating_comment,
        escalation_level=case.escalation_level, closed_at=case.closed_at,
        timeline=timeline,
        assignments=[AssignmentOut(
            department=a.department.code, department_name=a.department.name, role=a.role,
            via_whistle=a.via_whistle, assigned_at=a.assigned_at,
            report_in_due_at=a.report_in_due_at, reported_in_at=a.reported_in_at,
            contribution=a.contribution, active=a.active, ended_at=a.ended_at,
            end_reason=a.end_reason) for a in assignments],
        photos=[_photo_out(p, case.code) for p in photos],
        allowed_actions=[ActionOut(action=t.action, label=str(t.label), needs=list(t.needs))
                         for t in services.allowed_transitions(user, case)],
        possible_duplicates=[c.code for c in services.duplicate_candidates(user, case)],
    )


# -- routes (fixed paths before "/{code}") ------------------------------------------------


@router.get("/categories", response=list[CategoryOut], url_name="cases_categories")
def categories(request):
    """Active case categories (事件分类), parents before their children."""
    token = _token(request)
    if not (has_permission(request.user, "cases.view", token)
            or has_permission(request.user, "cases.report", token)):
        require_permission(request.user, "cases.view", token)
    rows = list(services.active_categories())

    def tree_order(c):  # each class (大类) followed by its subclasses
        top = c.parent if c.parent_id else c
        return (top.sort, top.code, c.parent_id is not None, c.sort, c.code)

    return [CategoryOut(code=c.code, name=c.name, name_en=c.name_en, kind=c.kind,
                        parent=c.parent.code if c.parent_id else None)
            for c in sorted(rows, key=tree_order)]


@router.post("/photos", response={201: PhotoOut}, url_name="cases_upload_own_photo",
             openapi_extra=_PHOTO_BODY)
def upload_own_photo(request):
    """Upload a photo before filing (evidence of a self-handled matter, or simply first):
    only you see it until intake or an action attaches it by id."""
    _can_report(request)
    with _answers():
        photo = services.add_photo(request.user, None, _uploaded(request))
    return Status(201, _photo_out(photo, None))


@router.get("/photos/{photo_id}", url_name="cases_own_photo", openapi_extra=_IMAGE)
def own_photo(request, photo_id: int):
    _can_read_or_report(request)
    return _serve(request, photo_id, None, thumb=False)


@router.get("/photos/{photo_id}/thumb", url_name="cases_own_photo_thumb", openapi_extra=_IMAGE)
def own_photo_thumb(request, photo_id: int):
    _can_read_or_report(request)
    return _serve(request, photo_id, None, thumb=True)


@router.post("", response={200: CaseDetailOut, 201: CaseDetailOut}, url_name="cases_submit")
def submit(request, payload: CaseIn,
           idempotency_key: HeaderEx[str | None, P(alias="Idempotency-Key")] = None):
    """File a case (受理). 201 with the new case; 200 with the same case when the submission
    is a retry with an idempotency key already used for the same content; 409 when that key
    was used for different content."""
    _can_report(request)
    key = payload.idempotency_key
    if idempotency_key and key and idempotency_key != key:
        raise HttpError(422, _("the Idempotency-Key header and idempotency_key differ"))
    data = CaseInput(**{**payload.dict(), "idempotency_key": key or idempotency_key})
    with _answers():
        case, created = services.submit_case(request.user, data)
    return Status(201 if created else 200, _detail(request, case))


@router.get("", response=CasePage, url_name="cases_list")
def list_cases(request, query: Query[ListQuery]):
    """Cases you may see, newest first, each with its traffic light."""
    _can_read(request)
    filters = CaseFilters(state=query.state, category=query.category, source=query.source,
                          node=query.node, overdue=query.overdue, q=query.q)
    qs = services.list_cases(request.user, filters)
    start = (query.page - 1) * query.page_size
    items = [CaseSummaryOut(**_summary_fields(c)) for c in qs[start:start + query.page_size]]
    return CasePage(count=qs.count(), page=query.page, page_size=query.page_size, items=items)


@router.get("/{code}", response=CaseDetailOut, url_name="cases_get")
def get_case(request, code: str):
    """One case: its timeline (who, when, against which deadline), departments, photos and
    the actions you may take now."""
    _can_read(request)
    with _answers():
        case = services.get_case(request.user, code)
    return _detail(request, case)


@router.post("/{code}/actions/{action}", response=CaseDetailOut, url_name="cases_action")
def act(request, code: str, action: str, payload: ActionIn):
    """Take a workflow action. 404: no such case for you; 403: not your role or department;
    409: not allowed in the case's state, or someone changed it first (nothing changed);
    422: an input is missing or wrong (named)."""
    _can_read(request)
    if _token(request) is not None:
        raise HttpError(403, _("workflow actions are taken in a signed-in session, not with "
                               "an API token"))
    inputs = payload.dict(exclude_none=True)
    expected = inputs.pop("expected_version", None)
    with _answers():
        case = services.transition(request.user, code, action, expected_version=expected,
                                   **inputs)
    return _detail(request, case)


@router.post("/{code}/photos", response={201: PhotoOut}, url_name="cases_upload_photo",
             openapi_extra=_PHOTO_BODY)
def upload_photo(request, code: str):
    """Add a photo to a case you can see (a report's picture, a department's evidence)."""
    _can_read(request)
    if _token(request) is not None:
        _can_report(request)
    with _answers():
        case = services.get_case(request.user, code)
        photo = services.add_photo(request.user, case, _uploaded(request))
    return Status(201, _photo_out(photo, case.code))


@router.get("/{code}/photos/{photo_id}", url_name="cases_photo", openapi_extra=_IMAGE)
def photo(request, code: str, photo_id: int):
    _can_read(request)
    return _serve(request, photo_id, code, thumb=False)


@router.get("/{code}/photos/{photo_id}/thumb", url_name="cases_photo_thumb",
            openapi_extra=_IMAGE)
def photo_thumb(request, code: str, photo_id: int):
    _can_read(request)
    return _serve(request, photo_id, code, thumb=True)


# -- helpers ------------------------------------------------------------------------------


def _can_read_or_report(request: HttpRequest) -> None:
    token = _token(request)
    if not has_permission(request.user, "cases.report", token):
        require_permission(request.user, "cases.view", token)


def _uploaded(request: HttpRequest):
    """The multipart field "file", refused unread when the body is far over the limit."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > services.MAX_PHOTO_BYTES + _MULTIPART_SLACK:
        raise HttpError(413, _("the upload is %(size).1f MB; a photo may be at most %(limit)s "
                               "MB") % {"size": declared / (1024 * 1024),
                                        "limit": f"{services.MAX_PHOTO_BYTES / (1024 * 1024):g}"})
    uploaded = request.FILES.get("file")
    if uploaded is None:
        raise HttpError(422, _('file: send the photo as multipart/form-data field "file"'))
    return uploaded


def _serve(request: HttpRequest, photo_id: int, code: str | None, *, thumb: bool):
    with _answers():
        photo, path = services.photo_file(request.user, photo_id, case_code=code, thumb=thumb)
    content_type = "image/jpeg" if thumb else photo.content_type
    ext = "jpg" if thumb else path.suffix.lstrip(".")
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.{ext}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
