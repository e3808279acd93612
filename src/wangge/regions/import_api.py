"""GeoJSON import API under /api/v1/regions-import: communities (社区/村) and grids (网格).

For GIS systems that publish their grid layer to the platform. The body is the FeatureCollection
itself, read as raw bytes (up to the page's 50 MB limit) and judged by ``import_geojson``
alone, so a body that isn't JSON, isn't a FeatureCollection or has bad features all answer
422 with the same report shape, and nothing is written. ``dry_run`` checks and counts only.
Permission "regions.import" (administrators); the body is read only once that is granted.

No ``from __future__ import annotations`` here: ninja resolves the schemas from live
annotations.
"""

import hashlib

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from wangge.accounts.permissions import require_permission
from wangge.core.http import read_limited_body

from .import_views import MAX_UPLOAD_BYTES, error_rows
from .importers import ImportReport, import_geojson
from .importers.geojson import DEFAULT_SOURCE

router = Router(tags=["regions"])


class ProblemOut(Schema):
    feature: int | None = Field(
        description="0-based index of the feature in `features`; null for the body as a whole")
    code: str = Field(description="the feature's code, when it has one")
    message: str
    where: str = Field(description="the importer's own wording of where the problem is")


class ImportReportOut(Schema):
    ok: bool = Field(description="false when there are errors; then nothing was written")
    dry_run: bool
    written: bool = Field(description="true when this request changed the tree")
    total: int = Field(description="features in the body")
    created: int
    updated: int
    unchanged: int
    created_codes: list[str]
    updated_codes: list[str]
    errors: list[ProblemOut]
    truncated: bool = Field(description="true when more problems exist than are listed")
    summary: str


class DetailOut(Schema):
    detail: str


def report_out(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        ok=report.ok, dry_run=report.dry_run,
        written=report.ok and not report.dry_run and report.changed,
        **report.counts(),
        created_codes=report.created_codes, updated_codes=report.updated_codes,
        errors=[ProblemOut(feature=row.feature, code=row.code, message=row.message,
                           where=row.where) for row in error_rows(report)],
        truncated=report.truncated, summary=report.summary("features"),
    )


def _read_body(request: HttpRequest) -> bytes:
    too_large = HttpError(413, f"the body is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                               "split the FeatureCollection")
    return read_limited_body(request, MAX_UPLOAD_BYTES, too_large)


_BODY_DOC = {
    "required": True,
    "content": {
        "application/geo+json": {"schema": {"type": "object"}},
        "application/json": {"schema": {
            "type": "object",
            "description": "GeoJSON FeatureCollection; each feature's properties: code, name, "
                           "parent_code, level (5/\"community\" or 6/\"grid\"), optional "
                           "attributes; geometry a Polygon or MultiPolygon in WGS-84 lon/lat",
            "required": ["type", "features"],
            "properties": {"type": {"const": "FeatureCollection"},
                           "features": {"type": "array", "items": {"type": "object"}}},
        }},
    },
}


@router.post("/", response={200: ImportReportOut, 413: DetailOut, 422: ImportReportOut},
             url_name="regions_import", summary="Import communities and grids from GeoJSON",
             openapi_extra={"requestBody": _BODY_DOC})
def import_regions(request, dry_run: bool = False):
    """Validate the FeatureCollection and, unless ``dry_run``, write it in one transaction.

    200 with the counts when the body is sound (re-sending it changes nothing: codes already in
    the tree are updated, not duplicated); 422 with every problem, by feature index and code,
    when it is not — and then nothing is written.
    """
    require_permission(request.user, "regions.import", getattr(request, "api_token", None))
    body = _read_body(request)
    report = import_geojson(body, source=DEFAULT_SOURCE, dry_run=dry_run,
                            origin=f"api sha256:{hashlib.sha256(body).hexdigest()}")
    return Status(200 if report.ok else 422, report_out(report))
