"""The page where an administrator imports communities (社区/村) and grids (网格) from GeoJSON.

Two steps, so nothing reaches the tree unseen: the upload is checked by a dry run of
``import_geojson`` and its counts and problems shown; only a clean preview offers "commit",
which imports exactly the bytes that were previewed. Between the two steps the upload waits in
``VAR_DIR/uploads`` under a random token kept in the session (the browser only echoes the
token back, never a path), with its SHA-256 so a changed file is refused. Committing claims the
file by renaming it, so a double click or a resubmitted form imports once; the second request
is told the import was already committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from wangge.accounts.permissions import permission_required

from .importers import ImportReport, import_geojson
from .importers.geojson import DEFAULT_SOURCE

# A city's grids with detailed boundaries run to tens of megabytes; past this the file is
# more likely a wrong export (a whole province's parcels) than a grid layer.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ALLOWED_SUFFIXES = (".geojson", ".json")
SESSION_KEY = "regions_import"
# Committed tokens remembered per session, so a late resubmit still gets its answer.
KEEP_COMMITTED = 10
FILE_PREFIX = "regions-import-"
PENDING_SUFFIX = ".geojson"
CLAIMED_SUFFIX = ".committing"
DONE_SUFFIX = ".done.json"
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
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


def uploads_dir() -> Path:
    path = Path(settings.VAR_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pending_path(token: str) -> Path:
    # Only ever called with a token matching TOKEN_PATTERN, so the name can't leave the folder.
    return uploads_dir() / f"{FILE_PREFIX}{token}{PENDING_SUFFIX}"


def _claimed_path(token: str) -> Path:
    return uploads_dir() / f"{FILE_PREFIX}{token}{CLAIMED_SUFFIX}"


def _done_path(token: str) -> Path:
    return uploads_dir() / f"{FILE_PREFIX}{token}{DONE_SUFFIX}"


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def remove_stale_uploads(max_age_seconds: float | None = None) -> int:
    """Delete waiting uploads older than a session can live; they can never be committed.

    Run on each new upload, so abandoned previews don't pile up without a scheduled job.
    """
    age = settings.SESSION_COOKIE_AGE if max_age_seconds is None else max_age_seconds
    cutoff = time.time() - age
    removed = 0
    for path in uploads_dir().glob(f"{FILE_PREFIX}*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # committed or cleaned by another request meanwhile
            continue
    return removed


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


def _state(request: HttpRequest) -> dict[str, Any]:
    state = request.session.get(SESSION_KEY) or {}
    state.setdefault("pending", None)
    state.setdefault("committed", {})
    return state


def _save_state(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state


def _forget_pending(state: dict[str, Any]) -> None:
    """Drop the waiting upload (file and session entry), e.g. when a new one replaces it."""
    pending = state.get("pending")
    if pending and TOKEN_PATTERN.fullmatch(pending.get("token", "")):
        _remove(_pending_path(pending["token"]))
    state["pending"] = None


def _store_pending(content: bytes) -> str:
    """Write the previewed bytes under a fresh random token; only the server knows the path."""
    token = secrets.token_hex(16)
    fd = os.open(_pending_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    return token


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
    state = _state(request)
    _forget_pending(state)
    remove_stale_uploads()
    token = None
    if report.ok and report.changed:
        token = _store_pending(content)
        state["pending"] = {"token": token, "sha256": digest, "name": name,
                            "size": len(content)}
    _save_state(request, state)
    return _page(request, stage="preview", report=report, file_name=name, token=token,
                 size=len(content))


def _already(request: HttpRequest, token: str, name: str) -> HttpResponse:
    """The answer to a second commit of a token another request claimed first."""
    try:
        result = json.loads(_done_path(token).read_text())
    except (FileNotFoundError, ValueError):
        result = {"name": name}  # still being written by the first request
    return _page(request, stage="already", result=result)


def _commit(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("token", "")
    state = _state(request)
    done = state["committed"].get(token)
    if done is not None:
        return _page(request, stage="already", result=done)
    pending = state["pending"]
    if not TOKEN_PATTERN.fullmatch(token) or not pending or pending["token"] != token:
        return _page(request, status=400, upload_error=_(
            "This preview is no longer available: it was replaced by a newer upload or has "
            "expired. Upload the file again."))
    claimed = _claimed_path(token)
    try:
        # The rename is the lock: of two simultaneous commits only one finds the file.
        os.rename(_pending_path(token), claimed)
    except FileNotFoundError:
        if claimed.exists() or _done_path(token).exists():
            return _already(request, token, pending["name"])
        state["pending"] = None
        _save_state(request, state)
        return _page(request, status=400, upload_error=_(
            "The uploaded file is no longer on the server, so nothing was imported. "
            "Upload it again."))
    try:
        content = claimed.read_bytes()
        if hashlib.sha256(content).hexdigest() != pending["sha256"]:
            _remove(claimed)
            state["pending"] = None
            _save_state(request, state)
            return _page(request, status=400, upload_error=_(
                "The stored upload no longer matches what was previewed, so nothing was "
                "imported. Upload the file again."))
        report = import_geojson(content, source=DEFAULT_SOURCE,
                                origin=_origin(pending["name"], pending["sha256"]))
    except BaseException:
        # Nothing was written (the import is one transaction): put the file back for a retry.
        if claimed.exists():
            os.rename(claimed, _pending_path(token))
        raise
    state["pending"] = None
    if not report.ok:
        # The tree changed between preview and commit (someone else imported or edited).
        _remove(claimed)
        _save_state(request, state)
        return _page(request, status=409, stage="refused", report=report,
                     file_name=pending["name"])
    result = {"name": pending["name"], **report.counts()}
    # Left for a concurrent second commit, which can't see this session's new state yet;
    # swept with the stale uploads.
    _done_path(token).write_text(json.dumps(result))
    _remove(claimed)
    committed = state["committed"]
    committed[token] = result
    for old in list(committed)[:-KEEP_COMMITTED]:
        del committed[old]
    _save_state(request, state)
    return _page(request, stage="done", result=result)


@permission_required("regions.import")
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload → preview (dry run) → commit. Administrators only ("regions.import")."""
    if request.method == "POST":
        if request.POST.get("action") == "commit":
            return _commit(request)
        return _preview(request)
    return _page(request)
