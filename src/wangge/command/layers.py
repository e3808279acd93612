"""The one map's layers — 一张图: areas coloured by a measure, case points, heat, key places.

Each layer is a plain dict (GeoJSON where it is geographic) built from scoped queries only:
children through the region queries (``visible_to``), figures through ``figures.service``
(permission, scope, filters), cases and places through ``visible_to``. Case points carry no
personal data: number, category, state and traffic light, never the title, address,
description or anything about who reported it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, F, FloatField, Q, Value
from django.db.models.functions import Floor
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.cases.deadlines import traffic_light
from wangge.cases.models import Case
from wangge.figures import service as figures
from wangge.figures.measures import Dim
from wangge.regions import queries
from wangge.regions.models import Level, Region
from wangge.registry.models import Place, PlaceKind

# --- colouring areas by a measure ---------------------------------------------------------

# Light (good) to dark red (bad): the class of an area is its rank in badness.
PALETTE = ("#fee8c8", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
NO_DATA = "#dee2e6"


@dataclass(frozen=True)
class Measure:
    """A measure an area can be coloured by — 着色指标.

    ``value`` reads one area's summary (flows in the period, stock now) and its households;
    None means "cannot be said" (nobody rated, no households recorded) and is drawn grey.
    """

    key: str
    label: object
    value: Callable[[dict, int | None], float | int | None]
    higher_is_worse: bool = True
    kind: str = "count"  # count | share | rate (how the legend and list print it)


def _satisfaction(area: dict, households: int | None) -> float | None:
    flows = area["flows"]
    return round(flows["satisfied"] / flows["rated"], 4) if flows["rated"] else None


def _workload(area: dict, households: int | None) -> float | None:
    """Cases reported in the period per 1,000 households (每千户事件数): busy areas stand
    out whatever their size; an area without recorded households has no figure."""
    if not households:
        return None
    return round(area["flows"]["reported"] * 1000 / households, 1)


MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("open", _("open now"), lambda a, h: a["stock"]["open"]),
    Measure("overdue", _("overdue now"), lambda a, h: a["stock"]["overdue"]),
    Measure("satisfaction", _("satisfaction in the period"), _satisfaction,
            higher_is_worse=False, kind="share"),
    Measure("workload", _("reported per 1,000 households"), _workload, kind="rate"),
)}
DEFAULT_MEASURE = "open"


def measure_for(key: str) -> Measure:
    measure = MEASURES.get(key or DEFAULT_MEASURE)
    if measure is None:
        raise ValidationError({"measure": f"{key!r} is not one of {', '.join(MEASURES)}"})
    return measure


def show(value: float | int | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return f"{value * 100:.1f}%"
    if kind == "rate":
        return f"{value:.1f}"
    return str(value)


def class_bounds(values: list[float]) -> list[float]:
    """Upper bounds of up to five classes over the distinct values, each class holding
    about as many distinct values (a few busy areas do not wash out the rest)."""
    distinct = sorted(set(values))
    n = len(PALETTE)
    if len(distinct) <= n:
        return distinct
    out: list[float] = []
    for k in range(1, n + 1):
        v = distinct[-(-k * len(distinct) // n) - 1]
        if v not in out:
            out.append(v)
    return out


def _class_of(value: float, uppers: list[float]) -> int:
    for i, upper in enumerate(uppers):
        if value <= upper:
            return i
    return len(uppers) - 1


def colour_scheme(values: list[float | None], measure: Measure) -> tuple[list[str], list[dict]]:
    """A colour per value and the legend: classes of badness, grey for "cannot be said"."""
    known = [v for v in values if v is not None]
    uppers = class_bounds(known)
    last = len(PALETTE) - 1
    # Spread the classes over the palette (light → dark); one class is mid-tone.
    shades = [PALETTE[2 if len(uppers) == 1 else round(i * last / (len(uppers) - 1))]
              for i in range(len(uppers))]
    if not measure.higher_is_worse:  # e.g. satisfaction: the lowest class is the darkest
        shades.reverse()
    colours = [NO_DATA if v is None else shades[_class_of(v, uppers)] for v in values]
    legend = []
    for i, upper in enumerate(uppers):
        # The range the class actually holds: its lowest and highest value on the map.
        lower = min(v for v in known if _class_of(v, uppers) == i)
        label = show(upper, measure.kind) if lower >= upper else \
            f"{show(lower, measure.kind)}–{show(upper, measure.kind)}"
        legend.append({"colour": shades[i], "label": label})
    if len(known) < len(values):
        legend.append({"colour": NO_DATA, "label": str(_("not available"))})
    return colours, legend


# --- which node, which period ---------------------------------------------------------------

def map_node(user, code: str | None, token=None) -> Region:
    """The node a map is about (the user's own by default); out of scope is a 404."""
    require_permission(user, "command.map", token)
    if code:
        return get_visible_or_404(Region, user, code=code)
    return figures.home_node(user)


def category_q(user, category: str) -> Q:
    """Cases of one top-level category (and its sub-categories), validated as the figures
    validate it (unknown or second-level → 422 naming "category")."""
    if not category:
        return Q()
    flt = figures.resolve_filter(user, category=category)
    if flt.kind != Dim.CATEGORY:  # a handler's fixed filter; the map is not hers anyway
        raise ValidationError({"category": "no category filter for this account"})
    return Q(category_id=flt.value) | Q(category__parent_id=flt.value)


def _reported_in(first: date, last: date) -> Q:
    tz = timezone.get_current_timezone()
    return Q(created_at__gte=datetime.combine(first, time.min, tz),
             created_at__lt=datetime.combine(last + timedelta(days=1), time.min, tz))


def _cases(user, node: Region, first: date, last: date, category: str):
    """Cases reported in the period under ``node`` that the user may see and that have a
    point."""
    return (visible_to(Case, user)
            .filter(region_path__startswith=node.path, lon__isnull=False, lat__isnull=False)
            .filter(_reported_in(first, last)).filter(category_q(user, category)))


# --- the layers ---------------------------------------------------------------------------

def areas(user, code: str | None, start=None, end=None, *, measure: str = "",
          category: str = "", token=None) -> dict:
    """The node's children as a FeatureCollection coloured by ``measure``, with the legend
    and the node's own outline (at a grid: the grid itself, with its value)."""
    node = map_node(user, code, token)
    chosen = measure_for(measure)
    data = figures.summary(user, node.code, start, end, category=category)
    figures_by_code = {c["code"]: c for c in data["children"]}
    collection = queries.children_features(user, node)
    labels = queries.level_labels()
    node_feature = queries.feature(node, queries.node_totals(user, node), labels)
    features = [f for f in collection["features"] if f["properties"]["code"] in figures_by_code]
    values = [chosen.value(figures_by_code[f["properties"]["code"]],
                           f["properties"]["households"]) for f in features]
    if not features:  # a grid (or a node whose children have no boundary): itself
        values = [chosen.value(data, node_feature["properties"]["households"])]
    colours, legend = colour_scheme(values, chosen)
    for feature, value, colour in zip(features, values, colours, strict=False):
        area = figures_by_code[feature["properties"]["code"]]
        feature["properties"].update({
            "value": value, "display": show(value, chosen.kind), "colour": colour,
            "open": area["stock"]["open"], "overdue": area["stock"]["overdue"],
            "reported": area["flows"]["reported"],
        })
    node_feature["properties"].update({
        "value": values[0] if not features else None,
        "display": show(values[0], chosen.kind) if not features else "",
        "colour": colours[0] if not features else None,
        "open": data["stock"]["open"], "overdue": data["stock"]["overdue"],
        "reported": data["flows"]["reported"],
    })
    return {
        "type": "FeatureCollection",
        "features": features,
        "node": node_feature,
        "measure": {"key": chosen.key, "label": str(chosen.label), "kind": chosen.kind},
        "legend": legend,
        "period": data["period"],
        "without_boundary": len(data["children"]) - len(features),
    }


MAX_POINTS = 2000
DEFAULT_POINTS = 500
LIGHT_LABELS = {"red": _("overdue"), "yellow": _("due soon"), "green": _("on time"),
                None: _("no deadline running")}


def case_points(user, code: str | None, start=None, end=None, *, category: str = "",
                limit: int = DEFAULT_POINTS, token=None) -> dict:
    """The newest ``limit`` cases reported in the period under the node, as points; with
    ``total`` (all that match) so the page can say "showing N of M"."""
    node = map_node(user, code, token)
    first, last = figures.parse_period(start, end)
    if not 1 <= limit <= MAX_POINTS:
        raise ValidationError({"limit": f"between 1 and {MAX_POINTS}"})
    cases = _cases(user, node, first, last, category)
    total = cases.count()
    chosen = list(cases.select_related("category").order_by("-created_at", "-id")[:limit])
    now = timezone.now()
    features = []
    for case in chosen:
        light = traffic_light(case, now)
        features.append({
            "type": "Feature",
            "id": case.code,
            "geometry": {"type": "Point", "coordinates": [case.lon, case.lat]},
            "properties": {
                "code": case.code,
                "category": case.category.name,
                "state": case.state,
                "state_label": str(case.get_state_display()),
                "light": light or "",
                "light_label": str(LIGHT_LABELS[light]),
                "url": reverse("cases:detail", args=[case.code]),
            },
        })
    return {"type": "FeatureCollection", "features": features, "total": total,
            "shown": len(features), "period": {"start": first.isoformat(),
                                               "end": last.isoformat()}}


# Heat cells — 热力: degrees per cell side by the node's level (≈ 5 km at a province,
# ≈ 30 m at a grid), so a node's map has at most a few thousand cells whatever its cases.
HEAT_CELL = {Level.PROVINCE: 0.05, Level.CITY: 0.02, Level.COUNTY: 0.005,
             Level.TOWNSHIP: 0.002, Level.COMMUNITY: 0.001, Level.GRID: 0.0003}


def heat(user, code: str | None, start=None, end=None, *, category: str = "",
         token=None) -> dict:
    """Case density: cases reported in the period, counted per small cell (one GROUP BY),
    as [lat, lon, count] at each cell's centre."""
    node = map_node(user, code, token)
    first, last = figures.parse_period(start, end)
    cell = HEAT_CELL.get(node.level, 0.001)
    rows = (_cases(user, node, first, last, category)
            .annotate(cx=Floor(F("lon") / Value(cell, output_field=FloatField())),
                      cy=Floor(F("lat") / Value(cell, output_field=FloatField())))
            .values("cx", "cy").annotate(n=Count("id")).order_by())
    cells = [[round((r["cy"] + 0.5) * cell, 6), round((r["cx"] + 0.5) * cell, 6), r["n"]]
             for r in rows]
    return {"cells": cells, "cell_degrees": cell, "max": max((c[2] for c in cells), default=0),
            "total": sum(c[2] for c in cells)}


MAX_PLACES = 5000


def places(user, code: str | None, *, kinds: str = "", token=None) -> dict:
    """Key places under the node (``kinds``: comma-separated, default every kind)."""
    node = map_node(user, code, token)
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in PlaceKind.values]
    if unknown:
        raise ValidationError({"kind": f"{unknown[0]!r} is not one of "
                                       f"{', '.join(PlaceKind.values)}"})
    found = visible_to(Place, user).filter(region_path__startswith=node.path)
    if wanted:
        found = found.filter(kind__in=wanted)
    total = found.count()
    labels = dict(PlaceKind.choices)
    features = [{
        "type": "Feature",
        "id": p.pk,
        "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
        "properties": {"name": p.name, "kind": p.kind, "kind_label": str(labels[p.kind])},
    } for p in found.order_by("kind", "name")[:MAX_PLACES]]
    return {"type": "FeatureCollection", "features": features, "total": total,
            "kinds": [{"kind": k, "label": str(v)} for k, v in PlaceKind.choices]}
