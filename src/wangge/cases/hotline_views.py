"""The page where desk staff import 12345 hotline work orders — 热线工单导入页面.

Two steps, so nothing is filed unseen: the upload is checked by a dry run of
``import_hotline`` and its counts or problems (row, order number, column) shown; only a clean
preview with something new offers "commit", which files exactly the bytes that were previewed
(``core.staged``: once, even on a double click). The order number is the idempotency key
anyway, so even a re-upload of the same file files nothing twice.

The upload checks (``read_upload``) are shared with the API in ``hotline_api``.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from wangge.accounts.permissions import permission_required
from wangge.accounts.scope import visible_to
from wangge.core.staged import Staging

from .hotline import COLUMNS, REQUIRED, HotlineReport, import_hotline
from .models import Case
from .views import QUEUE_ROLES, _render

# 5,000 work orders (the importer's limit) with long descriptions come to a few megabytes;
# past this the file is more likely the wrong export than a day's orders.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".xlsx")
NAME_MAX = 120
# Cases listed by number after a commit; the rest are found in the queue.
SHOWN_CASES = 200


class UploadRejected(Exception):
    """The upload can't be checked; the message says why, ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def read_upload(upload: UploadedFile | None) -> tuple[str, bytes]:
    """The upload's (shortened) name and bytes, or ``UploadRejected`` saying what is wrong."""
    if upload is None:
        raise UploadRejected(_("Choose a CSV or XLSX file of work orders to upload."))
    name = (upload.name or "")[:NAME_MAX]
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise UploadRejected(_("“%(name)s” is not a .csv or .xlsx file.") % {"name": name})
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            _("The file is %(size)s; the largest file that can be imported is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(MAX_UPLOAD_BYTES)},
            status=413)
    content = b"".join(upload.chunks())
    if not content.strip():
        raise UploadRejected(_("The file is empty."))
    return name, content


STAGING = Staging("hotline")
remove_stale_uploads = STAGING.remove_stale


# -- the page ---------------------------------------------------------------------------------


def _case_links(user, codes: list[str]) -> list[dict[str, str]]:
    """The first cases filed, each linked when the importer may open it (an order can land in
    a grid outside the importer's area)."""
    shown = codes[:SHOWN_CASES]
    titles = dict(visible_to(Case, user).filter(code__in=shown).values_list("code", "title"))
    return [{"code": c, "title": titles.get(c, ""), "visible": c in titles} for c in shown]


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("max_size", MAX_UPLOAD_BYTES)
    report: HotlineReport | None = context.get("report")
    if report is not None:
        context["problems"] = report.problems
    result = context.get("result")
    if result is not None:
        codes = result.get("codes", [])
        context["cases"] = _case_links(request.user, codes)
        context["more_cases"] = max(0, len(codes) - SHOWN_CASES)
    context["queue_link"] = request.user.role in QUEUE_ROLES
    # Translators: between names in a list ("、" in Chinese).
    separator = pgettext("list separator", ", ")
    context["required_columns"] = separator.join(COLUMNS[k][0] for k in REQUIRED)
    context["optional_columns"] = separator.join(
        names[0] for k, names in COLUMNS.items() if k not in REQUIRED)
    return _render(request, "cases/hotline.html", context, tab="cases:hotline", status=status)


def _preview(request: HttpRequest) -> HttpResponse:
    try:
        name, content = read_upload(request.FILES.get("file"))
    except UploadRejected as exc:
        return _page(request, status=exc.status, upload_error=str(exc))
    report = import_hotline(request.user, name, content, dry_run=True)
    token = STAGING.stage(request, name, content if report.ok and report.created else None)
    return _page(request, stage="preview", report=report,
                 file_name=name, size=len(content), token=token)


def _commit(request: HttpRequest) -> HttpResponse:
    user = request.user

    def run(name: str, content: bytes, _digest: str):
        report = import_hotline(user, name, content)
        return report.ok, report, {"rows": report.rows, "created": report.created,
                                   "unchanged": report.unchanged, "codes": report.codes}

    # Refused when something changed since the preview (a category retired, say).
    return STAGING.commit_page(request, run, _page)


@permission_required("cases.import")
def hotline_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (dry run) → commit. Desk staff and the command centre ("cases.import")."""
    if request.method == "POST":
        if request.POST.get("action") == "commit":
            return _commit(request)
        return _preview(request)
    return _page(request)
