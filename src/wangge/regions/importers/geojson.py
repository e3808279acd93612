"""Import communities (社区/村) and grids (网格) from a GeoJSON FeatureCollection.

Each feature carries ``code``, ``name``, ``parent_code``, ``level`` (5/"community" or
6/"grid"), optional ``attributes`` and a Polygon/MultiPolygon in WGS-84 lon/lat. The file is
checked in two passes, each a declared list of checks: ``FEATURE_CHECKS`` look at one feature
alone, ``TREE_CHECKS`` at features against each other and the tree already stored (parents,
duplicates, overlapping sibling grids, boundaries leaking out of the parent). Only a file with
no problem at all is written, in one transaction; codes already in the tree are updated, so
re-importing the same file changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from shapely import STRtree

from wangge.audit.services import record
from wangge.regions.geometry import (
    bbox_and_centroid,
    coordinates_outside_lonlat,
    normalised_geojson,
    square_metres_each,
    to_shape,
)
from wangge.regions.models import GridType, Level, Region
from wangge.regions.tree import bump_geometry_revision

from .common import (
    LOOKUP_CHUNK,
    ImportReport,
    chunks,
    insert_regions,
    regions_by_code,
    update_regions,
)

DEFAULT_SOURCE = "geojson"
CODE_MAX = Region._meta.get_field("code").max_length
NAME_MAX = Region._meta.get_field("name").max_length
SOURCE_MAX = Region._meta.get_field("source").max_length

# What ``level`` may say. Numbers may come as JSON numbers or digit strings.
LEVEL_WORDS: dict[Any, Level] = {
    Level.COMMUNITY.value: Level.COMMUNITY, str(Level.COMMUNITY.value): Level.COMMUNITY,
    "community": Level.COMMUNITY,
    Level.GRID.value: Level.GRID, str(Level.GRID.value): Level.GRID, "grid": Level.GRID,
}
PARENT_LEVEL = {Level.COMMUNITY: Level.TOWNSHIP, Level.GRID: Level.COMMUNITY}
POLYGON_TYPES = ("Polygon", "MultiPolygon")
GRID_TYPES = frozenset(GridType.values)
WRITTEN_FIELDS = ["name", "geometry", "attributes", "source", "min_lon", "min_lat", "max_lon",
                  "max_lat", "centroid_lon", "centroid_lat"]

# Errors shapely/numpy raise on coordinates that aren't nested lists of number pairs.
MALFORMED = (ValueError, TypeError, IndexError, KeyError, AttributeError,
             shapely.errors.GEOSException)


def level_word(level: int) -> str:
    return Level(level).name.lower()


def tolerance_m2() -> float:
    return float(settings.GRID_OVERLAP_TOLERANCE_M2)


@dataclass
class Candidate:
    """One feature as read, before and while it is checked.

    Fields are filled leniently ("" / None when absent or of the wrong type); the checks say
    what is wrong. ``shape`` is set only once the geometry has passed every geometry check, so
    the tree checks use sound polygons only.
    """

    index: int
    raw: Any
    properties: dict | None
    code: str = ""
    name: str = ""
    parent_code: str = ""
    level: Level | None = None
    attributes: Any = None
    geometry: Any = None
    shape: shapely.Geometry | None = None

    @property
    def where(self) -> str:
        return f"feature {self.index} (0-based index)"


def _text(value: Any) -> str:
    """A property as text: strings stripped, whole numbers (codes given as numbers) spelled."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def read_candidate(index: int, raw: Any) -> Candidate:
    props = raw.get("properties") if isinstance(raw, dict) else None
    if not isinstance(props, dict):
        return Candidate(index, raw, None)
    attributes = props.get("attributes")
    return Candidate(
        index, raw, props,
        code=_text(props.get("code")), name=_text(props.get("name")),
        parent_code=_text(props.get("parent_code")),
        level=read_level(props.get("level")),
        # Many GIS exports write null for an empty attribute table.
        attributes={} if attributes is None else attributes,
        geometry=raw.get("geometry"),
    )


def read_level(value: Any) -> Level | None:
    if isinstance(value, str):
        return LEVEL_WORDS.get(value.strip().lower())
    if isinstance(value, int) and not isinstance(value, bool):
        return LEVEL_WORDS.get(value)
    return None


# ---------------------------------------------------------------------------------------------
# Checks on one feature alone: each yields messages about the candidate.

FeatureCheck = Callable[[Candidate], Iterable[str]]


def check_is_feature(c: Candidate) -> Iterator[str]:
    if not isinstance(c.raw, dict) or c.raw.get("type") != "Feature":
        yield "is not a GeoJSON Feature (needs \"type\": \"Feature\")"
    if c.properties is None:
        yield "has no properties object"


def check_identity(c: Candidate) -> Iterator[str]:
    """code, name and parent_code are present, non-empty text that fits the table."""
    if c.properties is None:
        return
    for key, limit in (("code", CODE_MAX), ("name", NAME_MAX), ("parent_code", CODE_MAX)):
        value = c.properties.get(key)
        if value is None:
            yield f"missing property {key}"
        elif isinstance(value, bool) or not isinstance(value, str | int):
            yield f"property {key} must be text, not {type(value).__name__}"
        elif not _text(value):
            yield f"property {key} is empty"
        elif len(_text(value)) > limit:
            yield f"property {key} is longer than {limit} characters"


def check_level(c: Candidate) -> Iterator[str]:
    if c.properties is None:
        return
    if "level" not in c.properties:
        yield "missing property level (5 or \"community\", 6 or \"grid\")"
    elif c.level is None:
        yield (f"unknown level {c.properties['level']!r} "
               "(use 5 or \"community\", 6 or \"grid\")")


def check_geometry(c: Candidate) -> Iterator[str]:
    """A Polygon/MultiPolygon in lon/lat range, valid by OGC rules; sets ``c.shape``."""
    if c.properties is None:
        return
    geometry = c.geometry
    if not geometry:
        yield "missing geometry"
        return
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in POLYGON_TYPES:
        yield f"geometry type {kind!r} is not Polygon or MultiPolygon"
        return
    try:
        shape = to_shape(geometry)
    except MALFORMED as exc:
        yield f"malformed {kind} coordinates ({exc})"
        return
    if shape.is_empty:
        yield f"empty {kind}"
        return
    outside = coordinates_outside_lonlat(shape)
    if len(outside):
        lon, lat = outside[0][:2]
        yield (f"coordinates outside lon/lat range (lon -180..180, lat -90..90), e.g. "
               f"[{lon}, {lat}]: WGS-84 degrees are expected, not projected metres")
        return
    reason = shapely.is_valid_reason(shape)
    if reason != "Valid Geometry":
        yield f"invalid polygon: {reason}"
        return
    c.shape = shape


def _households(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"households must be a whole number ≥ 0, not {value!r}"
    return None


def _grid_type(value: Any) -> str | None:
    if not isinstance(value, str) or value not in GRID_TYPES:
        return f"unknown grid_type {value!r} (one of {', '.join(GridType.values)})"
    return None


# Attributes the platform reads; others are kept as given.
ATTRIBUTE_RULES: dict[str, Callable[[Any], str | None]] = {
    "households": _households,
    "grid_type": _grid_type,
}


def check_attributes(c: Candidate) -> Iterator[str]:
    if c.properties is None:
        return
    if not isinstance(c.attributes, dict):
        yield f"attributes must be an object, not {type(c.attributes).__name__}"
        return
    for key, rule in ATTRIBUTE_RULES.items():
        if key in c.attributes:
            message = rule(c.attributes[key])
            if message:
                yield f"attributes: {message}"


FEATURE_CHECKS: tuple[FeatureCheck, ...] = (
    check_is_feature,
    check_identity,
    check_level,
    check_geometry,
    check_attributes,
)


# ---------------------------------------------------------------------------------------------
# Checks across features and against the stored tree.

@dataclass
class Parent:
    """A feature's parent, wherever it lives (this file or the database)."""

    code: str
    level: int | None
    shape: shapely.Geometry | None
    in_file: bool


@dataclass
class TreeContext:
    """The file's features by code (first occurrence) and the stored nodes they touch."""

    candidates: list[Candidate]
    by_code: dict[str, Candidate]
    stored: dict[str, Region]
    stored_shapes: dict[str, shapely.Geometry | None] = field(default_factory=dict)

    def unique(self) -> Iterator[Candidate]:
        """Each code once (its first feature); duplicates are reported, not checked twice."""
        for c in self.candidates:
            if c.code and self.by_code.get(c.code) is c:
                yield c

    def stored_shape(self, code: str) -> shapely.Geometry | None:
        if code not in self.stored_shapes:
            self.stored_shapes[code] = stored_shape(self.stored[code].geometry)
        return self.stored_shapes[code]

    def parent(self, c: Candidate) -> Parent | None:
        """The file's feature wins over the stored node: it is what the tree will hold."""
        if c.parent_code in self.by_code:
            p = self.by_code[c.parent_code]
            return Parent(p.code, p.level, p.shape, in_file=True)
        if c.parent_code in self.stored:
            node = self.stored[c.parent_code]
            return Parent(node.code, node.level, self.stored_shape(node.code), in_file=False)
        return None


def stored_shape(geometry: dict | None) -> shapely.Geometry | None:
    """A stored boundary as a shape; one saved invalid by hand is repaired, not trusted."""
    if not geometry:
        return None
    try:
        shape = to_shape(geometry)
    except MALFORMED:
        return None
    return shape if shape.is_valid else shapely.make_valid(shape)


TreeCheck = Callable[[TreeContext], Iterable[tuple[Candidate, str]]]


def check_duplicates(ctx: TreeContext) -> Iterator[tuple[Candidate, str]]:
    for c in ctx.candidates:
        first = ctx.by_code.get(c.code)
        if c.code and first is not None and first is not c:
            yield c, f"duplicate code: also used by feature {first.index}"


def check_parent(ctx: TreeContext) -> Iterator[tuple[Candidate, str]]:
    """The parent exists (file or tree), sits one level up, and its code prefixes ours."""
    for c in ctx.unique():
        if not c.parent_code or c.level is None:
            continue
        parent = ctx.parent(c)
        want = PARENT_LEVEL[c.level]
        if parent is None:
            yield c, f"unknown parent {c.parent_code} (not in the database nor in this file)"
            continue
        if parent.level is not None and parent.level != want:
            yield c, (f"parent {parent.code} is a {level_word(parent.level)}; "
                      f"a {level_word(c.level)}'s parent must be a {level_word(want)}")
        if not (c.code.startswith(c.parent_code) and len(c.code) > len(c.parent_code)):
            yield c, (f"code is not under its parent's code {c.parent_code} "
                      "(must start with it and be longer)")


def check_stored_place(ctx: TreeContext) -> Iterator[tuple[Candidate, str]]:
    """An update keeps the node where it is: moving would re-path a whole subtree."""
    for c in ctx.unique():
        node = ctx.stored.get(c.code)
        if node is None or c.level is None:
            continue
        if node.level != c.level:
            yield c, (f"already in the tree as a {level_word(node.level)}, "
                      f"not a {level_word(c.level)}")
        elif c.parent_code and node.parent is not None and node.parent.code != c.parent_code:
            yield c, (f"already in the tree under {node.parent.code}, not {c.parent_code}; "
                      "the importer does not move nodes")


@dataclass
class SiblingGrid:
    code: str
    parent_code: str
    shape: shapely.Geometry
    feature: Candidate | None  # None for a grid only in the database


def stored_sibling_grids(ctx: TreeContext, parent_codes: set[str]) -> list[SiblingGrid]:
    """Grids already under these communities, minus those this file replaces."""
    siblings = []
    for part in chunks(sorted(parent_codes), LOOKUP_CHUNK):
        rows = (Region.objects.filter(level=Level.GRID, parent__code__in=part)
                .exclude(geometry=None)
                .values_list("code", "parent__code", "geometry"))
        for code, parent_code, geometry in rows:
            shape = None if code in ctx.by_code else stored_shape(geometry)
            if shape is not None:
                siblings.append(SiblingGrid(code, parent_code, shape, None))
    return siblings


def check_sibling_overlaps(ctx: TreeContext) -> Iterator[tuple[Candidate, str]]:
    """No grid covers a sibling's ground by more than the tolerance (shared edges are fine).

    One STRtree over the file's grids and the stored siblings finds candidate pairs in bulk;
    only those are intersected, so a file of thousands of grids costs thousands of
    intersections, not millions.
    """
    in_file = [SiblingGrid(c.code, c.parent_code, c.shape, c) for c in ctx.unique()
               if c.level == Level.GRID and c.shape is not None and c.parent_code]
    if not in_file:
        return
    grids = in_file + stored_sibling_grids(ctx, {g.parent_code for g in in_file})
    shapes = np.array([g.shape for g in grids], dtype=object)
    parents = np.array([g.parent_code for g in grids], dtype=object)
    left, right = STRtree(shapes).query(shapes[: len(in_file)], predicate="intersects")
    # Each pair once: a file grid against a later file grid, or against a stored grid.
    keep = (right > left) & (parents[left] == parents[right])
    left, right = left[keep], right[keep]
    if not len(left):
        return
    overlap = square_metres_each(shapely.intersection(shapes[left], shapes[right]))
    limit = tolerance_m2()
    for i, j, m2 in zip(left, right, overlap, strict=True):
        if m2 <= limit:
            continue
        other = grids[j]
        where = (f"feature {other.feature.index}" if other.feature is not None
                 else "already in the database")
        yield grids[i].feature, (f"overlaps sibling grid {other.code} ({where}) by "
                                 f"{m2:,.1f} m² (tolerance {limit:,.1f} m²)")


def check_inside_parent(ctx: TreeContext) -> Iterator[tuple[Candidate, str]]:
    """A community stays inside its township, a grid inside its community, where drawn."""
    pairs = []
    for c in ctx.unique():
        parent = ctx.parent(c) if c.shape is not None and c.parent_code else None
        if parent is not None and parent.shape is not None:
            pairs.append((c, parent))
    if not pairs:
        return
    children = np.array([c.shape for c, _ in pairs], dtype=object)
    outer = np.array([p.shape for _, p in pairs], dtype=object)
    outside = square_metres_each(shapely.difference(children, outer))
    limit = tolerance_m2()
    for (c, parent), m2 in zip(pairs, outside, strict=True):
        if m2 > limit:
            yield c, (f"extends {m2:,.1f} m² outside its parent {parent.code}'s boundary "
                      f"(tolerance {limit:,.1f} m²)")


TREE_CHECKS: tuple[TreeCheck, ...] = (
    check_duplicates,
    check_parent,
    check_stored_place,
    check_sibling_overlaps,
    check_inside_parent,
)


# ---------------------------------------------------------------------------------------------
# Reading, validating, writing.

def read_features(data: dict | bytes | str, report: ImportReport) -> list[Any] | None:
    """The features list, or None with the problem reported."""
    if isinstance(data, bytes | str):
        try:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            data = json.loads(text)
        except UnicodeDecodeError:
            report.add_error("file", "", "is not UTF-8 text")
            return None
        except json.JSONDecodeError as exc:
            report.add_error("file", "", f"is not valid JSON: {exc}")
            return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        report.add_error("file", "", f"is not a GeoJSON FeatureCollection (type is {kind!r})")
        return None
    features = data.get("features")
    if not isinstance(features, list):
        report.add_error("file", "", "FeatureCollection has no features list")
        return None
    return features


def validate(features: list[Any], report: ImportReport) -> TreeContext:
    """Run every check; problems are reported in feature order, each feature's in check order.

    The tree checks run even when some features failed their own checks (they skip what they
    can't judge), so one pass shows every problem in the file.
    """
    candidates = [read_candidate(i, raw) for i, raw in enumerate(features)]
    problems = [(c, m) for c in candidates for check in FEATURE_CHECKS for m in check(c)]
    by_code: dict[str, Candidate] = {}
    for c in candidates:
        if c.code:
            by_code.setdefault(c.code, c)
    stored = regions_by_code(set(by_code) | {c.parent_code for c in candidates if c.parent_code})
    _attach_parents(stored)
    ctx = TreeContext(candidates, by_code, stored)
    problems += [(c, m) for check in TREE_CHECKS for c, m in check(ctx)]
    for c, message in sorted(problems, key=lambda p: p[0].index):
        report.add_error(c.where, c.code, message)
    return ctx


def _attach_parents(stored: dict[str, Region]) -> None:
    """Fill each stored node's ``parent`` from one lookup instead of a query per node."""
    ids = {n.parent_id for n in stored.values() if n.parent_id is not None}
    parents = {}
    for part in chunks(sorted(ids), LOOKUP_CHUNK):
        parents.update({p.pk: p for p in Region.objects.filter(pk__in=part)})
    for node in stored.values():
        if node.parent_id is not None:
            node.parent = parents[node.parent_id]


def planned_node(c: Candidate, stored: Region | None, source: str) -> Region | None:
    """The node to write for ``c``: a new Region, the stored one changed, or None if equal.

    Attributes are merged over the stored ones, so values kept by the platform (not in the
    file) survive a re-import; the file wins on the keys it gives.
    """
    geometry = normalised_geojson(c.shape)
    if stored is None:
        return Region(code=c.code, name=c.name, level=c.level, geometry=geometry,
                      attributes=dict(c.attributes), source=source,
                      **bbox_and_centroid(geometry))
    attributes = {**stored.attributes, **c.attributes}
    if (stored.name, stored.geometry, stored.attributes) == (c.name, geometry, attributes):
        return None
    if stored.geometry != geometry:
        stored.geometry = geometry
        for key, value in bbox_and_centroid(geometry).items():
            setattr(stored, key, value)
    stored.name, stored.attributes, stored.source = c.name, attributes, source
    return stored


def write(ctx: TreeContext, report: ImportReport, source: str) -> bool:
    """Create and update level by level (communities first); True if any boundary changed."""
    nodes: dict[str, Region] = dict(ctx.stored)
    geometry_changed = False
    changed: list[Region] = []
    for level in (Level.COMMUNITY, Level.GRID):
        new_nodes = []
        for c in ctx.unique():
            if c.level != level:
                continue
            stored = ctx.stored.get(c.code)
            old_geometry = stored.geometry if stored is not None else None
            node = planned_node(c, stored, source)
            if node is None:
                report.unchanged += 1
            elif stored is None:
                parent = nodes[c.parent_code]
                node.parent, node.path = parent, Region.path_for(parent.path, c.code)
                new_nodes.append(node)
                report.created_codes.append(c.code)
            else:
                changed.append(node)
                report.updated_codes.append(c.code)
                geometry_changed |= node.geometry != old_geometry
            if node is not None:
                nodes[c.code] = node
        if not report.dry_run:
            insert_regions(new_nodes)
        report.created += len(new_nodes)
        geometry_changed |= bool(new_nodes)
    report.updated = len(changed)
    if not report.dry_run:
        update_regions(changed, WRITTEN_FIELDS)
    return geometry_changed


def import_geojson(data: dict | bytes | str, *, source: str = DEFAULT_SOURCE,
                   dry_run: bool = False, origin: str = "") -> ImportReport:
    """Validate a FeatureCollection of communities/grids and, if all is well, write it.

    ``source`` tags the written nodes; ``origin`` (a file name, an upload) goes to the audit
    record. The report's ``errors`` name each bad feature by its 0-based index and code; when
    there are any, nothing is written. A dry run validates and counts but writes nothing.
    """
    if len(source) > SOURCE_MAX:
        raise ValueError(f"source tag is longer than {SOURCE_MAX} characters: {source!r}")
    report = ImportReport(origin=origin or source, dry_run=dry_run)
    with transaction.atomic():
        features = read_features(data, report)
        if features is None:
            return report
        report.total = len(features)
        ctx = validate(features, report)
        if report.errors:
            return report
        geometry_changed = write(ctx, report, source)
        if dry_run or not report.changed:
            return report
        if geometry_changed:
            bump_geometry_revision()
        record("regions.import_geojson", object_type="regions.region",
               detail={**report.counts(), "source": source, "origin": origin})
    return report
