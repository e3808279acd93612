"""Schemas of the case API (django-ninja / Pydantic).

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

from datetime import datetime

from ninja import Field, Schema

from wangge.regions.crs import CRS_NAMES


class CaseIn(Schema):
    category: str = Field(description="category code (GET /cases/categories)")
    title: str = Field(max_length=200)
    description: str = ""
    source: str | None = Field(
        None, description="patrol, resident, hotline, sensor, video, referral, open311; "
        "people may leave it out (their role decides), machine clients must say")
    urgency: str = Field("normal", description="normal, urgent or critical")
    lon: float | None = None
    lat: float | None = None
    crs: str | None = Field(None, description=f"required with lon/lat: {', '.join(CRS_NAMES)}")
    address: str = ""
    grid: str | None = Field(None, description="a grid code, for a point in no grid (accept "
                             "the nearest grid offered) or a report without a point")
    contact_phone: str = Field("", description="stored masked only (138****5678)")
    external_id: str = Field("", description="the source's own number, e.g. a 12345 order")
    idempotency_key: str | None = Field(
        None, description="or the Idempotency-Key header: a retry with the same key returns "
        "the same case")
    self_handled: bool = Field(False, description="自处置: a grid worker fixed it on the spot")
    photos: list[int] = Field(default_factory=list,
                              description="ids of your own uploads (POST /cases/photos)")
    note: str = Field("", description="self-handled: what was done")


class ActionIn(Schema):
    expected_version: int | None = Field(
        None, description="the version you saw; a case changed since is refused with 409")
    reason: str | None = None
    note: str | None = None
    evidence: list[int] | None = Field(None, description="photo ids")
    departments: list[str] | None = Field(None, description="department codes, the lead first")
    days: int | None = Field(None, description="working days (extension)")
    rating: int | None = Field(None, description="1 to 5")
    comment: str | None = None
    master: str | None = Field(None, description="code of the case to merge into")


class PhotoOut(Schema):
    id: int
    content_type: str
    size: int
    width: int
    height: int
    url: str
    thumb_url: str
    exif_lon: float | None = Field(None, description="EXIF GPS (WGS-84), offered as the location")
    exif_lat: float | None = None
    uploaded_at: datetime


class EventOut(Schema):
    action: str
    from_state: str
    to_state: str
    actor: str
    actor_role: str
    department: str | None
    note: str
    detail: dict
    at: datetime
    step: str = Field(description="the deadline step this action ended, if any")
    step_due_at: datetime | None
    step_elapsed_ratio: float | None = Field(description="1.0 = exactly on the limit")
    photos: list[int]


class AssignmentOut(Schema):
    department: str
    department_name: str
    role: str
    via_whistle: bool
    assigned_at: datetime
    report_in_due_at: datetime | None
    reported_in_at: datetime | None
    contribution: str
    active: bool
    ended_at: datetime | None
    end_reason: str


class ActionOut(Schema):
    action: str
    label: str
    needs: list[str]


class CaseSummaryOut(Schema):
    code: str
    title: str
    category: str
    category_name: str
    state: str
    state_label: str
    source: str
    urgency: str
    region: str | None
    region_name: str | None
    address: str
    lon: float | None
    lat: float | None
    step: str
    due_at: datetime | None
    traffic_light: str | None = Field(description="green < 80 % of the step's limit, yellow "
                                      "80-100 %, red beyond; null without a deadline")
    created_at: datetime
    version: int


class CaseDetailOut(CaseSummaryOut):
    description: str
    reporter_contact: str = Field(description="masked")
    external_id: str
    self_handled: bool
    master: str | None
    route: dict = Field(description="lead/assisting suggested by the routing rules at intake")
    pending_request: str
    pending_detail: dict
    rating: int | None
    rating_comment: str
    escalation_level: int
    closed_at: datetime | None
    timeline: list[EventOut]
    assignments: list[AssignmentOut]
    photos: list[PhotoOut]
    allowed_actions: list[ActionOut] = Field(description="what you may do now")
    possible_duplicates: list[str] = Field(description="dispatchers only: codes to consider "
                                           "merging")


class CasePage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CaseSummaryOut]


class CategoryOut(Schema):
    code: str
    name: str
    name_en: str
    kind: str
    parent: str | None
