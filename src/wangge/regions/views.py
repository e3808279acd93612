"""Region pages: browse the tree, the map of a node's children, a node's (grid's) detail.

Views stay thin: every row comes through ``visible_to`` / ``get_visible_or_404`` (directly or
via ``queries``), so a code outside the user's subtree is a 404 exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from wangge.accounts.permissions import permission_required
from wangge.accounts.scope import get_visible_or_404, visible_to

from . import queries
from .models import GridType, Region

CHILDREN_PER_PAGE = 50
SEARCH_RESULTS_PER_PAGE = 50


@dataclass(frozen=True)
class Crumb:
    """One step of the breadcrumb trail; ``linked`` is False above the user's own node."""

    region: Region
    linked: bool


def _node_or_start(request: HttpRequest, code: str | None) -> Region | None:
    """The node a page is about: the one named, else the user's own (None for unbound)."""
    user = request.user
    if code is not None:
        return get_visible_or_404(Region.objects.select_related("parent"), user, code=code)
    if user.region_id is not None:
        return get_visible_or_404(Region.objects.select_related("parent"), user,
                                  pk=user.region_id)
    return None


def _crumbs(user, node: Region | None) -> list[Crumb]:
    """Ancestors of ``node``, top first, each marked whether the user may open it.

    The names of ancestors above the user's own node are shown (a worker knows which street
    they are in) but not linked: opening them would be a 404.
    """
    if node is None:
        return []
    # Names only, fetched by code from the node's own path; their pages stay out of reach.
    ancestors = list(node.ancestors())
    within = set(visible_to(Region, user).filter(code__in=[a.code for a in ancestors])
                 .values_list("code", flat=True))
    return [Crumb(a, a.code in within) for a in ancestors]


def _rows(regions, totals: dict[str, queries.Totals]) -> list[dict]:
    """Table rows for ``regions`` (children of one node) with their totals below."""
    labels = queries.level_labels()
    rows = []
    for region in regions:
        own = queries.households_of(region) if region.is_grid else None
        below = totals.get(region.code, queries.Totals())
        rows.append({
            "region": region,
            "level_name": labels.get(region.level, ""),
            "grids": below.grids,
            "households": own if region.is_grid else
            (below.households if below.grids_with_households else None),
            "grid_type": queries.grid_type_label((region.attributes or {}).get("grid_type")),
            "has_geometry": region.geometry is not None,
        })
    return rows


def _summary(user, node: Region | None, below: dict[str, queries.Totals]) -> dict:
    """The node's own counts; ``below`` is ``child_totals`` for it, already fetched."""
    totals = sum(below.values(), queries.Totals())
    if node is not None and node.is_grid:
        # A grid is its own (only) grid: its households are what its worker looks for.
        own = queries.households_of(node)
        totals = queries.Totals(1, own or 0, int(own is not None))
    return {
        "children": queries.children(user, node).count(),
        "grids": totals.grids,
        "households": totals.households if totals.grids_with_households else None,
        "grids_with_households": totals.grids_with_households,
    }


@permission_required("regions.view")
def browse(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """The tree from the user's node down: counts, children, and a search within scope."""
    user = request.user
    node = _node_or_start(request, code)
    text = request.GET.get("q", "").strip()[:60]
    below = queries.child_totals(user, node)
    context = {
        "node": node,
        "crumbs": _crumbs(user, node),
        "level_name": queries.level_labels().get(node.level, "") if node else "",
        "summary": _summary(user, node, below),
        "q": text,
        "unbound_without_scope": node is None and not queries.roots(user).exists(),
    }
    if text:
        found = queries.search(user, node, text).select_related("parent")
        page = Paginator(found, SEARCH_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
        labels = queries.level_labels()
        context["results"] = page
        context["result_rows"] = [
            {"region": r, "level_name": labels.get(r.level, "")} for r in page]
    else:
        page = Paginator(queries.children(user, node), CHILDREN_PER_PAGE).get_page(
            request.GET.get("page"))
        context["page"] = page
        context["rows"] = rows = _rows(page, below)
        # Columns that would be all dashes on this page are left out (phones are narrow).
        context["show_grids"] = any(not row["region"].is_grid for row in rows)
        context["show_type"] = any(row["grid_type"] for row in rows)
    return render(request, "regions/browse.html", context)


def _map_strings() -> dict[str, str]:
    """What map.js writes on the page, translated here so the script holds no language."""
    return {
        "gridsCount": _("grids: %(count)s"),
        "householdsCount": _("%(count)s households"),
        "legendGrids": _("Grids below"),
        "legendHouseholds": _("Households"),
        "legendType": _("Grid type"),
        "noData": _("not recorded"),
        "unknownType": _("type not set"),
        # %(count)s is replaced in the browser with the number of areas drawn.
        "drawn": _("%(count)s areas on the map. Tap one to open it."),
        "empty": _("Nothing here has a boundary to draw."),
        "loadFailed": _("The map could not be loaded. Reload the page to try again."),
    }


@permission_required("regions.view")
def region_map(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """The map of a node's children; a grid has no children, so its map is its detail page."""
    user = request.user
    node = _node_or_start(request, code)
    if node is not None and node.is_grid:
        return redirect("regions:detail", code=node.code)
    kids = queries.children(user, node)
    if node is None:
        children_url = reverse("api:regions_roots_geojson")
        outline_url = ""
    else:
        children_url = reverse("api:regions_children_geojson", args=[node.code])
        outline_url = (reverse("api:regions_geojson", args=[node.code])
                       if node.geometry is not None else "")
    config = {
        "mode": "children",
        "childrenUrl": children_url,
        "outlineUrl": outline_url,
        "mapUrl": reverse("regions:map_node", args=["__code__"]),
        "detailUrl": reverse("regions:detail", args=["__code__"]),
        "gridTypes": {value: str(label) for value, label in GridType.choices},
        "strings": _map_strings(),
    }
    return render(request, "regions/map.html", {
        "node": node,
        "crumbs": _crumbs(user, node),
        "level_name": queries.level_labels().get(node.level, "") if node else "",
        "drawable": kids.filter(geometry__isnull=False).count(),
        "without_boundary": kids.filter(geometry__isnull=True)[:100],
        "without_boundary_count": kids.filter(geometry__isnull=True).count(),
        "map_config": config,
    })


@permission_required("regions.view")
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """One node, usually a grid: where it sits, its type and households, who works it."""
    user = request.user
    node = _node_or_start(request, code)
    crumbs = _crumbs(user, node)
    parent_visible = bool(crumbs) and crumbs[-1].linked
    attributes = dict(node.attributes or {})
    grid_type = attributes.pop("grid_type", None)
    households = queries.households_of(node)
    attributes.pop("households", None)
    context = {
        "node": node,
        "crumbs": crumbs,
        "level_name": queries.level_labels().get(node.level, ""),
        "grid_type": queries.grid_type_label(grid_type),
        "households": households,
        "other_attributes": sorted(attributes.items()),
        "parent_map_code": node.parent.code if parent_visible else None,
        "map_config": {
            "mode": "single",
            "outlineUrl": reverse("api:regions_geojson", args=[node.code]),
            "strings": _map_strings(),
        } if node.geometry is not None else None,
    }
    if node.is_grid:
        context["workers"] = list(queries.grid_workers(user, node).order_by("username"))
    else:
        context["summary"] = _summary(user, node, queries.child_totals(user, node))
    return render(request, "regions/detail.html", context)
