"""The day page and its endpoints — 网格员工作台: thin; ``service`` reads, ``sync`` writes.

- ``home``: today's targets, visits, cases to verify, patrols, problems (mobile-first).
- ``sync_items``: the phone's outbox, as JSON (session + CSRF header).
- ``submit``: one change from a plain form post (the page without JavaScript) — it goes
  through the same ``sync`` as the outbox, so both paths behave alike.
- ``service_worker``: the offline worker, served from under /gridwork/day/ so its scope
  covers the page, with the list of what it keeps for offline use.
- ``dismiss``: a conflict or refusal the worker has seen.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wangge.accounts.permissions import permission_required
from wangge.cases.services import MAX_PHOTO_BYTES
from wangge.core.refusals import Refusal

from ..models import SyncOutcome, TargetStatus, VisitOutcome
from . import patrols, service, sync

SW_SOURCE = "gridwork/day/sw.js"
# What the service worker keeps so the page opens without network (besides the page).
OFFLINE_ASSETS = ("wangge/app.css", "gridwork/day/day.css", "gridwork/day/day.js",
                  "vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js")
# Form inputs of a plain post: "p.<name>" → payload, "r.<code>" → result, "c.<name>" → case.
FORM_PREFIXES = {"p.": "payload", "r.": "result", "c.": "case"}


def _target_url(target_id: int) -> str:
    """The target's own page (the task pages make it); the day page if it is not there."""
    try:
        return reverse("gridwork:tasks_target", args=[target_id])
    except NoReverseMatch:
        return ""


@permission_required("gridwork.work")
def home(request: HttpRequest) -> HttpResponse:
    """Today: counts, open targets, visits due, cases to verify, patrol log, quick report."""
    day = service.today(request.user)
    for group in day.groups:
        for target in group.targets:
            target.url = _target_url(target.pk)
    tracks = {p.pk: patrols.track(p) for p in day.patrols}
    problems = [{"key": sync.client_key(r), "kind": r.kind, "outcome": r.outcome,
                 "message": (r.detail or {}).get("message", ""),
                 "label": (r.detail or {}).get("label", "")} for r in day.problems]
    return render(request, "gridwork/day/home.html", {
        "day": day, "tracks": tracks, "problems": problems,
        "outcomes": VisitOutcome.choices, "target_statuses": TargetStatus.choices,
        "new_key": uuid.uuid4().hex,
        "config": {
            "syncUrl": reverse("gridwork:day_sync"),
            "dismissUrl": reverse("gridwork:day_dismiss"),
            "swUrl": reverse("gridwork:day_sw"),
            "scope": reverse("gridwork:day_home"),
            "reportUrl": reverse("cases:report"),
            "user": request.user.pk,
            "tileUrl": settings.MAP_TILE_URL,
            "openPatrol": patrols.client_key(day.open_patrol),
            "strings": _strings(),
        },
    })


def _strings() -> dict[str, str]:
    """What day.js says, translated here; %(n)s is filled in there."""
    return {
        "online": _("Online"), "offline": _("Offline"),
        "waiting": _("%(n)s waiting to send"), "allSent": _("Everything is sent"),
        "queued": _("Saved on this phone; it will be sent when there is a connection."),
        "sending": _("Sending…"),
        "conflict": _("Conflict"), "refused": _("Not accepted"), "dismiss": _("Dismiss"),
        "signIn": _("Your session has ended: sign in again to send what is waiting."),
        "patrolOn": _("On patrol since %(n)s"), "noGps": _("No GPS on this device."),
        "points": _("%(n)s points recorded"), "here": _("Position: %(n)s"),
        "photoBad": _("A chosen file is not a photo this phone can read; choose another."),
        "noRoom": _("This phone has no room left to keep the report with its photos: send "
                    "what is waiting first, or report with fewer photos."),
    }


@require_POST
@permission_required("gridwork.work")
def sync_items(request: HttpRequest) -> JsonResponse:
    """The outbox: ``{"items": [...]}`` (or a bare list) → ``{"receipts": [...]}``."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": _("The body is not JSON.")}, status=400)
    items = body.get("items") if isinstance(body, dict) else body
    try:
        receipts = sync.sync(request.user, items)
    except Refusal as exc:
        return JsonResponse({"detail": exc.message, "field": exc.field}, status=exc.status)
    return JsonResponse({"receipts": [r.as_dict() for r in receipts]})


def item_from_form(post, files=None) -> dict:
    """One outbox item from a plain form: the same shape day.js sends (a report's photos
    as data URLs, as the phone keeps them)."""
    item: dict = {"key": post.get("key", ""), "kind": post.get("kind", ""),
                  "label": post.get("label", ""), "payload": {}}
    photos = files.getlist("photo") if files is not None else []
    if photos:
        item["payload"]["photos"] = [_data_url(f) for f in photos[:sync.MAX_PHOTOS + 1]]
    if post.get("base_version") not in (None, ""):
        item["base_version"] = post.get("base_version")
    for name, value in post.items():
        for prefix, part in FORM_PREFIXES.items():
            if name.startswith(prefix):
                if part == "payload":
                    item["payload"][name[len(prefix):]] = value
                else:
                    item["payload"].setdefault(part, {})[name[len(prefix):]] = value
    return item


def _data_url(upload) -> str:
    # The declared type only labels the data: the photo service judges the content itself.
    declared = upload.content_type or ""
    kind = declared if declared.startswith("image/") else "image/unknown"
    data = upload.read(MAX_PHOTO_BYTES + 1)
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


@require_POST
@permission_required("gridwork.work")
def submit(request: HttpRequest) -> HttpResponse:
    """One change from a form post (no JavaScript): applied through ``sync``, then back."""
    try:
        receipt = sync.sync(request.user, [item_from_form(request.POST, request.FILES)])[0]
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        if receipt.outcome == SyncOutcome.APPLIED:
            messages.success(request, _("Saved."))
        else:
            messages.error(request, receipt.message)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()},
                                           require_https=request.is_secure()):
        back = reverse("gridwork:day_home")
    return redirect(back)


@require_POST
@permission_required("gridwork.work")
def dismiss(request: HttpRequest) -> HttpResponse:
    """The worker has seen a conflict: it leaves her list."""
    key = request.POST.get("key", "")
    if not key and request.content_type == "application/json":
        try:
            key = str((json.loads(request.body or b"{}") or {}).get("key", ""))
        except (ValueError, AttributeError):
            key = ""
    try:
        sync.dismiss(request.user, key)
    except Refusal as exc:
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"detail": exc.message}, status=exc.status)
        messages.error(request, exc.message)
        return redirect("gridwork:day_home")
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"key": key, "dismissed": True})
    return redirect("gridwork:day_home")


def _asset_urls() -> list[str]:
    return [static(path) for path in OFFLINE_ASSETS]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker script, with the page and assets it keeps; its version changes
    whenever the script or the list does, so phones pick up a new one."""
    path = finders.find(SW_SOURCE)
    source = Path(path).read_text(encoding="utf-8") if path else ""
    config = {"page": reverse("gridwork:day_home"), "assets": _asset_urls()}
    version = hashlib.sha256((source + json.dumps(config)).encode()).hexdigest()[:12]
    config["version"] = version
    body = f"self.WANGGE_DAY = {json.dumps(config)};\n{source}"
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("gridwork:day_home")
    response["Cache-Control"] = "no-cache"
    return response
