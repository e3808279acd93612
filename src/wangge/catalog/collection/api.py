"""Collection-form API under /api/v1/catalog/forms — 采集表接口.

- ``GET /``: the caller's department's forms with their burden ("catalog.forms").
- ``GET /{id}/burden``: a form's burden — per field and answered by grid ("catalog.forms").
- ``GET /todo``: the caller's targets of issued forms, open first ("catalog.fill").
- ``GET /targets/{id}``: one target — pre-filled (masked, with source) and asked fields.
- ``POST /targets/{id}/answer``: answer it ("catalog.fill"); ``Idempotency-Key`` header (or
  ``idempotency_key`` in the body) makes a retry return the first answer (200) instead of
  writing again (201); ``edit: true`` changes an answered target, else 409.

Same rules as the pages (``service`` / ``fill``): another department's form or a target
outside the caller's subtree is 404; a value for a pre-filled field 409 naming the field and
its source; a bad value 422 naming the field. Values are masked. No API token scope is
declared for these permissions yet, so a token is refused (403): sessions only.

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

import datetime

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, P, Router, Schema, Status
from ninja.errors import HttpError
from ninja.params import HeaderEx

from wangge.catalog.fields import get_field
from wangge.catalog.models import CollectionForm, FormTarget

from . import fill, report, service
from .errors import FormError

router = Router(tags=["catalog"])


class BurdenOut(Schema):
    targets: int
    fields_total: int = Field(description="targets × fields")
    prefilled: int = Field(description="values the registry already held (not asked)")
    asked: int = Field(description="values sent to grid workers")


class FormOut(Schema):
    id: int
    name: str
    status: str
    department: str
    matter: int | None = Field(description="id of the grid matter item it is sent under")
    dataset: str = Field(description="code of the dataset the answers go to")
    fields: list[str]
    region: str = Field(description="area code")
    target_tag: str | None
    target_dataset: str | None
    due_on: datetime.date | None
    issued_at: datetime.datetime | None
    burden: BurdenOut
    saved_share: float = Field(description="pre-filled / fields total (0-1)")
    answered: int


class FieldBurdenOut(Schema):
    field: str
    label: str
    prefilled: int
    asked: int


class GridOut(Schema):
    code: str
    name: str
    targets: int
    answered: int
    asked: int


class FormBurdenOut(Schema):
    id: int
    name: str
    status: str
    burden: BurdenOut
    saved_share: float
    answered: int
    per_field: list[FieldBurdenOut]
    by_grid: list[GridOut]


class PrefilledOut(Schema):
    field: str
    label: str
    display: str = Field(description="masked")
    dataset: str
    observed_at: str


class AskedOut(Schema):
    field: str
    label: str
    kind: str
    choices: dict[str, str]


class TargetOut(Schema):
    id: int
    form: int
    form_name: str
    department: str
    due_on: datetime.date | None
    grid: str
    grid_name: str
    person: int
    person_name: str = Field(description="masked")
    prefilled: list[PrefilledOut]
    asked: list[AskedOut]
    answered_at: datetime.datetime | None
    answer: dict[str, str] = Field(description="the answer given, masked")


class TodoItemOut(Schema):
    id: int
    form: int
    form_name: str
    department: str
    due_on: datetime.date | None
    grid: str
    grid_name: str
    person_name: str = Field(description="masked")
    asked: list[str]
    answered_at: datetime.datetime | None


class TodoPage(Schema):
    count: int
    open: int
    page: int
    pages: int
    items: list[TodoItemOut]


class AnswerIn(Schema):
    values: dict[str, str] = Field(description="asked field code → value")
    edit: bool = Field(False, description="change an answered target")
    idempotency_key: str | None = Field(None, description="or the Idempotency-Key header")


class AnswerOut(Schema):
    target: int
    answered_at: datetime.datetime | None
    answered_by: str
    values: dict[str, str] = Field(description="the answer, masked")
    replayed: bool = Field(description="a retry: the first answer, nothing written")
    edited: bool


class ErrorOut(Schema):
    detail: str
    field: str = ""
    errors: dict[str, str] = {}
    pointers: list[dict] = []


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


def _error(exc: FormError) -> Status:
    return Status(exc.status, ErrorOut(detail=exc.message, field=exc.field, errors=exc.errors,
                                       pointers=exc.pointers))


def _burden(form: CollectionForm) -> BurdenOut:
    b = form.burden or {}
    return BurdenOut(**{k: int(b.get(k, 0)) for k in report.BURDEN_KEYS})


ERRORS = {403: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get("", response={200: list[FormOut], 403: ErrorOut}, url_name="collection_forms")
def list_forms(request):
    """The caller's department's forms, newest first, with the burden saved."""
    try:
        forms = service.manageable_forms(request.user, _token(request))
        overview = report.overview(forms)
    except FormError as exc:
        return _error(exc)
    return [FormOut(id=f.pk, name=f.name, status=f.status, department=f.department.name,
                    matter=f.matter_id, dataset=f.dataset.code, fields=f.fields,
                    region=f.region.code,
                    target_tag=f.target_tag.code if f.target_tag_id else None,
                    target_dataset=f.target_dataset.code if f.target_dataset_id else None,
                    due_on=f.due_on, issued_at=f.issued_at, burden=_burden(f),
                    saved_share=row["saved_share"], answered=row["answered"])
            for row in overview["rows"] for f in [row["form"]]]


@router.get("/todo", response={200: TodoPage, 403: ErrorOut}, url_name="collection_todo")
def todo(request, page: int = 1, size: int = 50):
    """The caller's targets of issued forms: open ones first, then by due date (``size``
    1-200 per page)."""
    targets = fill.todo(request.user, _token(request))
    pages = Paginator(targets, min(max(size, 1), 200))
    current = pages.get_page(page)
    items = [TodoItemOut(id=t.pk, form=t.form_id, form_name=t.form.name,
                         department=t.form.department.name, due_on=t.form.due_on,
                         grid=t.region.code, grid_name=t.region.name,
                         person_name=t.person.name_masked, asked=t.asked,
                         answered_at=t.answered_at) for t in current]
    return TodoPage(count=pages.count, open=targets.filter(answered_at__isnull=True).count(),
                    page=current.number, pages=pages.num_pages, items=items)


@router.get("/{form_id}/burden", response={200: FormBurdenOut, 403: ErrorOut},
            url_name="collection_burden")
def burden(request, form_id: int):
    """A form's burden: pre-filled versus asked per field, answers by grid."""
    try:
        form = service.get_manageable(request.user, form_id, _token(request))
        if form.status == "draft":
            data = report.preview_report(service.preview(request.user, form))
        else:
            data = report.form_report(form)
    except FormError as exc:
        return _error(exc)
    return FormBurdenOut(id=form.pk, name=form.name, status=form.status,
                         burden=BurdenOut(**data["burden"]), saved_share=data["saved_share"],
                         answered=data["answered"], per_field=data["per_field"],
                         by_grid=data["by_grid"])


def _target_out(target: FormTarget) -> TargetOut:
    prefilled = [PrefilledOut(field=c, label=get_field(c).label,
                              display=target.prefilled[c].get("display", ""),
                              dataset=target.prefilled[c].get("dataset", ""),
                              observed_at=target.prefilled[c].get("observed_at", ""))
                 for c in target.form.fields if c in target.prefilled]
    asked = [AskedOut(field=c, label=get_field(c).label, kind=get_field(c).kind,
                      choices=get_field(c).choices) for c in target.asked]
    row = fill.answer_record(target) if target.answered_at else None
    return TargetOut(id=target.pk, form=target.form_id, form_name=target.form.name,
                     department=target.form.department.name, due_on=target.form.due_on,
                     grid=target.region.code, grid_name=target.region.name,
                     person=target.person_id, person_name=target.person.name_masked,
                     prefilled=prefilled, asked=asked, answered_at=target.answered_at,
                     answer=fill.answer_display(target, row))


@router.get("/targets/{target_id}", response={200: TargetOut, 403: ErrorOut},
            url_name="collection_target")
def get_target(request, target_id: int):
    """One target in the caller's subtree: what is known (masked) and what is asked."""
    return _target_out(fill.get_target(request.user, target_id, _token(request)))


@router.post("/targets/{target_id}/answer",
             response={200: AnswerOut, 201: AnswerOut, **ERRORS},
             url_name="collection_answer")
def answer(request, target_id: int, payload: AnswerIn,
           idempotency_key: HeaderEx[str | None, P(alias="Idempotency-Key")] = None):
    """Answer a target's asked fields: 201 written, 200 a retry (nothing written) or an
    edit; 409 a pre-filled field, an answered target without ``edit``, a closed form; 422 a
    bad value (``errors`` by field)."""
    key = payload.idempotency_key
    if idempotency_key and key and idempotency_key != key:
        raise HttpError(422, _("the Idempotency-Key header and idempotency_key differ"))
    try:
        result = fill.submit_answer(request.user, target_id, payload.values,
                                    key=key or idempotency_key, edit=payload.edit,
                                    token=_token(request))
    except FormError as exc:
        return _error(exc)
    target = result.target
    out = AnswerOut(target=target.pk, answered_at=target.answered_at,
                    answered_by=target.answered_by.label if target.answered_by else "",
                    values=result.values, replayed=result.replayed, edited=result.edited)
    return Status(201 if result.created else 200, out)
