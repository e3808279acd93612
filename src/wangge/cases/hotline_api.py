"""Hotline import API at /api/v1/cases/hotline-import — 12345 热线工单对接.

For the hotline system (or a person's script) that hands over its work-order export: a
multipart upload of the CSV or XLSX file, judged by ``import_hotline`` exactly as the page
judges it. 200 with the counts when every row files (re-sending the file files nothing new:
the order number is the idempotency key); 422 with every problem by row, order number and
column when any row does not — and then nothing is written. ``dry_run`` checks and counts only.
Permission "cases.import" (token scope ``cases:import``), checked before the body is read.

Mounted in ``config/api.py`` before the "/cases" router, whose "/{code}" would otherwise
claim the path. No ``from __future__ import annotations`` here: ninja resolves the schemas
from live annotations.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from wangge.accounts.permissions import require_permission

from .hotline import MAX_ROWS, HotlineProblem, HotlineReport, import_hotline
from .hotline_views import MAX_UPLOAD_BYTES, UploadRejected, read_upload

router = Router(tags=["cases"])

# Multipart overhead allowed on top of the file itself before the body is refused unread.
_MULTIPART_SLACK = 64 * 1024
_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"", "0", "false", "off", "no"}


class ProblemOut(Schema):
    row: int | None = Field(
        description="spreadsheet row (the header is row 1, blank rows count); null for the "
                    "file as a whole")
    order_no: str = Field(description="the row's work-order number (工单编号), when it has one")
    field: str = Field(description="our name of the input at fault (order_no, title, "
                                   "category, lon …); empty for the row or file as a whole")
    column: str = Field(description="that input's header as written in the file (e.g. 分类编码)")
    message: str
    file: str = Field(description="the uploaded file's name, as the problem names it")


class HotlineReportOut(Schema):
    rows: int = Field(description="work orders (non-blank rows below the header) checked")
    created: int = Field(description="new cases filed (with dry_run: that would be filed)")
    unchanged: int = Field(description="orders imported before, left as they are")
    errors: list[ProblemOut]
    dry_run: bool
    codes: list[str] = Field(description="numbers of the cases filed by this request")


class DetailOut(Schema):
    detail: str


def _problem_out(problem: HotlineProblem) -> ProblemOut:
    return ProblemOut(row=problem.row, order_no=problem.order_no, field=problem.field,
                      column=problem.column, message=problem.message,
                      file=problem.file)


def report_out(report: HotlineReport) -> HotlineReportOut:
    return HotlineReportOut(rows=report.rows, created=report.created,
                            unchanged=report.unchanged,
                            errors=[_problem_out(p) for p in report.problems],
                            dry_run=report.dry_run, codes=report.codes)


def _too_large() -> HttpError:
    return HttpError(413, _("the upload is larger than %(limit)d MB; split the work orders "
                            "into several files") % {"limit": MAX_UPLOAD_BYTES // (1024 * 1024)})


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _dry_run(request: HttpRequest, query: bool) -> bool:
    """The query parameter, or the multipart field of the same name: a client that sends
    ``-F dry_run=true`` must not import for real because it put the flag in the form."""
    raw = request.POST.get("dry_run")
    if raw is None:
        return query
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise HttpError(422, _("dry_run: %(value)s is not true or false")
                        % {"value": repr(raw[:20])})
    return query or value in _TRUE


_FILE_DOC = (
    "the work orders: .csv (UTF-8 or GBK) or .xlsx (first sheet), header row first. Columns "
    "工单编号, 标题, 分类编码 required; 内容, 地址, 经度, 纬度, 坐标系 (default wgs84), 紧急程度, "
    "来电号码 optional (or order_no, title, category, description, address, lon, lat, crs, "
    f"urgency, phone). At most {MAX_ROWS:,} rows and {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
)
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": _FILE_DOC},
                "dry_run": {"type": "boolean", "default": False,
                            "description": "same as the query parameter"},
            }}}},
    },
}


@router.post("", response={200: HotlineReportOut, 413: DetailOut, 422: HotlineReportOut},
             url_name="cases_hotline_import", summary="Import 12345 hotline work orders",
             openapi_extra=_BODY_DOC)
def import_work_orders(request, dry_run: bool = False):
    """File every work order in the uploaded file as a case (热线工单), or none of them.

    200 with the counts when every row files; 422 with every problem (row, order number,
    column) when one does not, and then nothing is written; 413 when the upload is over the
    size limit. With ``dry_run`` the file is checked and counted, nothing is filed.
    """
    token = getattr(request, "api_token", None)
    require_permission(request.user, "cases.import", token)
    if _declared_length(request) > MAX_UPLOAD_BYTES + _MULTIPART_SLACK:
        raise _too_large()
    dry_run = _dry_run(request, dry_run)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise UploadRejected(_('send the work orders as multipart/form-data field "file"'))
        name, content = read_upload(upload)
    except UploadRejected as exc:
        if exc.status == 413:
            raise _too_large() from exc
        problem = HotlineProblem(str(exc), field="file", file=getattr(upload, "name", ""))
        return Status(422, report_out(HotlineReport(problems=[problem], dry_run=dry_run)))
    report = import_hotline(request.user, name, content, dry_run=dry_run, token=token)
    return Status(200 if report.ok else 422, report_out(report))
