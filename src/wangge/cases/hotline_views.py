"""The page where desk staff import 12345 hotline work orders — 热线工单导入页面.

Two steps, so nothing is filed unseen: the upload is checked by a dry run of
``import_hotline`` and its counts or problems (row, order number, column) shown; only a clean
preview with something new offers "commit", which files exactly the bytes that were previewed.
Between the two steps the upload waits in the user's own folder ``VAR_DIR/uploads/hotline/<user
id>`` under a random token kept in the session (the browser only echoes the token back, never
a path), with its SHA-256 so a changed file is refused. Committing claims the file by renaming
it, so a double click imports once and the second request is told so; and the order number is
the idempotency key anyway, so even a re-upload of the same file files nothing twice.

The upload checks (``read_upload``) are shared with the API in ``hotline_api``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from wangge.accounts.permissions import permission_required
from wangge.accounts.scope import visible_to

from .hotline import COLUMNS, REQUIRED, HotlineReport, import_hotline
from .models import Case
from .views import QUEUE_ROLES, _render

# 5,000 work orders (the importer's limit) with long descriptions come to a few megabytes;
# past this the file is more likely the wrong export than a day's orders.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".xlsx")
SESSION_KEY = "cases_hotline_import"
# Committed tokens remembered per session, so a late resubmit still gets its answer.
KEEP_COMMITTED = 10
CLAIMED_SUFFIX = ".committing"
DONE_SUFFIX = ".done.json"
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
NAME_MAX = 120
# Cases listed by number after a commit; the rest are found in the queue.
SHOWN_CASES = 200


class UploadRejected(Exception):
    """The upload can't be checked; the message says why, ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _suffix(name: str) -> str:
    return next(s for s in ALLOWED_SUFFIXES if name.lower().endswith(s))


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


# -- the waiting upload -----------------------------------------------------------------------


def uploads_root() -> Path:
    return Path(settings.VAR_DIR) / "uploads" / "hotline"


def user_dir(user) -> Path:
    """The user's private folder: other accounts' tokens can never name a file in it."""
    path = uploads_root() / str(int(user.pk))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _pending_path(user, token: str, suffix: str) -> Path:
    # Only ever called with a token matching TOKEN_PATTERN and a suffix from ALLOWED_SUFFIXES.
    return user_dir(user) / f"{token}{suffix}"


def _claimed_path(user, token: str) -> Path:
    return user_dir(user) / f"{token}{CLAIMED_SUFFIX}"


def _done_path(user, token: str) -> Path:
    return user_dir(user) / f"{token}{DONE_SUFFIX}"


def remove_stale_uploads(max_age_seconds: float | None = None) -> int:
    """Delete waiting uploads older than a session can live; they can never be committed.

    Run on each new upload, so abandoned previews don't pile up without a scheduled job.
    """
    age = settings.SESSION_COOKIE_AGE if max_age_seconds is None else max_age_seconds
    cutoff = time.time() - age
    removed = 0
    for path in uploads_root().glob("*/*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # committed or cleaned by another request meanwhile
            continue
    return removed


def _store_pending(user, content: bytes, suffix: str) -> str:
    """Write the previewed bytes under a fresh random token; only the server knows the path."""
    token = secrets.token_hex(16)
    fd = os.open(_pending_path(user, token, suffix), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    return token


def _state(request: HttpRequest) -> dict[str, Any]:
    state = request.session.get(SESSION_KEY) or {}
    state.setdefault("pending", None)
    state.setdefault("committed", {})
    return state


def _save_state(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state


def _forget_pending(request: HttpRequest, state: dict[str, Any]) -> None:
    """Drop the waiting upload (file and session entry), e.g. when a new one replaces it."""
    pending = state.get("pending")
    if pending and TOKEN_PATTERN.fullmatch(pending.get("token", "")):
        _pending_path(request.user, pending["token"], pending["suffix"]).unlink(missing_ok=True)
    state["pending"] = None


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
    state = _state(request)
    _forget_pending(request, state)
    remove_stale_uploads()
    token = None
    if report.ok and report.created:
        suffix = _suffix(name)
        token = _store_pending(request.user, content, suffix)
        state["pending"] = {"token": token, "suffix": suffix, "name": name,
                            "sha256": hashlib.sha256(content).hexdigest()}
    _save_state(request, state)
    return _page(request, stage="preview", report=report,
                 file_name=name, size=len(content), token=token)


def _already(request: HttpRequest, token: str, name: str) -> HttpResponse:
    """The answer to a second commit of a token another request claimed first."""
    try:
        result = json.loads(_done_path(request.user, token).read_text())
    except (FileNotFoundError, ValueError):
        result = {"name": name}  # still being filed by the first request
    return _page(request, stage="already", result=result)


def _gone(request: HttpRequest, state: dict[str, Any], message: str) -> HttpResponse:
    state["pending"] = None
    _save_state(request, state)
    return _page(request, status=400, upload_error=message)


def _commit(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("token", "")
    state = _state(request)
    if token in state["committed"]:
        return _already(request, token, state["committed"][token])
    pending = state["pending"]
    if not TOKEN_PATTERN.fullmatch(token) or not pending or pending["token"] != token:
        return _page(request, status=400, upload_error=_(
            "This preview is no longer available: it was replaced by a newer upload or has "
            "expired. Upload the file again."))
    user, name = request.user, pending["name"]
    claimed = _claimed_path(user, token)
    try:
        # The rename is the lock: of two simultaneous commits only one finds the file.
        os.rename(_pending_path(user, token, pending["suffix"]), claimed)
    except FileNotFoundError:
        if claimed.exists() or _done_path(user, token).exists():
            return _already(request, token, name)
        return _gone(request, state, _(
            "The uploaded file is no longer on the server, so nothing was imported. "
            "Upload it again."))
    try:
        content = claimed.read_bytes()
        if hashlib.sha256(content).hexdigest() != pending["sha256"]:
            claimed.unlink(missing_ok=True)
            return _gone(request, state, _(
                "The stored upload no longer matches what was previewed, so nothing was "
                "imported. Upload the file again."))
        report = import_hotline(user, name, content)
    except BaseException:
        # Nothing was written (the import is one transaction): put the file back for a retry.
        if claimed.exists():
            os.rename(claimed, _pending_path(user, token, pending["suffix"]))
        raise
    claimed.unlink(missing_ok=True)
    state["pending"] = None
    if not report.ok:
        # Something changed since the preview (a category retired, say): nothing was filed.
        _save_state(request, state)
        return _page(request, status=409, stage="refused", report=report, file_name=name)
    result = {"name": name, "rows": report.rows, "created": report.created,
              "unchanged": report.unchanged, "codes": report.codes}
    # Left for a concurrent second commit, which can't see this session's new state yet;
    # swept with the stale uploads.
    _done_path(user, token).write_text(json.dumps(result))
    committed = state["committed"]
    committed[token] = name
    for old in list(committed)[:-KEEP_COMMITTED]:
        del committed[old]
    _save_state(request, state)
    return _page(request, stage="done", result=result)


@permission_required("cases.import")
def hotline_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (dry run) → commit. Desk staff and the command centre ("cases.import")."""
    if request.method == "POST":
        if request.POST.get("action") == "commit":
            return _commit(request)
        return _preview(request)
    return _page(request)
