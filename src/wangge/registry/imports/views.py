"""The import pages — 数据导入页面: choose, upload, map, check, commit, watch.

Steps, each its own URL so a reload never repeats a write:

1. ``index``: the steward chooses one of her department's datasets and names the source,
   uploads a CSV or XLSX; the file waits in her private staging folder (``core.staged``)
   under a token kept in the session.
2. ``mapping``: every header of the file with a select of the dataset's standard fields (or
   "ignore"), pre-selected from the source's saved mapping or suggested, and the key column.
   "Check the rows" runs the dry run (``service.validate``) over the staged file and shows the
   counts, the first rows masked and the row report (also as CSV). The mapping can be
   changed and checked again; the file stays staged.
3. ``commit``: exactly the staged bytes, once (a double click or a second tab finds the file
   already claimed). With bad rows the steward must tick "import the valid rows, leave the N
   bad rows out". Short files import in the request; long ones are queued for the worker.
4. ``run_detail``: the run's status, a progress bar polled every second (htmx) while it runs,
   then the result and its row report.

The views are thin: ``service`` owns every rule; the session only remembers the choices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wangge.accounts.permissions import permission_required
from wangge.catalog.fields import get_field, standard_fields
from wangge.core.staged import (
    CLAIMED_SUFFIX,
    DONE_SUFFIX,
    PENDING_SUFFIX,
    TOKEN_PATTERN,
    Staging,
)
from wangge.core.tables import UnreadableTable, read_header

from . import service
from .mapping import IGNORE, dataset_fields
from .pipeline import PREVIEW_ROWS

PERMISSION = service.PERMISSION
PLAN_KEY = "registry_import_plan"
ALLOWED_SUFFIXES = (".csv", ".xlsx")
# A million rows of a typical list is about 100 MB of CSV.
MAX_UPLOAD_BYTES = 160 * 1024 * 1024
NAME_MAX = 120
SHOWN_PROBLEMS = 200
RECENT_RUNS = 20


class UploadRejected(Exception):
    """The upload can't be used; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ImportStaging(Staging):
    """``Staging`` with what this page needs beside it: the staged file's path (streamed to
    disk, read by the dry run) and the last check's report kept next to it."""

    def stage_upload(self, request: HttpRequest, name: str, upload: UploadedFile) -> str:
        """Stage ``upload`` (written in chunks, never whole in memory); returns its token."""
        import hashlib
        import os
        import secrets

        state = self._state(request)
        self._forget(request, state)
        self.remove_stale()
        token = secrets.token_hex(16)
        digest = hashlib.sha256()
        fd = os.open(self._path(request.user, token, PENDING_SUFFIX),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            for chunk in upload.chunks():
                digest.update(chunk)
                handle.write(chunk)
        state["pending"] = {"token": token, "name": name, "sha256": digest.hexdigest()}
        self._save(request, state)
        return token

    def drop(self, request: HttpRequest) -> None:
        state = self._state(request)
        self._forget(request, state)
        self._save(request, state)

    def pending(self, request: HttpRequest) -> dict | None:
        pending = self._state(request)["pending"]
        if pending and TOKEN_PATTERN.fullmatch(pending.get("token", "")):
            return pending
        return None

    def pending_path(self, request: HttpRequest, token: str) -> Path:
        return self._path(request.user, token, PENDING_SUFFIX)

    def claimed_path(self, request: HttpRequest, token: str) -> Path:
        return self._path(request.user, token, CLAIMED_SUFFIX)

    def report_path(self, request: HttpRequest, token: str) -> Path:
        return self._path(request.user, token, ".report.json")

    def committed_run(self, request: HttpRequest, token: str) -> int | None:
        """The run a token was committed as (``None``: not committed, or still running)."""
        if not TOKEN_PATTERN.fullmatch(token) or token not in self._state(request)["committed"]:
            return None
        try:
            done = json.loads(self._path(request.user, token, DONE_SUFFIX).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return done.get("run")


STAGING = ImportStaging("registry_import")


def read_upload(upload: UploadedFile | None) -> str:
    """The upload's (shortened) name, or ``UploadRejected`` saying what is wrong."""
    if upload is None:
        raise UploadRejected(_("Choose a CSV or XLSX file to upload."))
    name = (upload.name or "")[:NAME_MAX]
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise UploadRejected(_("“%(name)s” is not a .csv or .xlsx file.") % {"name": name})
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            _("The file is %(size)s; the largest file that can be imported is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(MAX_UPLOAD_BYTES)},
            status=413)
    if not upload.size:
        raise UploadRejected(_("The file is empty."))
    return name


# -- the session's plan -----------------------------------------------------------------------


def _plan_state(request: HttpRequest) -> dict | None:
    """The choices of the upload waiting in staging, or None (nothing staged, or replaced)."""
    state = request.session.get(PLAN_KEY)
    pending = STAGING.pending(request)
    if not state or not pending or state.get("token") != pending["token"]:
        return None
    return state


def _plan(request: HttpRequest, state: dict) -> service.Plan:
    dataset = service.get_dataset(request.user, pk=state["dataset"])
    return service.Plan(dataset, state["source"], dict(state["mapping"]), state["key_column"])


def _save_plan(request: HttpRequest, state: dict) -> None:
    request.session[PLAN_KEY] = state


# -- step 1 -----------------------------------------------------------------------------------


def _index_page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    user = request.user
    context.setdefault("datasets", service.importable_datasets(user))
    context["sources"] = service.sources_of(user)
    context["runs"] = service.visible_runs(user).order_by("-created_at")[:RECENT_RUNS]
    context["max_size"] = MAX_UPLOAD_BYTES
    context["background_rows"] = service.BACKGROUND_ROWS
    return render(request, "registry/imports/index.html", context, status=status)


@permission_required(PERMISSION)
def index(request: HttpRequest) -> HttpResponse:
    """Choose a dataset and a source, upload the file (GET: the form and recent runs)."""
    if request.method == "GET":
        return _index_page(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    form = {"dataset": request.POST.get("dataset", ""), "source": request.POST.get("source", "")}
    try:
        dataset_id = int(form["dataset"])
    except ValueError:
        return _index_page(request, status=400, form=form,
                           upload_error=_("Choose the dataset the file belongs to."))
    dataset = service.get_dataset(request.user, pk=dataset_id)  # 404: not her department's
    try:
        source = service.clean_source_name(form["source"])
        name = read_upload(request.FILES.get("file"))
    except UploadRejected as exc:
        return _index_page(request, status=exc.status, form=form, upload_error=str(exc))
    except ValueError as exc:
        return _index_page(request, status=400, form=form, upload_error=str(exc))
    token = STAGING.stage_upload(request, name, request.FILES["file"])
    try:
        headers = read_header(STAGING.pending_path(request, token), name)
    except UnreadableTable as exc:
        STAGING.drop(request)
        return _index_page(request, status=400, form=form,
                           upload_error=_("%(name)s: %(problem)s")
                           % {"name": name, "problem": exc})
    plan = service.propose_plan(dataset, source, headers)
    _save_plan(request, {"token": token, "dataset": dataset.pk, "source": source,
                         "file_name": name, "headers": headers, "mapping": plan.mapping,
                         "key_column": plan.key_column, "checked": None})
    return redirect("registry_imports:mapping")


# -- step 2 -----------------------------------------------------------------------------------


def _field_label(code: str) -> str:
    return get_field(code).label


def _labelled(problems: list[dict]) -> list[dict]:
    """Problems with the field's label for the page ("key": the key column)."""
    known = standard_fields()
    return [{**p, "label": known[p["field"]].label if p.get("field") in known
             else _("key") if p.get("field") == "key" else p.get("field", "")}
            for p in problems]


def _sample_rows(sample: list[dict], codes: list[str]) -> list[dict]:
    """The masked sample as table rows (choices by their label)."""
    rows = []
    for item in sample[:PREVIEW_ROWS]:
        cells = []
        for code in codes:
            value = item["values"].get(code, "")
            spec = get_field(code)
            cells.append(spec.choice_label(value) if spec.kind == "choice" else value)
        rows.append({"row": item["row"], "cells": cells})
    return rows


def _read_report(request: HttpRequest, state: dict) -> dict | None:
    try:
        return json.loads(STAGING.report_path(request, state["token"]).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _mapping_page(request: HttpRequest, state: dict, status: int = 200,
                  **context: Any) -> HttpResponse:
    plan = _plan(request, state)
    fields = dataset_fields(plan.dataset)
    context.update({
        "plan": plan, "state": state, "dataset": plan.dataset,
        "fields": [{"code": f.code, "label": f.label, "required": f.required} for f in fields],
        "columns": [{"index": i, "header": h, "code": plan.mapping.get(h, IGNORE)}
                    for i, h in enumerate(state["headers"])],
        "source_known": service.find_source(plan.dataset, plan.source_name) is not None,
    })
    checked = state.get("checked")
    report = _read_report(request, state) if checked else None
    if report is not None:
        codes = [plan.mapping[h] for h in state["headers"] if plan.mapping.get(h)]
        context.update({
            "report": report, "problems": _labelled(report["problems"][:SHOWN_PROBLEMS]),
            "more_problems": max(0, report["problem_count"] - SHOWN_PROBLEMS),
            "sample_headers": [_field_label(c) for c in codes],
            "sample": _sample_rows(report["sample"], codes),
            "background": report["rows"] > service.BACKGROUND_ROWS,
        })
    return render(request, "registry/imports/map.html", context, status=status)


def _posted_mapping(request: HttpRequest, state: dict) -> tuple[dict[str, str], str]:
    headers = state["headers"]
    mapping = {h: request.POST.get(f"col-{i}", IGNORE).strip() for i, h in enumerate(headers)}
    key = request.POST.get("key", "")
    key_column = headers[int(key)] if key.isdigit() and int(key) < len(headers) else ""
    return mapping, key_column


@permission_required(PERMISSION)
def mapping(request: HttpRequest) -> HttpResponse:
    """The mapping step (GET) and its check (POST: a dry run over the staged file)."""
    state = _plan_state(request)
    if state is None:
        messages.info(request, _("Upload a file to import first."))
        return redirect("registry_imports:index")
    if request.method == "GET":
        return _mapping_page(request, state)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    state["mapping"], state["key_column"] = _posted_mapping(request, state)
    state["checked"] = None
    _save_plan(request, state)
    plan = _plan(request, state)
    problems = service.check_plan(plan, state["headers"])
    if problems:
        return _mapping_page(request, state, status=400, mapping_problems=problems)
    path = STAGING.pending_path(request, state["token"])
    try:
        report = service.validate(request.user, plan, path, state["file_name"])
    except UnreadableTable as exc:
        return _mapping_page(request, state, status=400, upload_error=str(exc))
    STAGING.report_path(request, state["token"]).write_text(json.dumps({
        **report.summary(), "problems": [p.as_dict() for p in report.problems],
        "sample": report.sample}))
    state["checked"] = report.summary()
    _save_plan(request, state)
    return _mapping_page(request, state)


@require_GET
@permission_required(PERMISSION)
def preview_report(request: HttpRequest) -> HttpResponse:
    """The checked file's row report as CSV (row, column, field, reason; no values)."""
    state = _plan_state(request)
    report = _read_report(request, state) if state and state.get("checked") else None
    if report is None:
        raise Http404
    return _csv_response(service.report_csv(report["problems"]),
                         f"{Path(state['file_name']).stem}-report.csv")


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    response["Content-Disposition"] = f'attachment; filename="{ascii_name}"'
    return response


# -- step 3 -----------------------------------------------------------------------------------


@require_POST
@permission_required(PERMISSION)
def commit(request: HttpRequest) -> HttpResponse:
    """Import the checked file, once; with bad rows only if leaving them out was chosen."""
    token = request.POST.get("token", "")
    if STAGING.committed_run(request, token):  # a second click, or the other tab
        return _already(request, token)
    state = _plan_state(request)
    if state is None or state.get("token") != token:
        messages.error(request, _("This preview is no longer available: it was replaced by a "
                                  "newer upload or has expired. Upload the file again."))
        return redirect("registry_imports:index")
    checked = state.get("checked")
    if not checked:
        return _mapping_page(request, state, status=409, commit_error=_(
            "Check the rows before importing them."))
    skip_bad = request.POST.get("skip_bad") == "1"
    if checked["bad_rows"] and not skip_bad:
        return _mapping_page(request, state, status=409, commit_error=_(
            "Some rows are bad. Fix the file and upload it again, or tick the box to import "
            "the valid rows and leave the bad ones out."))
    plan = _plan(request, state)
    background = checked["rows"] > service.BACKGROUND_ROWS
    user = request.user

    def run(name: str, _content: bytes, _digest: str):
        done = service.import_file(user, plan, STAGING.claimed_path(request, token), name,
                                   skip_bad=skip_bad, background=background)
        # Whatever the run came to (done, queued, refused, failed), it is the one import of
        # this upload: its page says what happened.
        return True, done, {"run": done.pk}

    try:
        result = STAGING.commit(request, token, run)
    except service.MappingRefused as exc:  # the dataset's fields changed since the check
        return _mapping_page(request, state, status=409, mapping_problems=exc.problems)
    if result.kind == "gone":
        messages.error(request, result.message)
        return redirect("registry_imports:index")
    if result.kind == "already":
        return _already(request, token)
    STAGING.report_path(request, token).unlink(missing_ok=True)
    request.session.pop(PLAN_KEY, None)
    return redirect("registry_imports:run", pk=result.result["run"])


def _already(request: HttpRequest, token: str) -> HttpResponse:
    messages.info(request, _("This file was already committed; nothing was imported a second "
                             "time."))
    run_id = STAGING.committed_run(request, token)
    if run_id:
        return redirect("registry_imports:run", pk=run_id)
    return redirect("registry_imports:index")


# -- step 4 -----------------------------------------------------------------------------------


def _run_context(run) -> dict:
    return {"run": run, "progress": service.run_progress(run),
            "problems": _labelled(run.problems[:SHOWN_PROBLEMS]),
            "more_problems": max(0, run.problem_count - SHOWN_PROBLEMS),
            "mapping": [{"header": h, "label": _field_label(c) if c else ""}
                        for h, c in run.mapping.get("columns", {}).items()],
            "key_column": run.mapping.get("key_column", ""),
            "skip_bad": run.mapping.get("skip_bad", False)}


@require_GET
@permission_required(PERMISSION)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = service.get_run(request.user, pk)
    return render(request, "registry/imports/run.html", _run_context(run))


@require_GET
@permission_required(PERMISSION)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled by htmx; once the run has finished the whole page
    reloads to show the result."""
    run = service.get_run(request.user, pk)
    response = render(request, "registry/imports/_progress.html", _run_context(run))
    if run.status in service.FINISHED and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@require_GET
@permission_required(PERMISSION)
def run_report(request: HttpRequest, pk: int) -> HttpResponse:
    run = service.get_run(request.user, pk)
    return _csv_response(service.report_csv(run.problems), f"import-{run.pk}-report.csv")
