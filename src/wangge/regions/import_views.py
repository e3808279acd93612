"""The page where an administrator imports communities (社区/村) and grids (网格) from GeoJSON.

Two steps, so nothing reaches the tree unseen: the upload is checked by a dry run of
``import_geojson`` and its counts and problems shown; only a clean preview offers "commit",
which imports exactly the bytes that were previewed, once (``core.staged``): a double click or a
resubmitted form imports once and the second request is told it was already committed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from wangge.accounts.permissions import permission_required
from wangge.core.staged import Staging

from .importers import ImportReport, import_geojson
from .importers.geojson import DEFAULT_SOURCE

# A city's grids with detailed boundaries run to tens of megabytes; past this the file is
# more likely a wrong export (a whole province's parcels) than a grid layer.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ALLOWED_SUFFIXES = (".geojson", ".json")
NAME_MAX = 120
_FEATURE_WHERE = re.compile(r"feature (\d+)\b")


class UploadRejected(Exception):
    """The upload can't be previewed; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class ErrorRow:
    """One problem as a table row: the feature's 0-based index (None for the whole file)."""

    feature: int | None
    code: str
    message: str
    where: str


def error_rows(report: ImportReport) -> list[ErrorRow]:
    """The report's problems with the feature index pulled out of the importer's wording."""
    rows = []
    for problem in report.errors:
        match = _FEATURE_WHERE.match(problem.where)
        rows.append(ErrorRow(int(match.group(1)) if match else None, problem.code,
                             problem.message, problem.where))
    return rows


STAGING = Staging("regions")
remove_stale_uploads = STAGING.remove_stale


def read_upload(upload: UploadedFile | None) -> tuple[bytes, dict[str, Any]]:
    """The upload's bytes and parsed JSON, or ``UploadRejected`` saying what is wrong."""
    if upload is None:
        raise UploadRejected(_("Choose a GeoJSON file to upload."))
    name = upload.name or ""
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise UploadRejected(
            _("“%(name)s” is not a .geojson or .json file.") % {"name": name[:NAME_MAX]})
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            _("The file is %(size)s; the largest file that can be imported is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(MAX_UPLOAD_BYTES)})
    content = b"".join(upload.chunks())
    if not content.strip():
        raise UploadRejected(_("The file is empty."))
    try:
        # utf-8-sig: GIS tools on Windows often write a byte-order mark.
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise UploadRejected(
            _("The file is not UTF-8 text (bad byte at position %(pos)s). Export it as "
              "UTF-8 GeoJSON.") % {"pos": exc.start}) from exc
    except json.JSONDecodeError as exc:
        raise UploadRejected(
            _("The file is not valid JSON: %(problem)s at line %(line)s, column %(column)s.")
            % {"problem": exc.msg, "line": exc.lineno, "column": exc.colno}) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise UploadRejected(
            _("The file is JSON but not a GeoJSON FeatureCollection (its type is %(kind)s). "
              "Export the layer as a FeatureCollection of communities and grids.")
            % {"kind": json.dumps(kind, ensure_ascii=False)[:60]})
    return content, data


def _origin(name: str, digest: str) -> str:
    """What the audit record says the data came from."""
    return f"upload {name[:NAME_MAX]} sha256:{digest}"


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("max_size", MAX_UPLOAD_BYTES)
    report = context.get("report")
    result = context.get("result")
    if report is not None:
        context["errors"] = error_rows(report)
        context["counts"] = report.counts() if report.ok else None
    elif result is not None and "total" in result:
        context["counts"] = result
    return render(request, "regions/import.html", context, status=status)


def _preview(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    try:
        content, data = read_upload(upload)
    except UploadRejected as exc:
        return _page(request, status=400, upload_error=str(exc))
    name = upload.name[:NAME_MAX]
    digest = hashlib.sha256(content).hexdigest()
    report = import_geojson(data, source=DEFAULT_SOURCE, dry_run=True,
                            origin=_origin(name, digest))
    token = STAGING.stage(request, name, content if report.ok and report.changed else None)
    return _page(request, stage="preview", report=report, file_name=name, token=token,
                 size=len(content))


def _commit(request: HttpRequest) -> HttpResponse:
    def run(name: str, content: bytes, digest: str):
        report = import_geojson(content, source=DEFAULT_SOURCE, origin=_origin(name, digest))
        return report.ok, report, report.counts()

    # Refused when the tree changed between preview and commit (someone else imported).
    return STAGING.commit_page(request, run, _page)


@permission_required("regions.import")
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload → preview (dry run) → commit. Administrators only ("regions.import")."""
    if request.method == "POST":
        if request.POST.get("action") == "commit":
            return _commit(request)
        return _preview(request)
    return _page(request)
