"""Import API at /api/v1/registry/imports — 部门数据导入接口.

For a department's system (or a steward's script) handing over its list:

- ``POST ""`` (multipart): ``file`` (.csv or .xlsx), ``dataset`` (its code), ``source`` (a
  name; its saved mapping is reused), optional ``mapping`` (a JSON object, file header →
  standard field code or "" to ignore; default: saved, else suggested), ``key_column``,
  ``dry_run`` and ``skip_bad``. A dry run answers 200 with the counts, the row report and
  a masked sample. A commit answers 200 with the finished run (short files), 202 with the
  queued run to poll (long files), 422 with the run and its row report when bad rows refused
  it (nothing written). A mapping or file that cannot be used answers 422 naming the field.
- ``GET /runs/{id}``: a run's status, progress while it runs, counts and row report.

Permission "registry.import" (token scope ``registry:import``); another department's
dataset or run answers 404. No ``from __future__ import annotations`` here: ninja reads the
schemas from live annotations.
"""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from wangge.core.tables import UnreadableTable, read_header

from ..models import RunStatus
from . import service
from .views import MAX_UPLOAD_BYTES, UploadRejected, read_upload

router = Router(tags=["registry"])

_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"", "0", "false", "off", "no"}
SHOWN_PROBLEMS = 1000


class ProblemOut(Schema):
    row: int | None = Field(None, description="spreadsheet row (the header is row 1)")
    column: str = Field("", description="the column's header as written in the file")
    field: str = Field("", description="the standard field (or key, file, mapping, dataset)")
    message: str


class CheckOut(Schema):
    dry_run: bool
    rows: int
    created: int = Field(description="rows that would be created")
    updated: int = Field(description="rows that would be updated")
    unchanged: int
    bad_rows: int
    problem_count: int
    problems: list[ProblemOut]
    sample: list[dict] = Field(description="the first rows, masked, as they would be stored")
    mapping: dict[str, str]
    key_column: str


class RunOut(Schema):
    id: int
    status: str
    dataset: str
    source: str
    file_name: str
    sha256: str
    processed_rows: int
    total_rows: int
    percent: int
    created: int
    updated: int
    unchanged: int
    problem_count: int
    problems: list[ProblemOut]
    error: str
    mapping: dict[str, str]
    key_column: str
    skip_bad: bool


class ErrorOut(Schema):
    detail: str
    errors: list[ProblemOut]


def run_out(run) -> RunOut:
    progress = service.run_progress(run)
    config = run.mapping or {}
    return RunOut(
        id=run.pk, status=run.status, dataset=run.source.dataset.code, source=run.source.name,
        file_name=run.file_name, sha256=run.sha256, processed_rows=progress["processed"],
        total_rows=progress["total"], percent=progress["percent"], created=run.created,
        updated=run.updated, unchanged=run.unchanged, problem_count=run.problem_count,
        problems=[ProblemOut(**p) for p in run.problems[:SHOWN_PROBLEMS]], error=run.error,
        mapping=config.get("columns", {}), key_column=config.get("key_column", ""),
        skip_bad=bool(config.get("skip_bad")))


def _flag(request: HttpRequest, name: str, query: bool) -> bool:
    raw = request.POST.get(name)
    if raw is None:
        return query
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(_("%(name)s: %(value)s is not true or false")
                         % {"name": name, "value": repr(raw[:20])})
    return query or value in _TRUE


def _refused(detail: str, errors: list[dict]) -> Status:
    return Status(422, ErrorOut(detail=detail, errors=[ProblemOut(**e) for e in errors]))


def _temp_path(name: str) -> Path:
    folder = Path(settings.VAR_DIR) / "imports" / "incoming"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{secrets.token_hex(16)}{Path(name).suffix.lower()}"


class _BadInput(ValueError):
    """A form field that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _posted_plan(request: HttpRequest, dataset, headers: list[str]) -> service.Plan:
    try:
        source = service.clean_source_name(request.POST.get("source", ""))
    except ValueError as exc:
        raise _BadInput("source", str(exc)) from None
    plan = service.propose_plan(dataset, source, headers)
    raw = request.POST.get("mapping")
    if raw:
        try:
            given = json.loads(raw)
        except ValueError:
            given = None
        if not isinstance(given, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in given.items()):
            raise _BadInput("mapping", _("mapping: send a JSON object of file header → "
                                         "standard field code (\"\" to ignore a column)"))
        unknown = [h for h in given if h not in headers]
        if unknown:
            raise _BadInput("mapping", _("mapping: “%(header)s” is not a column of the file")
                            % {"header": unknown[0][:40]})
        plan.mapping.update(given)
    if "key_column" in request.POST:
        plan.key_column = request.POST["key_column"]
    return plan


_BODY_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "dataset", "source"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": ".csv (UTF-8 or GB18030) or .xlsx (first sheet); row 1 names "
                                f"the columns; at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"},
        "dataset": {"type": "string", "description": "the dataset's code (own department)"},
        "source": {"type": "string", "description": "the source's name (mapping saved per "
                                                    "source)"},
        "mapping": {"type": "string", "description": "JSON object: header → field code or "
                                                     "\"\""},
        "key_column": {"type": "string", "description": "header of the key column (default: "
                                                        "the ID number column)"},
        "dry_run": {"type": "boolean", "default": False},
        "skip_bad": {"type": "boolean", "default": False,
                     "description": "import the valid rows, leave the bad rows out"},
    }}}}}}


@router.post("", response={200: CheckOut | RunOut, 202: RunOut, 404: dict,
                           422: ErrorOut | RunOut},
             url_name="registry_imports", summary="Import a department file into a dataset",
             openapi_extra=_BODY_DOC)
def import_file(request, dry_run: bool = False, skip_bad: bool = False):
    """Check (``dry_run``) or import a file into one of your department's datasets."""
    token = getattr(request, "api_token", None)
    service.require_importer(request.user, token)
    dataset = service.get_dataset(request.user, code=request.POST.get("dataset", ""),
                                  token=token)
    upload = request.FILES.get("file")
    try:
        dry_run = _flag(request, "dry_run", dry_run)
        skip_bad = _flag(request, "skip_bad", skip_bad)
        name = read_upload(upload)
    except (UploadRejected, ValueError) as exc:
        return _refused(str(exc), [{"field": "file" if isinstance(exc, UploadRejected)
                                    else "dry_run", "message": str(exc)}])
    path = _temp_path(name)
    try:
        service.copy_upload(upload, path)
        headers = read_header(path, name)
        plan = _posted_plan(request, dataset, headers)
        if dry_run:
            report = service.validate(request.user, plan, path, name, token=token)
            return Status(200, CheckOut(
                dry_run=True, **report.summary(),
                problems=[ProblemOut(**p.as_dict()) for p in
                          report.problems[:SHOWN_PROBLEMS]],
                sample=report.sample, mapping=plan.mapping, key_column=plan.key_column))
        run = service.import_file(request.user, plan, path, name, skip_bad=skip_bad,
                                  token=token)
    except UnreadableTable as exc:
        return _refused(str(exc), [{"field": "file", "message": str(exc)}])
    except service.MappingRefused as exc:
        return _refused(str(exc), [{"field": p.field, "column": p.column,
                                    "message": p.message} for p in exc.problems])
    except _BadInput as exc:
        return _refused(str(exc), [{"field": exc.field, "message": str(exc)}])
    finally:
        path.unlink(missing_ok=True)
    status = {RunStatus.QUEUED: 202, RunStatus.DONE: 200}.get(run.status, 422)
    return Status(status, run_out(run))


@router.get("/runs/{run_id}", response={200: RunOut, 404: dict},
            url_name="registry_import_run", summary="An import run: status, progress, report")
def get_run(request, run_id: int):
    """Status (queued, running, done, refused, failed), rows processed so far, counts and the
    row report (row, column, field, reason — never a value)."""
    run = service.get_run(request.user, run_id, token=getattr(request, "api_token", None))
    return run_out(run)
