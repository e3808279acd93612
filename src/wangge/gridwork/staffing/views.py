"""Workload and staffing pages — 工作量与网格员配置: the workload tables (sortable, CSV, a
chart), needed against actual workers with grids on a map, and split/merge proposals.

Thin: ``service`` and ``proposals`` check permission and scope and do the work; a refusal
renders the refusal page with its status and message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import has_permission, permission_required
from wangge.accounts.scope import visible_to
from wangge.regions.models import Region

from ..models import ProposalStatus
from ..views import refusals
from . import norms, proposals, service


def _filters(request: HttpRequest) -> dict:
    get = request.GET
    return {"node": get.get("node") or None, "start": get.get("start") or None,
            "end": get.get("end") or None, "month": get.get("month") or None}


def _context(request: HttpRequest, tab: str, **extra) -> dict:
    f = _filters(request)
    return {"tab": tab, "f": {k: v or "" for k, v in f.items()}, "query": request.GET.urlencode(),
            "may_plan": has_permission(request.user, "gridwork.plan"), **extra}


def _statuses() -> dict[str, str]:
    return {"overloaded": _("overloaded"), "light": _("light"), "ok": _("balanced"),
            "no_worker": _("no grid worker")}


@permission_required("gridwork.staffing")
@refusals
def home(request: HttpRequest) -> HttpResponse:
    """Each grid worker's and each grid's work in the period; ``?csv=workers|grids``."""
    load = service.workload(request.user, **_filters(request))
    which = request.GET.get("csv")
    if which:
        body = service.to_csv(load, which)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        name = f"workload-{which}-{load.node.code}-{load.period.first}-{load.period.last}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    data = load.as_json()
    chart = {"names": [g["name"] for g in data["grids"]],
             "hours": [g["hours"] for g in data["grids"]],
             "capacity": [round(g["workers"] * data["capacity_hours"], 2)
                          for g in data["grids"]],
             "labels": {"hours": _("workload hours"), "capacity": _("capacity of its workers")}}
    return render(request, "gridwork/staffing/home.html", _context(
        request, "home", load=load, data=data, chart=chart, statuses=_statuses(),
        minutes=norms.MINUTES))


@permission_required("gridwork.staffing")
@refusals
def plan(request: HttpRequest) -> HttpResponse:
    """Needed against actual workers per community; overloaded and light grids on a map."""
    result = service.staffing(request.user, **_filters(request))
    data = result.as_json()
    labels = _statuses()
    for g in data["grids"]:
        g["status_label"] = labels[g["status"]]
    return render(request, "gridwork/staffing/plan.html", _context(
        request, "plan", result=result, data=data, statuses=_statuses(),
        model=service.model_json(),
        map_data={"grids": result.feature_collection(), "strings": {
            **_statuses(), "households": _("households"), "workers": _("grid workers"),
            "needed": _("needed"), "load": _("load ratio")}}))


@permission_required("gridwork.staffing")
@refusals
def proposal_list(request: HttpRequest) -> HttpResponse:
    """Open and decided proposals inside the node, each drawn on a map for review."""
    node = service.resolve_node(request.user, request.GET.get("node") or None)
    status = request.GET.get("status") or ProposalStatus.PROPOSED
    found = list(proposals.visible_proposals(request.user, node, status if status != "all"
                                             else None)[:100])
    codes = {c for p in found for c in p.grids}
    current = dict(visible_to(Region, request.user).filter(code__in=codes)
                   .values_list("code", "geometry"))
    map_data = {"proposals": [{"id": p.pk, "kind": p.kind, "proposed": p.geometry,
                               "current": [current[c] for c in p.grids if current.get(c)]}
                              for p in found],
                "strings": {"households": _("households")}}
    return render(request, "gridwork/staffing/proposals.html", _context(
        request, "proposals", node=node, proposals=found, status=status,
        statuses=ProposalStatus.choices, map_data=map_data))


@require_POST
@permission_required("gridwork.staffing")
@refusals
def compute(request: HttpRequest) -> HttpResponse:
    """(Re)compute proposals for the chosen area (an open one is refreshed, not repeated)."""
    node = request.POST.get("node") or None
    made = proposals.compute(request.user, node, month=request.POST.get("month") or None)
    messages.success(request, _("%(n)d proposals computed.") % {"n": len(made)})
    url = redirect("gridwork:staffing_proposals")
    if node:
        url["Location"] += f"?node={node}"
    return url


@require_POST
@permission_required("gridwork.staffing")
@refusals
def decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Accept or reject a proposal (the command centre: ``gridwork.plan``), with a note."""
    proposal = proposals.decide(request.user, pk, action, request.POST.get("note", ""))
    messages.success(request, _("Decision recorded. The regions administrator redraws the "
                                "grids of an accepted proposal."))
    url = redirect("gridwork:staffing_proposals")
    url["Location"] += f"?status={proposal.status}#proposal-{proposal.pk}"
    return url
