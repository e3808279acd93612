"""Read-side queries shared by the region pages and the region API.

Both show "a node's children, each with how many grids and households lie below it". The
numbers come from one GROUP BY over the grids under the node, keyed by the path segment that
follows the node's own path, so the cost is one query whatever the number of children.
Every query starts from ``visible_to``: what a user cannot see is never counted either.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BigIntegerField, Case, Count, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, StrIndex, Substr
from django.utils.translation import get_language

from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to

from .models import GridType, Level, LevelName, Region
from .tree import subtree_q

# Households are typed in by people and importers; only whole numbers are added up, so a
# stray "about 300" in one grid cannot break the sum (or, on PostgreSQL, the query).
_WHOLE_NUMBER = r"^[0-9]+$"


@dataclass(frozen=True)
class Totals:
    """What lies below a node: grids, and households summed over the grids that record them."""

    grids: int = 0
    households: int = 0
    grids_with_households: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.grids + other.grids, self.households + other.households,
                      self.grids_with_households + other.grids_with_households)


def level_labels() -> dict[int, str]:
    """Each level's display name in the active language (``LevelName``, else the built-in)."""
    chinese = (get_language() or "").lower().startswith("zh")
    labels = {level: str(label) for level, label in Level.choices}
    for row in LevelName.objects.all():
        labels[row.level] = row.name_zh if chinese else row.name_en
    return labels


def grid_type_label(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(GridType(value).label)
    except ValueError:
        return str(value)


def roots(user) -> QuerySet[Region]:
    """The top of what ``user`` sees: their own node, or the top-level nodes when unbound."""
    visible = visible_to(Region, user)
    if user.region_id is not None:
        return visible.filter(pk=user.region_id)
    return visible.filter(parent__isnull=True)


def children(user, node: Region | None) -> QuerySet[Region]:
    """``node``'s visible children; with no node, the user's roots."""
    if node is None:
        return roots(user)
    return visible_to(Region, user).filter(parent=node)


def child_totals(user, node: Region | None) -> dict[str, Totals]:
    """Totals below each child of ``node`` (or each top-level node), keyed by child code.

    The child a grid belongs to is the path segment right after the node's path; a grid that
    is itself a child counts as one grid under itself.
    """
    if node is None and user.region_id is not None:
        # A bound user's only root is their own node.
        return {user.region.code: node_totals(user, user.region)}
    grids = visible_to(Region, user).filter(level=Level.GRID)
    offset = 1
    if node is not None:
        grids = grids.filter(subtree_q(node.path)).exclude(pk=node.pk)
        offset = len(node.path) + 1
    rest = Substr("path", offset)
    whole = Q(households__regex=_WHOLE_NUMBER)
    rows = (
        grids.annotate(
            child_code=Substr("path", offset, StrIndex(rest, Value(".")) - 1),
            households=KT("attributes__households"),
        )
        .order_by()
        .values("child_code")
        .annotate(
            n_grids=Count("pk"),
            n_known=Count("pk", filter=whole),
            n_households=Sum(Case(
                When(whole, then=Cast("households", BigIntegerField())),
                default=Value(0), output_field=BigIntegerField(),
            )),
        )
    )
    return {
        row["child_code"]: Totals(row["n_grids"], row["n_households"] or 0, row["n_known"])
        for row in rows
    }


def node_totals(user, node: Region | None) -> Totals:
    """Totals below ``node``: the sum over its children (every grid is under one of them)."""
    return sum(child_totals(user, node).values(), Totals())


def households_of(region: Region) -> int | None:
    value = region.attributes.get("households") if region.attributes else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def search(user, within: Region | None, text: str) -> QuerySet[Region]:
    """Nodes under ``within`` (or anywhere in scope) whose name contains or code starts with
    ``text``."""
    found = visible_to(Region, user)
    if within is not None:
        found = found.filter(subtree_q(within.path))
    return found.filter(Q(name__icontains=text) | Q(code__startswith=text))


def grid_workers(user, grid: Region):
    """The grid workers bound to ``grid`` that ``user`` may see — 网格员."""
    from wangge.accounts.models import User

    return visible_to(User, user).filter(region=grid, role=Role.GRID_WORKER, is_active=True)


def feature(region: Region, totals: Totals | None, labels: dict[int, str]) -> dict:
    """One GeoJSON Feature for ``region`` with what the map shows and colours by."""
    grid_type = (region.attributes or {}).get("grid_type") or None
    if region.is_grid:
        totals = Totals(1, households_of(region) or 0, int(households_of(region) is not None))
    totals = totals or Totals()
    return {
        "type": "Feature",
        "id": region.code,
        "geometry": region.geometry,
        "properties": {
            "code": region.code,
            "name": region.name,
            "level": region.level,
            "level_name": labels.get(region.level, ""),
            "grids": totals.grids,
            "households": totals.households if totals.grids_with_households else None,
            "grid_type": grid_type,
            "grid_type_name": grid_type_label(grid_type),
        },
    }


def children_features(user, node: Region | None) -> dict:
    """A FeatureCollection of ``node``'s children that have a boundary."""
    totals = child_totals(user, node)
    labels = level_labels()
    drawn = children(user, node).filter(geometry__isnull=False)
    return {
        "type": "FeatureCollection",
        "features": [feature(child, totals.get(child.code), labels) for child in drawn],
    }
