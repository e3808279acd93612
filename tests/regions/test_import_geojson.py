"""GeoJSON import of communities and grids: ``import_geojson`` and ``wangge import-geojson``.

The ``tree`` fixture: street 370102001 is the box (117.00, 36.60)-(117.04, 36.62); community
…001 its west half, …002 its east half, each split into a south grid …001 and a north grid …002.
Street 370102002 and its community 370102002001 have no polygon.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import box, collection, feature
from wangge.audit.models import AuditRecord
from wangge.regions.importers import import_geojson
from wangge.regions.models import Level, Region
from wangge.regions.tree import geometry_revision

pytestmark = pytest.mark.django_db

# A new community under the polygon-less street 370102002, and its two grids side by side.
NEW_COMMUNITY = box(117.20, 36.60, 117.22, 36.62)
NEW_WEST_GRID = box(117.20, 36.60, 117.21, 36.62)
NEW_EAST_GRID = box(117.21, 36.60, 117.22, 36.62)


def new_community_file() -> dict:
    """Grids first, their community last: the importer must order by level itself."""
    return collection(
        feature("370102002002001", "370102002002", "grid", NEW_WEST_GRID,
                households=120, grid_type="residential"),
        feature("370102002002002", 370102002002, 6, NEW_EAST_GRID, households=0,
                grid_type="rural"),
        feature("370102002002", "370102002", "community", NEW_COMMUNITY, name="新社区"),
    )


def audits() -> int:
    return AuditRecord.objects.filter(action="regions.import_geojson").count()


def snapshot() -> list[tuple]:
    return list(Region.objects.order_by("code").values_list(
        "code", "name", "geometry", "attributes", "updated_at"))


def errors_of(data) -> list[str]:
    report = import_geojson(data, source="test")
    assert not report.ok, "expected the import to be refused"
    return report.error_lines()


def only_error(data) -> str:
    lines = errors_of(data)
    assert len(lines) == 1, lines
    return lines[0]


# --- happy paths ---------------------------------------------------------------------------

def test_new_community_and_grids_are_created_under_their_parents(tree):
    revision = geometry_revision()

    report = import_geojson(new_community_file(), source="survey-2024")

    assert report.ok, report.error_lines()
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    community = Region.objects.get(code="370102002002")
    assert (community.name, community.level, community.parent.code) == (
        "新社区", Level.COMMUNITY, "370102002")
    assert community.path == "37.3701.370102.370102002.370102002002."
    grid = Region.objects.get(code="370102002002002")
    assert grid.parent == community and grid.level == Level.GRID
    assert grid.attributes == {"households": 0, "grid_type": "rural"}
    assert grid.source == "survey-2024"
    assert (grid.min_lon, grid.max_lon) == (117.21, 117.22)
    assert grid.centroid_lat == pytest.approx(36.61)
    assert geometry_revision() == revision + 1
    assert audits() == 1


def test_reimporting_the_same_file_changes_nothing(tree):
    import_geojson(new_community_file(), source="survey-2024")
    before, revision = snapshot(), geometry_revision()

    report = import_geojson(json.dumps(new_community_file()).encode(), source="survey-2024")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert report.summary("features") == "no changes: 3 features already up to date"
    assert snapshot() == before
    assert geometry_revision() == revision and audits() == 1


def test_existing_grid_is_updated_and_keeps_other_attributes(tree):
    grid = tree["370102001001001"]
    Region.objects.filter(pk=grid.pk).update(attributes={**grid.attributes, "note": "河边"})
    revision = geometry_revision()
    data = collection(
        feature("370102001001001", "370102001001", 6, box(117.00, 36.60, 117.02, 36.61),
                name="西社区滨河网格", households=450),
        feature("370102001001002", "370102001001", 6, box(117.00, 36.61, 117.02, 36.62),
                name="西社区第二网格"),
    )

    report = import_geojson(data, source="test")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    grid.refresh_from_db()
    assert grid.name == "西社区滨河网格"
    assert grid.attributes == {"households": 450, "grid_type": "residential", "note": "河边"}
    # The boundary is the same, so cached locate indexes need not rebuild.
    assert geometry_revision() == revision


def test_redrawn_siblings_do_not_overlap_their_own_old_boundaries(tree):
    """Moving the line between two stored grids replaces both; the old shapes don't count."""
    revision = geometry_revision()
    data = collection(
        feature("370102001001001", "370102001001", 6, box(117.00, 36.60, 117.02, 36.615)),
        feature("370102001001002", "370102001001", 6, box(117.00, 36.615, 117.02, 36.62)),
    )

    report = import_geojson(data, source="test")

    assert report.ok, report.error_lines()
    assert report.updated == 2
    assert Region.objects.get(code="370102001001001").max_lat == 36.615
    assert geometry_revision() == revision + 1


def test_dry_run_reports_what_would_change_and_writes_nothing(tree, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(new_community_file(), ensure_ascii=False), encoding="utf-8")
    before, revision = snapshot(), geometry_revision()
    out = StringIO()

    call_command("import_geojson", str(path), "--dry-run", stdout=out)

    assert "dry run, nothing written: would create 3" in out.getvalue()
    assert snapshot() == before and geometry_revision() == revision and audits() == 0


def test_command_imports_a_file(tree, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(new_community_file(), ensure_ascii=False), encoding="utf-8")
    out = StringIO()

    call_command("import_geojson", str(path), stdout=out)

    assert "created 3, updated 0, unchanged 0 (3 features)" in out.getvalue()
    assert Region.objects.filter(parent__code="370102002002").count() == 2
    assert str(path) in AuditRecord.objects.get(action="regions.import_geojson").detail


def test_sliver_below_the_tolerance_is_accepted_and_zero_tolerance_refuses_it(tree, settings):
    # 1e-9° of latitude (about 0.1 mm) across a 2 km wide grid: ~0.2 m² of overlap.
    sliver = collection(feature("370102001001003", "370102001001", 6,
                                box(117.00, 36.62 - 1e-9, 117.02, 36.62)))
    settings.GRID_OVERLAP_TOLERANCE_M2 = 0.0
    assert "overlaps sibling grid 370102001001002" in only_error(sliver)

    settings.GRID_OVERLAP_TOLERANCE_M2 = 1.0
    assert import_geojson(sliver, source="test").created == 1


# --- all or nothing ---------------------------------------------------------------------------

def test_one_bad_feature_among_good_ones_leaves_the_tree_unchanged(tree):
    data = new_community_file()
    data["features"].append(feature("370102001002001", "370102001002", 6,
                                    box(117.02, 36.60, 117.04, 36.61), households=-3))
    before, revision = snapshot(), geometry_revision()

    lines = errors_of(data)

    assert lines == ["feature 3 (0-based index), code 370102001002001: attributes: households "
                     "must be a whole number ≥ 0, not -3"]
    assert snapshot() == before and geometry_revision() == revision and audits() == 0


def test_command_prints_every_problem_one_per_line_and_fails(tree, tmp_path):
    data = new_community_file()
    data["features"][0]["properties"]["attributes"]["grid_type"] = "industrial"
    data["features"][1]["geometry"] = None
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    err = StringIO()

    with pytest.raises(CommandError, match="2 problems found; nothing was written"):
        call_command("import_geojson", str(path), stderr=err)

    assert err.getvalue().strip().splitlines() == [
        "feature 0 (0-based index), code 370102002002001: attributes: unknown grid_type "
        "'industrial' (one of residential, commercial, rural, dedicated)",
        "feature 1 (0-based index), code 370102002002002: missing geometry",
    ]
    assert not Region.objects.filter(code__startswith="370102002002").exists()


# --- each refusal -------------------------------------------------------------------------------

def test_not_a_feature_collection(tree):
    assert only_error(feature("370102002002", "370102002", 5, NEW_COMMUNITY)) == (
        "file: is not a GeoJSON FeatureCollection (type is 'Feature')")
    assert "file: is not valid JSON" in only_error(b'{"type": "FeatureCollection",')


def test_feature_without_properties(tree):
    data = collection({"type": "Feature", "geometry": NEW_COMMUNITY})
    assert only_error(data) == "feature 0 (0-based index): has no properties object"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("code", None, "missing property code"),
    ("code", "  ", "property code is empty"),
    ("name", "", "property name is empty"),
    ("parent_code", None, "missing property parent_code"),
    ("code", ["370102002002"], "property code must be text, not list"),
    ("level", "village", "unknown level 'village'"),
    ("level", 4, "unknown level 4"),
    ("level", [5], "unknown level [5]"),
    ("level", True, "unknown level True"),
])
def test_missing_or_bad_properties(tree, key, value, message):
    f = feature("370102002002", "370102002", 5, NEW_COMMUNITY)
    if value is None:
        del f["properties"][key]
    else:
        f["properties"][key] = value

    lines = errors_of(collection(f))

    assert any(line.startswith("feature 0 (0-based index)") and message in line
               for line in lines), lines


def test_unknown_parent(tree):
    data = collection(feature("370102001009001", "370102001009", 6,
                              box(117.00, 36.60, 117.01, 36.61)))
    assert only_error(data) == (
        "feature 0 (0-based index), code 370102001009001: unknown parent 370102001009 "
        "(not in the database nor in this file)")


def test_parent_at_the_wrong_level(tree):
    grid_under_street = feature("370102002009", "370102002", 6, NEW_WEST_GRID)
    community_under_community = feature("370102002001009", "370102002001", 5, NEW_EAST_GRID)

    lines = errors_of(collection(grid_under_street, community_under_community))

    assert lines == [
        "feature 0 (0-based index), code 370102002009: parent 370102002 is a township; "
        "a grid's parent must be a community",
        "feature 1 (0-based index), code 370102002001009: parent 370102002001 is a community; "
        "a community's parent must be a township",
    ]


def test_duplicate_code_in_the_file(tree):
    data = new_community_file()
    data["features"].append(feature("370102002002001", "370102002002", 6, NEW_WEST_GRID))
    assert only_error(data) == (
        "feature 3 (0-based index), code 370102002002001: duplicate code: also used by "
        "feature 0")


@pytest.mark.parametrize("code", ["370102002001", "370102002999001"])
def test_code_not_under_its_parent(tree, code):
    # Equal to the parent's code, or starting with another community's code.
    lines = errors_of(collection(feature(code, "370102002001", 6, NEW_WEST_GRID)))
    assert any(f"code {code}: code is not under its parent's code 370102002001 "
               "(must start with it and be longer)" in line for line in lines), lines


def test_code_stored_at_another_level(tree):
    data = collection(feature("370102002001", "370102002", 6, NEW_WEST_GRID))
    assert any("code 370102002001: already in the tree as a community, not a grid" in line
               for line in errors_of(data))


@pytest.mark.parametrize(("geometry", "message"), [
    (None, "missing geometry"),
    ({"type": "Point", "coordinates": [117.2, 36.6]},
     "geometry type 'Point' is not Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": [[[117.2, 36.6], [117.3]]]}, "malformed Polygon"),
    ({"type": "Polygon", "coordinates": [[[117.20, 36.60], [117.22, 36.62], [117.22, 36.60],
                                          [117.20, 36.62], [117.20, 36.60]]]},
     "invalid polygon: Self-intersection[117.21 36.61]"),
    (box(500_000, 4_050_000, 502_000, 4_052_000),
     "coordinates outside lon/lat range (lon -180..180, lat -90..90), e.g. [500000.0, "
     "4050000.0]"),
])
def test_bad_geometry(tree, geometry, message):
    line = only_error(collection(feature("370102002002", "370102002", 5, geometry)))
    assert line.startswith("feature 0 (0-based index), code 370102002002: ")
    assert message in line


def test_null_attributes_count_as_none(tree):
    f = feature("370102002002", "370102002", "5", NEW_COMMUNITY)
    f["properties"]["attributes"] = None
    report = import_geojson(collection(f), source="test")
    assert report.ok, report.error_lines()
    assert Region.objects.get(code="370102002002").attributes == {}


def test_multipolygon_is_accepted(tree):
    two_parts = {"type": "MultiPolygon", "coordinates": [
        box(117.20, 36.60, 117.21, 36.61)["coordinates"],
        box(117.30, 36.60, 117.31, 36.61)["coordinates"]]}
    report = import_geojson(collection(feature("370102002002", "370102002", 5, two_parts)),
                            source="test")
    assert report.created == 1


def test_grid_overlapping_a_stored_sibling(tree):
    # Inside the west community, over the stored south grid 370102001001001.
    data = collection(feature("370102001001003", "370102001001", 6,
                              box(117.00, 36.60, 117.01, 36.605)))

    line = only_error(data)

    assert line.startswith("feature 0 (0-based index), code 370102001001003: overlaps sibling "
                           "grid 370102001001001 (already in the database) by ")
    # 0.01° x 0.005° at 36.6°N is about 893 m x 556 m.
    area = float(line.split(" by ")[1].split(" m²")[0].replace(",", ""))
    assert area == pytest.approx(496_000, rel=0.01)


def test_grids_overlapping_each_other_in_the_file(tree):
    data = new_community_file()
    data["features"][1]["geometry"] = box(117.205, 36.60, 117.22, 36.62)

    line = only_error(data)

    assert line.startswith("feature 0 (0-based index), code 370102002002001: overlaps sibling "
                           "grid 370102002002002 (feature 1) by ")


def test_grids_sharing_edges_do_not_overlap(tree):
    # East community's south grid as stored: it shares an edge with its sibling to the north
    # and with the west community's grid; a shared edge is no overlap.
    data = collection(feature("370102001002001", "370102001002", 6,
                              box(117.02, 36.60, 117.04, 36.61), name="东社区第一网格"))
    report = import_geojson(data, source="test")
    assert report.ok, report.error_lines()
    assert report.unchanged == 1


def test_grid_outside_its_community(tree):
    data = new_community_file()
    data["features"][1]["geometry"] = box(117.21, 36.60, 117.23, 36.62)

    line = only_error(data)

    assert line.startswith("feature 1 (0-based index), code 370102002002002: extends ")
    assert "m² outside its parent 370102002002's boundary (tolerance 1.0 m²)" in line


def test_community_outside_its_street(tree):
    data = collection(feature("370102001003", "370102001", 5, box(117.03, 36.60, 117.05, 36.62)))
    line = only_error(data)
    assert "code 370102001003: extends " in line
    assert "outside its parent 370102001's boundary" in line


@pytest.mark.parametrize(("attributes", "message"), [
    ({"households": -1}, "households must be a whole number ≥ 0, not -1"),
    ({"households": "420"}, "households must be a whole number ≥ 0, not '420'"),
    ({"households": 12.5}, "households must be a whole number ≥ 0, not 12.5"),
    ({"households": True}, "households must be a whole number ≥ 0, not True"),
    ({"grid_type": "industrial"}, "unknown grid_type 'industrial'"),
    ("residential", "attributes must be an object, not str"),
])
def test_bad_attributes(tree, attributes, message):
    f = feature("370102002002", "370102002", 5, NEW_COMMUNITY)
    f["properties"]["attributes"] = attributes
    assert message in only_error(collection(f))
