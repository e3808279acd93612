"""Grid split and merge proposals — 网格调整建议: drawn from the staffing figures, for review.

* An overloaded grid (``norms.THRESHOLDS``) is proposed SPLIT in two across its longer axis,
  through the household-weighted median of its buildings' points (the registry's buildings
  of the grid; none → through the centroid), so each half holds about half its households.
* Two or more light grids of one community that touch are proposed MERGED (their union), as
  long as the merged grid would not be overloaded itself.

A proposal stores the grids as proposed (a GeoJSON FeatureCollection with each one's
households) and the figures behind it. Re-computing refreshes an open proposal for the same
grids instead of adding another. The command centre accepts or rejects it with a note;
accepting records the decision only — the regions administrator redraws the grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import box, mapping, shape

from wangge.accounts.scope import visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.core.refusals import Conflict, Invalid, NotFound, require
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q
from wangge.registry.models import Building, Household

from ..models import GridProposal, ProposalKind, ProposalStatus
from . import norms
from .service import GridRow, staffing

NOTE_MAX = 1000
DECISIONS: dict[str, str] = {"accept": ProposalStatus.ACCEPTED,
                             "reject": ProposalStatus.REJECTED}
NOTE_REQUIRED = frozenset({"reject"})  # a rejection says why; an acceptance may


def _actor(user) -> Actor:
    current = current_actor()
    return current if current.user_id == user.pk else Actor.for_user(user)


# -- split ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    x: float  # lon
    y: float  # lat
    households: int


def _points(grid_ids: list[int]) -> dict[int, list[Point]]:
    """Each grid's located buildings with their household counts (one query each kind)."""
    per_building = dict(Household.objects.filter(region_id__in=grid_ids,
                                                 house__building__isnull=False)
                        .values("house__building_id").annotate(n=Count("pk")).order_by()
                        .values_list("house__building_id", "n"))
    out: dict[int, list[Point]] = {g: [] for g in grid_ids}
    rows = Building.objects.filter(region_id__in=grid_ids, lon__isnull=False,
                                   lat__isnull=False).values_list("pk", "region_id", "lon",
                                                                  "lat")
    for pk, grid, lon, lat in rows:
        out[grid].append(Point(lon, lat, per_building.get(pk, 0)))
    return out


def _cut_at(values: list[tuple[float, int]]) -> float | None:
    """The weighted median of (coordinate, weight), as a cut between two distinct points;
    None when the points do not spread along the axis."""
    values = sorted(values)
    total = sum(max(w, 1) for _, w in values)
    running = 0
    for i, (v, w) in enumerate(values):
        running += max(w, 1)
        if running * 2 >= total:
            nxt = next((u for u, _ in values[i + 1:] if u > v), None)
            if nxt is not None:
                return (v + nxt) / 2
            prev = next((u for u, _ in reversed(values[:i]) if u < v), None)
            return None if prev is None else (prev + v) / 2
    return None


def split_grid(geometry: dict, points: list[Point], households: int) -> dict:
    """The two halves of a grid as GeoJSON features with their households, and how it cut."""
    poly = shape(geometry)
    x0, y0, x1, y1 = poly.bounds
    stretch = math.cos(math.radians((y0 + y1) / 2))  # degrees of lon are shorter
    along_x = (x1 - x0) * stretch >= (y1 - y0)
    inside = [p for p in points if poly.covers(shapely.Point(p.x, p.y))]
    cut = _cut_at([(p.x if along_x else p.y, p.households) for p in inside]) if inside else None
    method = "buildings"
    if cut is None:
        c = poly.centroid
        cut, method = (c.x if along_x else c.y), "centroid"
    pad = 1.0
    halves = ([box(x0 - pad, y0 - pad, cut, y1 + pad), box(cut, y0 - pad, x1 + pad, y1 + pad)]
              if along_x else
              [box(x0 - pad, y0 - pad, x1 + pad, cut), box(x0 - pad, cut, x1 + pad, y1 + pad)])
    parts = [poly.intersection(h) for h in halves]
    placed = [sum(p.households for p in inside if (p.x if along_x else p.y) < cut),
              sum(p.households for p in inside if (p.x if along_x else p.y) >= cut)]
    counts = _share(households, placed, [part.area for part in parts])
    features = [{"type": "Feature", "geometry": mapping(part),
                 "properties": {"part": i + 1, "households": counts[i],
                                "buildings": sum(1 for p in inside
                                                 if ((p.x if along_x else p.y) < cut) == (i == 0))}}
                for i, part in enumerate(parts)]
    return {"features": features, "axis": "lon" if along_x else "lat", "cut": cut,
            "method": method}


def _share(total: int, placed: list[int], areas: list[float]) -> list[int]:
    """The grid's households per half: those placed by their building, and the rest (not
    linked to a located building) shared like the placed ones, or by area if none is."""
    rest = max(total - sum(placed), 0)
    weights = placed if sum(placed) else areas
    first = round(rest * weights[0] / sum(weights)) if sum(weights) else rest // 2
    return [placed[0] + first, placed[1] + rest - first]


# -- merge ----------------------------------------------------------------------------------

TOUCH_DEG = 1e-5  # degrees (about a metre): boundaries this close count as shared


def share_edge(a, b) -> bool:
    """The two grids share a stretch of boundary (meeting at a corner is not touching)."""
    return a.buffer(TOUCH_DEG).intersection(b).area > TOUCH_DEG * TOUCH_DEG * 10


def merge_groups(light: list[GridRow], shapes: dict[int, object]) -> list[list[GridRow]]:
    """Touching light grids gathered greedily (by code) while the merged grid's load stays
    at or under 1: each group of two or more is a proposal."""
    left = sorted(light, key=lambda g: g.key)
    groups = []
    while left:
        group = [left.pop(0)]
        grew = True
        while grew:
            grew = False
            for g in list(left):
                touching = any(share_edge(shapes[g.pk], shapes[m.pk]) for m in group)
                merged = [*group, g]
                load = sum(m.needed for m in merged) / sum(m.workers for m in merged)
                if touching and load <= 1:
                    group.append(g)
                    left.remove(g)
                    grew = True
        if len(group) > 1:
            groups.append(group)
    return groups


# -- storing --------------------------------------------------------------------------------

def _figures(rows: list[GridRow]) -> dict:
    return {"grids": [{"code": g.key, "name": g.name, "households": g.households,
                       "workers": g.workers, "hours": round(g.hours, 2),
                       "needed": round(g.needed, 2),
                       "load": None if g.load is None else round(g.load, 2),
                       "status": g.status} for g in rows]}


def _store(community: Region, kind: str, codes: list[str], geometry: dict, figures: dict
           ) -> tuple[GridProposal, bool]:
    """Create the proposal, or refresh the open one for the same grids (no duplicate)."""
    codes = sorted(codes)
    found = next((p for p in GridProposal.objects.filter(
        community=community, kind=kind, status=ProposalStatus.PROPOSED) if
        sorted(p.grids) == codes), None)
    if found is not None:
        found.geometry, found.figures = geometry, figures
        found.save(update_fields=["geometry", "figures"])
        return found, False
    made = GridProposal.objects.create(kind=kind, community=community,
                                       region_path=community.path, grids=codes,
                                       geometry=geometry, figures=figures)
    return made, True


def compute(user, node: str | None = None, *, start=None, end=None, month=None,
            token=None) -> list[GridProposal]:
    """(Re)compute proposals for the communities inside the node; returns those made or
    refreshed. Needs ``gridwork.staffing``; each community is one transaction, audited."""
    plan = staffing(user, node, start=start, end=end, month=month, token=token)
    communities = {c.pk: c for c in Region.objects.filter(
        pk__in={g.community_id for g in plan.grids})}
    shapes = {g.pk: shape(plan.geometry[g.pk]) for g in plan.grids if plan.geometry.get(g.pk)}
    overloaded = [g for g in plan.grids if g.status == "overloaded" and g.pk in shapes]
    points = _points([g.pk for g in overloaded])
    figures_base = {"period": {"start": plan.period.first.isoformat(),
                               "end": plan.period.last.isoformat()},
                    "thresholds": norms.THRESHOLDS}
    out: list[GridProposal] = []
    for g in overloaded:
        cut = split_grid(plan.geometry[g.pk], points[g.pk], g.households)
        geometry = {"type": "FeatureCollection", "features": cut["features"]}
        figures = {**figures_base, **_figures([g]), "axis": cut["axis"], "cut": cut["cut"],
                   "method": cut["method"]}
        out.append(_save(user, communities[g.community_id], ProposalKind.SPLIT, [g.key],
                         geometry, figures))
    light = [g for g in plan.grids if g.status == "light" and g.pk in shapes]
    by_community: dict[int, list[GridRow]] = {}
    for g in light:
        by_community.setdefault(g.community_id, []).append(g)
    for community_id, rows in by_community.items():
        for group in merge_groups(rows, shapes):
            union = shapely.union_all([shapes[g.pk] for g in group])
            households = sum(g.households for g in group)
            geometry = {"type": "FeatureCollection", "features": [{
                "type": "Feature", "geometry": mapping(union),
                "properties": {"part": 1, "households": households}}]}
            merged_load = sum(g.needed for g in group) / sum(g.workers for g in group)
            figures = {**figures_base, **_figures(group),
                       "merged": {"households": households, "load": round(merged_load, 2)}}
            out.append(_save(user, communities[community_id], ProposalKind.MERGE,
                             [g.key for g in group], geometry, figures))
    return out


def _save(user, community: Region, kind: str, codes: list[str], geometry: dict,
          figures: dict) -> GridProposal:
    with transaction.atomic():
        Region.objects.select_for_update().filter(pk=community.pk).first()  # one at a time
        proposal, created = _store(community, kind, codes, geometry, figures)
        record(f"gridwork.proposal.{'create' if created else 'refresh'}", proposal,
               actor=_actor(user), detail={"kind": kind, "grids": sorted(codes)})
    return proposal


# -- reading and deciding -------------------------------------------------------------------

def visible_proposals(user, node: Region | None = None, status: str | None = None,
                      token=None) -> QuerySet[GridProposal]:
    require(user, "gridwork.staffing", token)
    qs = visible_to(GridProposal, user).select_related("community", "decided_by")
    if node is not None:
        qs = qs.filter(subtree_q(node.path, "region_path"))
    if status:
        if status not in ProposalStatus.values:
            raise Invalid(_("Unknown status %(s)s.") % {"s": status}, field="status")
        qs = qs.filter(status=status)
    return qs


def get_proposal(user, pk: int, token=None) -> GridProposal:
    found = visible_proposals(user, token=token).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No grid proposal number %(pk)s.") % {"pk": pk})
    return found


def decide(user, pk: int, action: str, note: str = "", token=None) -> GridProposal:
    """Accept or reject an open proposal (``gridwork.plan``). The same decision again is a
    no-op; a different one on a decided proposal is a ``Conflict``. Nothing in the regions
    tree changes: the regions administrator applies an accepted proposal."""
    require(user, "gridwork.plan", token)
    if action not in DECISIONS:
        raise Invalid(_("Choose accept or reject."), field="action")
    note = (note or "").strip()
    if action in NOTE_REQUIRED and not note:
        raise Invalid(_("Say why the proposal is rejected."), field="note")
    if len(note) > NOTE_MAX:
        raise Invalid(_("The note is at most %(n)d characters.") % {"n": NOTE_MAX},
                      field="note")
    with transaction.atomic():
        get_proposal(user, pk, token)  # scope first: out of scope answers like missing
        proposal = GridProposal.objects.select_for_update().get(pk=pk)
        target = DECISIONS[action]
        if proposal.status == target:
            return proposal
        if proposal.status != ProposalStatus.PROPOSED:
            raise Conflict(_("This proposal was already %(status)s by %(who)s on %(when)s.")
                           % {"status": proposal.get_status_display(),
                              "who": proposal.decided_by.label if proposal.decided_by else "",
                              "when": timezone.localtime(proposal.decided_at)
                              .strftime("%Y-%m-%d %H:%M")})
        proposal.status, proposal.note = target, note
        proposal.decided_by, proposal.decided_at = user, timezone.now()
        proposal.save(update_fields=["status", "note", "decided_by", "decided_at"])
        record(f"gridwork.proposal.{action}", proposal, actor=_actor(user),
               detail={"kind": proposal.kind, "grids": proposal.grids, "note": note})
    return proposal
