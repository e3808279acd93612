"""``wangge import-divisions``: the statistical division codes, province to township."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from wangge.audit.models import AuditRecord
from wangge.regions.importers import import_divisions
from wangge.regions.models import Level, Region
from wangge.regions.services import create_region

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "fixtures" / "divisions"
REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "divisions"
# The fixture: Beijing (11 > 市辖区 1101 > 东城区 > 4 streets) and Shandong (37 > 济南 3701,
# 青岛 3702 > 3 districts > 12 streets).
FIXTURE_NODES = 2 + 3 + 4 + 16


def audits() -> int:
    return AuditRecord.objects.filter(action="regions.import_divisions").count()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A writable copy of the fixture, for tests that break or change one file."""
    target = tmp_path / "divisions"
    shutil.copytree(FIXTURE, target)
    return target


def append_row(directory: Path, filename: str, line: str) -> None:
    with (directory / filename).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def replace_in(directory: Path, filename: str, old: str, new: str) -> None:
    path = directory / filename
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {filename}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run(directory: Path) -> str:
    out = StringIO()
    call_command("import_divisions", str(directory), stdout=out)
    return out.getvalue()


def test_fixture_loads_as_a_tree_with_paths():
    report = import_divisions(FIXTURE)

    assert report.ok
    assert (report.created, report.updated, report.unchanged) == (FIXTURE_NODES, 0, 0)
    assert Region.objects.count() == FIXTURE_NODES
    street = Region.objects.get(code="370102001")
    assert (street.name, street.level, street.parent.code) == ("解放路街道", Level.TOWNSHIP,
                                                               "370102")
    assert street.path == "37.3701.370102.370102001."
    assert [a.code for a in street.ancestors()] == ["37", "3701", "370102"]
    # A municipality's city level is called 市辖区 and is a real node with children.
    municipal = Region.objects.get(code="1101")
    assert municipal.name == "市辖区" and municipal.children.count() == 1
    assert Region.objects.filter(level=Level.TOWNSHIP).count() == 16


def test_one_audit_record_for_the_whole_import():
    import_divisions(FIXTURE)

    rec = AuditRecord.objects.get(action="regions.import_divisions")
    assert rec.object_type == "regions.region"
    assert '"created":25' in rec.detail
    assert str(FIXTURE.resolve()) in rec.detail


def test_second_run_changes_nothing_and_says_so():
    first = run(FIXTURE)
    stamps = dict(Region.objects.values_list("code", "updated_at"))

    second = run(FIXTURE)

    assert "created 25" in first
    assert f"no changes: {FIXTURE_NODES} nodes already up to date" in second
    assert dict(Region.objects.values_list("code", "updated_at")) == stamps
    assert audits() == 1


def test_renamed_code_is_updated_and_new_code_added(data_dir):
    import_divisions(data_dir)
    replace_in(data_dir, "streets.csv", '"解放路街道"', '"解放路新街道"')
    append_row(data_dir, "streets.csv", '370102099,"新设街道",370102,37,3701')

    report = import_divisions(data_dir)

    assert (report.created, report.updated, report.unchanged) == (1, 1, FIXTURE_NODES - 1)
    assert report.updated_codes == ["370102001"] and report.created_codes == ["370102099"]
    assert Region.objects.get(code="370102001").name == "解放路新街道"
    new = Region.objects.get(code="370102099")
    assert new.parent.code == "370102" and new.path == "37.3701.370102.370102099."
    assert audits() == 2


def test_import_over_an_existing_tree_keeps_communities_and_grids(tree):
    report = import_divisions(FIXTURE)

    # 37, 3701, 370102, 370102001 and 370102002 are already there with the same names.
    assert (report.created, report.unchanged) == (FIXTURE_NODES - 5, 5)
    street = Region.objects.get(code="370102001")
    assert street.pk == tree["370102001"].pk and street.geometry is not None
    assert street.children.count() == 2
    assert Region.objects.filter(level=Level.GRID).count() == 5


def test_dry_run_counts_but_writes_nothing():
    out = StringIO()
    call_command("import_divisions", str(FIXTURE), "--dry-run", stdout=out)

    assert "dry run, nothing written: would create 25" in out.getvalue()
    assert Region.objects.count() == 0 and audits() == 0


def test_byte_order_mark_from_spreadsheet_export_is_accepted(data_dir):
    path = data_dir / "provinces.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert import_divisions(data_dir).created == FIXTURE_NODES


# Each broken variant: (what to do to a copy of the fixture, fragments the error must contain).
def _drop_file(d):
    (d / "areas.csv").unlink()


def _drop_column(d):
    replace_in(d, "cities.csv", "code,name,provinceCode", "code,name")


def _unknown_parent(d):
    append_row(d, "streets.csv", '370199001,"无主街道",370199,37,3701')


def _short_code(d):
    append_row(d, "areas.csv", '37010,"短码区",3701,37')


def _letter_in_code(d):
    append_row(d, "areas.csv", '3701O4,"字母区",3701,37')


def _not_under_parent(d):
    append_row(d, "streets.csv", '370103099,"错挂街道",370102,37,3701')


def _duplicate(d):
    append_row(d, "streets.csv", '370102002,"重复街道",370102,37,3701')


def _empty_name(d):
    append_row(d, "provinces.csv", '36,""')


BROKEN = [
    pytest.param(_drop_file, ["areas.csv", "file not found"], id="missing-file"),
    pytest.param(_drop_column, ["cities.csv", "missing column provinceCode"],
                 id="missing-column"),
    pytest.param(_unknown_parent, ["streets.csv row 18", "code 370199001",
                                   "unknown parent code '370199'", "areaCode"],
                 id="unknown-parent"),
    pytest.param(_short_code, ["areas.csv row 6", "'37010'", "must be 6 digits"],
                 id="wrong-length"),
    pytest.param(_letter_in_code, ["areas.csv row 6", "'3701O4'", "must be 6 digits"],
                 id="non-digit"),
    pytest.param(_not_under_parent, ["streets.csv row 18", "code 370103099",
                                     "not under its parent's code 370102"],
                 id="not-under-parent"),
    pytest.param(_duplicate, ["streets.csv row 18", "code 370102002",
                              "duplicate code: already given in streets.csv row 7"],
                 id="duplicate"),
    pytest.param(_empty_name, ["provinces.csv row 4", "code 36", "name is empty"],
                 id="empty-name"),
]


@pytest.mark.parametrize(("breakage", "fragments"), BROKEN)
def test_bad_input_is_named_and_nothing_is_written(data_dir, breakage, fragments):
    breakage(data_dir)

    report = import_divisions(data_dir)

    assert not report.ok
    line = next((str(p) for p in report.errors if fragments[0] in str(p)), "")
    for fragment in fragments:
        assert fragment in line, (fragment, report.error_lines())
    assert Region.objects.count() == 0 and audits() == 0


def test_one_bad_row_leaves_an_existing_tree_untouched(data_dir):
    import_divisions(data_dir)
    replace_in(data_dir, "streets.csv", '"解放路街道"', '"解放路新街道"')
    append_row(data_dir, "streets.csv", '370102100,"新设街道",370102,37,3701')
    _unknown_parent(data_dir)

    report = import_divisions(data_dir)

    assert not report.ok and len(report.errors) == 1
    assert Region.objects.get(code="370102001").name == "解放路街道"
    assert not Region.objects.filter(code="370102100").exists()
    assert Region.objects.count() == FIXTURE_NODES and audits() == 1


def test_code_already_in_the_tree_at_another_level_is_refused(data_dir):
    create_region(code="3799", name="手工省", level=Level.PROVINCE, audit=False)
    append_row(data_dir, "cities.csv", '3799,"某市",37')

    report = import_divisions(data_dir)

    assert [str(p) for p in report.errors] == [
        "cities.csv row 5, code 3799: already in the tree at level 1, not 2"]
    assert Region.objects.count() == 1


def test_command_prints_every_problem_and_fails(data_dir):
    _unknown_parent(data_dir)
    _short_code(data_dir)
    err = StringIO()

    with pytest.raises(CommandError, match="2 problems found; nothing was written"):
        call_command("import_divisions", str(data_dir), stderr=err)

    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("areas.csv row 6") and lines[1].startswith("streets.csv row 18")


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason=f"{REAL_DATA} is not present")
def test_full_national_set_loads_once_and_then_is_up_to_date():
    first = import_divisions(REAL_DATA)
    assert first.ok, first.error_lines()[:5]
    assert first.created == 44_703
    counts = {level: Region.objects.filter(level=level).count()
              for level in (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)}
    assert counts == {1: 31, 2: 342, 3: 2_978, 4: 41_352}

    second = import_divisions(REAL_DATA)

    assert (second.created, second.updated, second.unchanged) == (0, 0, 44_703)
    assert second.summary() == "no changes: 44,703 nodes already up to date"
