"""Linkage pages for data stewards — 数据融合: runs, the review queue, conflicts, decisions.

Thin: every rule lives in ``service`` / ``runs`` / ``conflicts`` and scope in ``scope``.
Every page needs ``registry.link``; a pair, person or decision out of the steward's reach
answers 404 like a missing one. Values are masked throughout.
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import permission_required

from ..models import LinkDecision, LinkRun, ReviewStatus, SourceRecord
from . import conflicts, present, runs, scope, service
from .errors import LinkingError

PERMISSION = scope.PERMISSION
REVIEW_PAGE = 10
DECISIONS_PAGE = 30
LAST_RUNS = 10


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not (target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure())):
        target = default
    return redirect(target)


def _refused(request: HttpRequest, exc: LinkingError, default: str) -> HttpResponse:
    if exc.status == 404:
        raise Http404(exc.message)
    messages.error(request, exc.message)
    return _back(request, default)


def _live_run() -> LinkRun | None:
    return LinkRun.objects.filter(status__in=runs.LIVE).order_by("pk").first()


# -- overview -------------------------------------------------------------------------------


@permission_required(PERMISSION)
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    last = LinkRun.objects.select_related("started_by").order_by("-started_at")[:LAST_RUNS]
    return render(request, "registry/linking/overview.html", {
        "live": present.run_view(_live_run()),
        "runs": [present.run_view(r) for r in last],
        "queue": scope.review_items(user).filter(status=ReviewStatus.OPEN).count(),
        "conflicts": conflicts.count(user),
        "decisions": scope.decisions(user).filter(revoked_at__isnull=True).count(),
    })


@permission_required(PERMISSION)
def run_status(request: HttpRequest) -> HttpResponse:
    """The live run's progress (htmx polls it while a run is queued or running)."""
    return render(request, "registry/linking/_run_status.html",
                  {"live": present.run_view(_live_run())})


@permission_required(PERMISSION)
@require_POST
def run_now(request: HttpRequest) -> HttpResponse:
    run, queued = runs.queue_run(request.user)
    if queued:
        messages.success(request, _("Linkage run #%(id)d is queued; the worker starts it "
                                    "within a minute.") % {"id": run.pk})
    else:
        messages.info(request, _("A run is already waiting (#%(id)d).") % {"id": run.pk})
    return redirect("linkage:overview")


# -- review queue ---------------------------------------------------------------------------


@permission_required(PERMISSION)
def review(request: HttpRequest) -> HttpResponse:
    items = (scope.review_items(request.user).filter(status=ReviewStatus.OPEN)
             .select_related("record_a__dataset__department", "record_b__dataset__department")
             .order_by("-probability", "pk"))
    page = Paginator(items, REVIEW_PAGE).get_page(_page_number(request))
    shown = list(page.object_list)
    mine = set(scope.persons(request.user).filter(pk__in={
        r.person_id for i in shown for r in (i.record_a, i.record_b)}).values_list(
        "pk", flat=True))  # persons whose linkage page the steward may open
    pairs = [{"item": item, "a": present.side(item.record_a), "b": present.side(item.record_b),
              "a_link": item.record_a.person_id in mine,
              "b_link": item.record_b.person_id in mine,
              "lines": present.pair_lines(item), "percent": math.floor(item.probability * 100),
              "held_back": present.held_back_text(item.held_back)}
             for item in shown]
    return render(request, "registry/linking/review.html",
                  {"page": page, "pairs": pairs, "reason_max": service.REASON_MAX})


@permission_required(PERMISSION)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    default = reverse("linkage:review")
    try:
        decision = service.decide(request.user, pk, request.POST.get("verdict", ""),
                                  request.POST.get("reason", ""))
    except LinkingError as exc:
        return _refused(request, exc, default)
    if decision.verdict == "same":
        messages.success(request, _("Decided: the same person. The records are now one "
                                    "person (decision #%(id)d).") % {"id": decision.pk})
    else:
        messages.success(request, _("Decided: different persons (decision #%(id)d).")
                         % {"id": decision.pk})
    return _back(request, default)


# -- conflicts ------------------------------------------------------------------------------


@permission_required(PERMISSION)
def conflict_list(request: HttpRequest) -> HttpResponse:
    page, listed = conflicts.conflicts_page(request.user, _page_number(request))
    return render(request, "registry/linking/conflicts.html",
                  {"page": page, "persons": listed})


# -- decisions ------------------------------------------------------------------------------


@permission_required(PERMISSION)
def decision_list(request: HttpRequest) -> HttpResponse:
    qs = (scope.decisions(request.user)
          .select_related("record_a__dataset", "record_b__dataset", "decided_by", "revoked_by")
          .order_by("-decided_at", "-pk"))
    if request.GET.get("active") == "1":
        qs = qs.filter(revoked_at__isnull=True)
    page = Paginator(qs, DECISIONS_PAGE).get_page(_page_number(request))
    return render(request, "registry/linking/decisions.html", {
        "page": page, "active_only": request.GET.get("active") == "1",
        "rows": [{"d": d, "a": present.side(d.record_a), "b": present.side(d.record_b),
                  "a_name": conflicts.shown("name", d.record_a),
                  "b_name": conflicts.shown("name", d.record_b)}
                 for d in page.object_list]})


@permission_required(PERMISSION)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    default = reverse("linkage:decisions")
    try:
        decision = service.revoke(request.user, pk)
    except LinkingError as exc:
        return _refused(request, exc, default)
    messages.success(request, _("Decision #%(id)d is revoked; the persons are as they were "
                                "before it.") % {"id": decision.pk})
    return _back(request, default)


# -- one person: split a row off, merge another in ------------------------------------------


@permission_required(PERMISSION)
def person(request: HttpRequest, pk: int) -> HttpResponse:
    found = (scope.persons(request.user).filter(pk=pk)
             .prefetch_related(Prefetch("sources", queryset=SourceRecord.objects
                                        .select_related("dataset__department")
                                        .order_by("pk"))).first())
    if found is None:
        raise Http404
    rows = [{"side": present.side(r), "values": present.masked_row(r)}
            for r in found.sources.all()]
    return render(request, "registry/linking/person.html", {
        "person": found, "rows": rows, "reason_max": service.REASON_MAX,
        "decisions": LinkDecision.objects.filter(
            Q(record_a__person=found) | Q(record_b__person=found),
            revoked_at__isnull=True).count()})


@permission_required(PERMISSION)
@require_POST
def split(request: HttpRequest, pk: int) -> HttpResponse:
    default = reverse("linkage:overview")
    try:
        effect = service.split(request.user, pk, request.POST.get("reason", ""))
    except LinkingError as exc:
        return _refused(request, exc, default)
    messages.success(request, _("The record is now person #%(person)d; %(n)d decision(s) "
                                "keep it apart.") % {"person": effect.target,
                                                     "n": len(effect.decisions)})
    return redirect("linkage:person", effect.source)


@permission_required(PERMISSION)
@require_POST
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    default = reverse("linkage:person", args=[pk])
    raw = request.POST.get("other", "").strip().lstrip("#")
    if not raw.isdigit():
        messages.error(request, _("Enter the number of the person to merge in."))
        return redirect(default)
    try:
        effect = service.merge(request.user, pk, int(raw), request.POST.get("reason", ""))
    except LinkingError as exc:
        if exc.status == 404:  # the number typed: say so on the page, not as a 404
            messages.error(request, _("There is no person #%(id)s you may merge with this "
                                      "one.") % {"id": raw})
            return redirect(default)
        return _refused(request, exc, default)
    messages.success(request, _("Person #%(other)d is merged into this one: %(n)d record(s) "
                                "moved (decision #%(id)d).")
                     % {"other": int(raw), "n": len(effect.moved), "id": effect.decision})
    return redirect(default)
