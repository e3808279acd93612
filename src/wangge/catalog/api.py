"""Catalogue API under /api/v1/catalog: shared rows and the lists sent down to grids.

- ``GET /datasets/{code}/records`` (token scope ``catalog:read``): the rows of a dataset the
  caller may read — her department's, shared without conditions, or under a live grant
  (then only the grant's fields) — masked, paged; each call is logged (channel "api",
  with the token's prefix). An expired grant answers 403 saying when it expired.
- ``GET /lists/{code}`` (token scope ``catalog:lists``): a list sent down to grids, the rows
  in the caller's subtree (a grid worker: his grid's), masked, paged, logged.
- ``GET /lists``: the lists the caller reaches, with her area's row counts.

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

from datetime import datetime

from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from . import catalogue, lists, rows
from .collection.api import router as collection_router
from .service import CatalogError

router = Router(tags=["catalog"])
router.add_router("/forms", collection_router)

REFUSALS = {403: {"description": "no permission or scope, or no live grant (says why)"},
            404: {"description": "no such dataset or list for the caller"},
            422: {"description": "a bad parameter, named in field"}}


class RowsQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(rows.PAGE_SIZE, ge=1, le=rows.PAGE_SIZE_MAX)
    grid: str = Field("", description="a grid code of the caller's area: that grid's rows")


class FieldOut(Schema):
    code: str
    label: str


class GrantOut(Schema):
    id: int
    expires_at: datetime
    fields: list[str]


class RowOut(Schema):
    key: str
    grid: str
    grid_code: str
    values: dict[str, str] = Field(description="masked values by standard field code")
    observed_at: datetime


class RowsOut(Schema):
    dataset: str
    name: str
    basis: str = Field(description="own | open | sent_down | grant")
    grant: GrantOut | None
    fields: list[FieldOut]
    total: int
    page: int
    pages: int
    page_size: int
    items: list[RowOut]


class ListOut(Schema):
    code: str
    name: str
    department: str
    tag: str | None
    rows: int


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


def _refused(exc: CatalogError) -> JsonResponse:
    body = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    return JsonResponse(body, status=exc.status)


def _rows_out(result: rows.RowsPage) -> dict:
    grant = result.access.grant
    return {
        "dataset": result.dataset.code, "name": result.dataset.name,
        "basis": result.access.basis,
        "grant": ({"id": grant.pk, "expires_at": grant.expires_at, "fields": grant.fields}
                  if grant else None),
        "fields": [{"code": f.code, "label": f.label} for f in result.fields],
        "total": result.total, "page": result.page, "pages": result.pages,
        "page_size": result.page_size, "items": result.rows,
    }


@router.get("/datasets/{code}/records", response={200: RowsOut},
            url_name="catalog_records", openapi_extra={"responses": REFUSALS})
def dataset_records(request: HttpRequest, code: str, q: Query[RowsQuery]):
    """A dataset's rows the caller may read, masked, paged; the read is logged."""
    token = _token(request)
    try:
        dataset = catalogue.get_dataset(request.user, code, permission="catalog.read",
                                        token=token)
        result = rows.read(request.user, dataset, permission="catalog.read", channel="api",
                           token=token, page=q.page, page_size=q.page_size, grid=q.grid)
    except CatalogError as exc:
        return _refused(exc)
    return _rows_out(result)


@router.get("/lists", response={200: list[ListOut]}, url_name="catalog_lists",
            openapi_extra={"responses": REFUSALS})
def list_index(request: HttpRequest):
    """The lists sent down that the caller reaches, with her area's row counts."""
    try:
        found = lists.lists_for(request.user, _token(request))
    except CatalogError as exc:
        return _refused(exc)
    return [{"code": s.dataset.code, "name": s.dataset.name,
             "department": s.dataset.department.name,
             "tag": s.dataset.tag.name if s.dataset.tag_id else None, "rows": s.rows}
            for s in found]


@router.get("/lists/{code}", response={200: RowsOut}, url_name="catalog_list",
            openapi_extra={"responses": REFUSALS})
def list_rows(request: HttpRequest, code: str, q: Query[RowsQuery]):
    """A list's rows in the caller's area (or one grid of it), masked, paged, logged."""
    try:
        result = lists.read_list(request.user, code, channel="api", token=_token(request),
                                 page=q.page, page_size=q.page_size, grid=q.grid)
    except CatalogError as exc:
        return _refused(exc)
    return _rows_out(result)
