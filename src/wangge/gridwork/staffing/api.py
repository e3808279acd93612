"""Workload and staffing API — 工作量与网格员配置 under /api/v1/gridwork/staffing.

Thin: ``service`` and ``proposals`` check permission (``gridwork.staffing``; deciding needs
``gridwork.plan``), scope and inputs. Refusals answer with their status and words.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status

from wangge.core.http import REFUSAL_RESPONSES, refusal_response
from wangge.core.refusals import Refusal

from . import proposals, service

router = Router(tags=["gridwork staffing"])



class ProposalOut(Schema):
    id: int
    kind: str
    community: str
    grids: list[str]
    status: str
    geometry: dict
    figures: dict
    note: str
    decided_by: str | None


class ComputeIn(Schema):
    node: str | None = None
    month: str | None = None


class DecideIn(Schema):
    note: str = ""


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)



def _proposal(p) -> dict:
    return {"id": p.pk, "kind": p.kind, "community": p.community.code, "grids": p.grids,
            "status": p.status, "geometry": p.geometry, "figures": p.figures, "note": p.note,
            "decided_by": p.decided_by.username if p.decided_by else None}


@router.get("/workload", response={200: dict, **REFUSAL_RESPONSES}, url_name="staffing_workload")
def workload(request: HttpRequest, node: str | None = None, month: str | None = None,
             start: str | None = None, end: str | None = None):
    """Per grid worker and per grid: cases found and handled, task targets, visits,
    households, patrol and workload hours, for a month or a period (default: 30 days)."""
    try:
        return Status(200, service.workload(request.user, node, start=start, end=end,
                                            month=month, token=_token(request)).as_json())
    except Refusal as exc:
        return refusal_response(exc)


@router.get("/plan", response={200: dict, **REFUSAL_RESPONSES}, url_name="staffing_plan")
def plan(request: HttpRequest, node: str | None = None, month: str | None = None,
         start: str | None = None, end: str | None = None):
    """Needed against actual workers per community, each grid's load, and the model."""
    try:
        return Status(200, service.staffing(request.user, node, start=start, end=end,
                                            month=month, token=_token(request)).as_json())
    except Refusal as exc:
        return refusal_response(exc)


@router.get("/proposals", response={200: list[ProposalOut], **REFUSAL_RESPONSES},
            url_name="staffing_proposals")
def proposal_list(request: HttpRequest, node: str | None = None, status: str | None = None):
    try:
        region = service.resolve_node(request.user, node, _token(request))
        found = proposals.visible_proposals(request.user, region, status, _token(request))
        return Status(200, [_proposal(p) for p in found[:500]])
    except Refusal as exc:
        return refusal_response(exc)


@router.post("/proposals/compute", response={200: list[ProposalOut], **REFUSAL_RESPONSES},
             url_name="staffing_compute")
def compute(request: HttpRequest, body: ComputeIn):
    """(Re)compute proposals inside the node; an open one for the same grids is refreshed."""
    try:
        made = proposals.compute(request.user, body.node, month=body.month,
                                 token=_token(request))
        return Status(200, [_proposal(p) for p in made])
    except Refusal as exc:
        return refusal_response(exc)


@router.post("/proposals/{pk}/{action}", response={200: ProposalOut, **REFUSAL_RESPONSES},
             url_name="staffing_decide")
def decide(request: HttpRequest, pk: int, action: str, body: DecideIn):
    """accept / reject (the command centre), with a note; the same decision again is a
    no-op, a different one on a decided proposal a 409."""
    try:
        return Status(200, _proposal(proposals.decide(request.user, pk, action, body.note,
                                                      _token(request))))
    except Refusal as exc:
        return refusal_response(exc)
