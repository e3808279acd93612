"""Department imports (service): mapping, the row report, the one transaction, idempotence,
placement, file formats, and who may import into which dataset."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone, translation
from openpyxl import Workbook

from tests.factories import box, make_user
from tests.registry_factories import ID_A, ID_B, ID_C, make_dataset
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.catalog.fields import clean_value
from wangge.core.tables import UnreadableTable
from wangge.privacy.blind import blind_index
from wangge.privacy.idnumbers import check_character
from wangge.regions.models import Level
from wangge.regions.services import create_region
from wangge.registry import records
from wangge.registry.imports import service
from wangge.registry.imports.mapping import suggest
from wangge.registry.imports.sealing import Sealer
from wangge.registry.models import (
    Building,
    ImportRun,
    ImportSource,
    Person,
    RunStatus,
    SourceRecord,
)


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are checked in English (their msgids); the platform defaults to Chinese."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        yield


HEADER = ["姓名", "公民身份号码", "联系电话", "现住址", "所属网格"]
GOOD = [
    ["张三", ID_A, "13812345678", "历下区解放路1号3号楼2单元501室", "370102001001001"],
    ["李四", ID_B, "0531-86012345", "历下区解放路2号", "370102001001002"],
    ["王五", ID_C, "", "历下区解放路3号", "370102001002001"],
]


def write_csv(tmp_path: Path, rows: list[list[str]], name: str = "list.csv",
              encoding: str = "utf-8-sig") -> Path:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path = tmp_path / name
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[list], name: str = "list.xlsx") -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def plan(dataset, path: Path, source: str = "街道摸排") -> service.Plan:
    from wangge.core.tables import read_header

    return service.propose_plan(dataset, source, read_header(path))


def run_import(steward, dataset, path, *, skip_bad=False, source="街道摸排", **kw):
    return service.import_file(steward, plan(dataset, path, source), path, path.name,
                               skip_bad=skip_bad, **kw)


@pytest.fixture
def other_district(tree):
    """历城区 with one grid, outside the steward's district."""
    district = create_region(code="370112", name="历城区", level=Level.COUNTY,
                             parent=tree["3701"], audit=False)
    street = create_region(code="370112001", name="山大路街道", level=Level.TOWNSHIP,
                           parent=district, audit=False)
    community = create_region(code="370112001001", name="北社区", level=Level.COMMUNITY,
                              parent=street, audit=False)
    return create_region(code="370112001001001", name="北社区第一网格", level=Level.GRID,
                         parent=community, geometry=box(117.20, 36.60, 117.22, 36.61),
                         audit=False)


# -- mapping ----------------------------------------------------------------------------------


def test_headers_are_suggested_from_synonyms_and_the_saved_mapping_is_reused(
        steward, elderly_list, tmp_path):
    headers = ["姓名", "身份证号", "手机号", "居住地址", "网格编码", "备注"]
    proposed = service.propose_plan(elderly_list, "街道摸排", headers)
    assert proposed.mapping == {"姓名": "name", "身份证号": "id_number", "手机号": "phone",
                                "居住地址": "address", "网格编码": "grid_code", "备注": ""}
    assert proposed.key_column == "身份证号"
    # Fields the dataset does not carry are not suggested; each field once.
    assert suggest(["证件号码", "公民身份号码", "性别"], ["id_number"]) == {
        "证件号码": "id_number", "公民身份号码": "", "性别": ""}

    # The steward maps 备注 to nothing and the address from another column; saved on commit.
    path = write_csv(tmp_path, [["姓名", "身份证号", "手机号", "家庭住址", "所属网格"],
                                *[row[:5] for row in GOOD]])
    chosen = service.propose_plan(elderly_list, "街道摸排", ["姓名", "身份证号", "手机号",
                                                          "家庭住址", "所属网格"])
    chosen.mapping["家庭住址"] = "address"
    run = service.import_file(steward, chosen, path, path.name)
    assert run.status == RunStatus.DONE, run.error
    source = ImportSource.objects.get(dataset=elderly_list, name="街道摸排")
    assert source.mapping["家庭住址"] == "address"
    assert source.key_field == ""  # the ID number column: the documented default

    # Next time the same source maps itself, even where no synonym would have.
    again = service.propose_plan(elderly_list, "街道摸排",
                                 ["姓名", "身份证号", "手机号", "家庭住址", "所属网格"])
    assert again.mapping == source.mapping
    # Another source of the same dataset starts from suggestions.
    other = service.propose_plan(elderly_list, "社区上报",
                                 ["姓名", "身份证号", "手机号", "家庭住址", "所属网格"])
    assert other.mapping["家庭住址"] == "address"  # a synonym too


def test_a_field_mapped_twice_or_a_required_field_unmapped_is_refused_naming_it(
        steward, elderly_list, tmp_path):
    path = write_csv(tmp_path, [["姓名", "身份证号", "证件号码"], ["张三", ID_A, ID_A]])
    twice = service.Plan(elderly_list, "s", {"姓名": "name", "身份证号": "id_number",
                                             "证件号码": "id_number"}, "身份证号")
    with pytest.raises(service.MappingRefused) as exc:
        service.validate(steward, twice, path, path.name)
    assert [p.field for p in exc.value.problems] == ["id_number"]
    assert "ID number" in exc.value.problems[0].message  # the field's label
    assert "证件号码" in exc.value.problems[0].message

    unmapped = service.Plan(elderly_list, "s", {"姓名": "", "身份证号": "id_number"},
                            "身份证号")
    with pytest.raises(service.MappingRefused) as exc:
        service.validate(steward, unmapped, path, path.name)
    assert [p.field for p in exc.value.problems] == ["name"]
    assert "full name is required" in exc.value.problems[0].message

    no_key = service.Plan(elderly_list, "s", {"姓名": "name"}, "")
    with pytest.raises(service.MappingRefused) as exc:
        service.import_file(steward, no_key, path, path.name)
    assert [p.field for p in exc.value.problems] == ["key"]
    assert not ImportRun.objects.exists()
    assert not SourceRecord.objects.exists()


# -- the row report ---------------------------------------------------------------------------


BAD_ID = ID_A[:-1] + "3"  # the check character of ID_A is X


def valid_id(first17: str) -> str:
    return first17 + check_character(first17)


def test_bad_rows_are_named_by_row_column_and_reason(hukou, police_steward, other_district,
                                                     tmp_path):
    first, second = valid_id("37010219900101001"), valid_id("37010219700101001")
    rows = [
        ["姓名", "公民身份号码", "联系电话", "出生日期", "所属网格"],
        ["张三", BAD_ID, "13812345678", "1985-03-07", "370102001001001"],  # 2: check digit
        ["李四", ID_B, "12345", "1946-07-15", "370102001001001"],  # 3: phone
        ["王五", ID_C, "", "1952-02-30", "370102001001001"],  # 4: date
        ["", valid_id("37010219800101001"), "", "", "370102001001001"],  # 5: name required
        ["周九", first, "", "", "370102001002002"],  # 6: good
        ["赵六", first, "", "", "370102001001002"],  # 7: same key as row 6
        ["", "", "", "", ""],  # 8: blank, counted but not a row
        ["钱七", second, "", "", "370102009009009"],  # 9: unknown grid
        ["孙八", valid_id("37010219600101001"), "", "", "370112001001001"],  # 10: elsewhere
        ["吴十", second, "", "", "370102001002001"],  # 11: good (row 9 was bad)
    ]
    path = write_csv(tmp_path, rows)
    report = service.validate(police_steward, plan(hukou, path), path, path.name)
    found = {(p.row, p.column, p.field) for p in report.problems}
    assert found == {
        (2, "公民身份号码", "id_number"), (3, "联系电话", "phone"), (4, "出生日期", "birth_date"),
        (5, "姓名", "name"), (7, "公民身份号码", "id_number"), (9, "所属网格", "grid_code"),
        (10, "所属网格", "grid_code")}
    reasons = {p.row: p.message for p in report.problems}
    assert "check digit should be" in reasons[2]
    assert "mobile number" in reasons[3]
    assert "date" in reasons[4]
    assert "required" in reasons[5]
    assert "row 6" in reasons[7]
    assert "not the code of any grid" in reasons[9]
    assert "outside your area" in reasons[10]
    assert (report.rows, report.bad_rows, report.created) == (9, 7, 2)
    for p in report.problems:  # no personal value in the report
        assert BAD_ID[:10] not in p.message and "12345" not in p.message
        assert first[:10] not in p.message


def test_a_point_outside_every_grid_and_a_list_for_grids_without_one(steward, elderly_list,
                                                                     tmp_path):
    dataset = make_dataset("mz-points", elderly_list.department,
                           ("name", "id_number", "lon", "lat"), flows_down=True)
    rows = [["姓名", "身份证号", "经度", "纬度"],
            ["张三", ID_A, "117.01", "36.605"],  # in 370102001001001
            ["李四", ID_B, "116.50", "36.605"],  # nowhere
            ["王五", ID_C, "", ""]]  # no grid, but the list goes to grids
    path = write_csv(tmp_path, rows)
    report = service.validate(steward, plan(dataset, path), path, path.name)
    assert {(p.row, p.field) for p in report.problems} == {(3, "lon"), (4, "grid_code")}
    assert "outside every grid" in next(p.message for p in report.problems if p.row == 3)
    run = run_import(steward, dataset, path, skip_bad=True)
    placed = SourceRecord.objects.get(dataset=dataset)
    assert placed.region.code == "370102001001001"
    assert run.created == 1


def test_rows_without_grid_code_find_their_grid_by_building_address(steward, hukou,
                                                                    police_steward, tree,
                                                                    tmp_path):
    Building.objects.create(name="3号楼", address="历下区解放路1号3号楼",
                            region=tree["370102001002002"])
    rows = [["姓名", "公民身份号码", "现住址"],
            ["张三", ID_A, "历下区解放路1号3号楼2单元501室"],
            ["李四", ID_B, "历下区别处9号"]]
    path = write_csv(tmp_path, rows)
    run = run_import(police_steward, hukou, path)
    assert run.status == RunStatus.DONE, run.error
    regions = dict(SourceRecord.objects.values_list("masked__name", "region__code"))
    assert regions == {"张*": "370102001002002", "李*": None}


# -- commit -----------------------------------------------------------------------------------


def test_commit_with_bad_rows_is_refused_unless_skipping_them_is_chosen(steward, elderly_list,
                                                                        tmp_path):
    rows = [HEADER, GOOD[0], ["李四", BAD_ID, "", "", "370102001001002"], GOOD[2]]
    path = write_csv(tmp_path, rows)
    run = run_import(steward, elderly_list, path)
    assert run.status == RunStatus.REFUSED
    assert run.problem_count == 1 and run.problems[0]["row"] == 3
    assert run.created == 0
    assert not SourceRecord.objects.exists()  # nothing written, not even the good rows
    assert not AuditRecord.objects.filter(action="registry.import").exists()
    assert ImportSource.objects.get(name="街道摸排").mapping == {}  # not saved either

    run = run_import(steward, elderly_list, path, skip_bad=True)
    assert run.status == RunStatus.DONE
    assert (run.created, run.problem_count) == (2, 1)
    assert SourceRecord.objects.count() == 2
    audit = AuditRecord.objects.get(action="registry.import")
    detail = json.loads(audit.detail)
    assert detail["created"] == 2 and detail["skipped_bad_rows"] == 1
    assert detail["sha256"] == run.sha256 and detail["file"] == "list.csv"
    assert detail["dataset"] == elderly_list.code
    assert ID_A not in audit.detail and ID_A.lower() not in audit.detail


def test_rows_are_sealed_keyed_by_blind_index_and_placed(steward, elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    run = run_import(steward, elderly_list, path)
    assert run.status == RunStatus.DONE, run.error
    assert (run.created, run.updated, run.unchanged) == (3, 0, 0)
    row = SourceRecord.objects.get(id_number_index=blind_index("id_number", ID_A))
    assert row.key == blind_index("id_number", ID_A)  # never the clear number
    assert ID_A not in row.key and ID_A not in row.payload_cipher
    assert records.open_values(row) == {
        "name": "张三", "id_number": ID_A, "phone": "13812345678",
        "address": "历下区解放路1号3号楼2单元501室", "grid_code": "370102001001001"}
    assert row.masked["id_number"] == "3701**********211X"
    assert row.region.code == "370102001001001"
    assert row.region_path == row.region.path
    assert row.import_run_id == run.pk and row.person_id is None
    assert not Path(run.stored_path or "/nonexistent").exists()  # the copy is gone


def test_reimporting_the_same_file_changes_nothing_and_a_changed_row_is_updated(
        steward, elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    first = run_import(steward, elderly_list, path)
    before = {r.key: (r.row_hash, r.payload_cipher, r.import_run_id, r.observed_at,
                      r.updated_at) for r in SourceRecord.objects.all()}
    again = run_import(steward, elderly_list, path)
    assert again.status == RunStatus.DONE
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert {r.key: (r.row_hash, r.payload_cipher, r.import_run_id, r.observed_at,
                    r.updated_at)
            for r in SourceRecord.objects.all()} == before  # nothing written at all
    dry = service.validate(steward, plan(elderly_list, path), path, path.name)
    assert (dry.created, dry.updated, dry.unchanged) == (0, 0, 3)

    changed = [HEADER, GOOD[0], [*GOOD[1][:2], "13900001111", *GOOD[1][3:]], GOOD[2]]
    path2 = write_csv(tmp_path, changed, name="list2.csv")
    third = run_import(steward, elderly_list, path2)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    row = SourceRecord.objects.get(id_number_index=blind_index("id_number", ID_B))
    assert records.open_values(row)["phone"] == "13900001111"
    assert row.import_run_id == third.pk and row.observed_at > first.created_at
    assert SourceRecord.objects.count() == 3


def test_in_a_dataset_with_retention_a_relisted_row_is_marked_as_seen_again(
        steward, elderly_list, tmp_path):
    elderly_list.retention_days = 365
    elderly_list.save(update_fields=["retention_days"])
    path = write_csv(tmp_path, [HEADER, *GOOD])
    run_import(steward, elderly_list, path)
    SourceRecord.objects.update(observed_at=timezone.now() - datetime.timedelta(days=300))
    before = {r.key: (r.row_hash, r.payload_cipher, r.import_run_id)
              for r in SourceRecord.objects.all()}
    again = run_import(steward, elderly_list, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    # The values, their sealing and the run that wrote them stay; only "listed as of" moves.
    assert {r.key: (r.row_hash, r.payload_cipher, r.import_run_id)
            for r in SourceRecord.objects.all()} == before
    assert all(r.observed_at > timezone.now() - datetime.timedelta(minutes=5)
               for r in SourceRecord.objects.all())


def test_a_changed_row_refreshes_its_person(steward, elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    run_import(steward, elderly_list, path)
    row = SourceRecord.objects.get(id_number_index=blind_index("id_number", ID_B))
    person = Person.objects.create(region=row.region)
    row.person = person
    row.save(update_fields=["person"])
    changed = [HEADER, [*GOOD[1][:2], "13900001111", *GOOD[1][3:]]]
    run_import(steward, elderly_list, write_csv(tmp_path, changed, name="b.csv"))
    person.refresh_from_db()
    assert person.phone_masked == "139****1111"


def test_the_bulk_sealer_seals_exactly_as_records_seal():
    values = {code: clean_value(code, raw) for code, raw in {
        "name": "张 三", "id_number": ID_A.lower(), "phone": "+86 138 1234 5678",
        "address": "历下区解放路1号3号楼2单元501室", "sex": "男"}.items()}
    bulk, one = Sealer().seal(values), records.seal(values)
    assert (bulk.masked, bulk.id_number_index, bulk.phone_index, bulk.name_index,
            bulk.row_hash) == (one.masked, one.id_number_index, one.phone_index,
                               one.name_index, one.row_hash)
    row = SourceRecord(payload_cipher=bulk.payload_cipher)
    assert records.open_values(row) == values


# -- files ------------------------------------------------------------------------------------


def test_xlsx_and_gb18030_csv_import_alike(steward, elderly_list, tmp_path):
    xlsx = write_xlsx(tmp_path, [HEADER, *GOOD])
    run = run_import(steward, elderly_list, xlsx)
    assert run.status == RunStatus.DONE and run.created == 3
    gbk = write_csv(tmp_path, [HEADER, *GOOD], name="gbk.csv", encoding="gb18030")
    assert plan(elderly_list, gbk).mapping["姓名"] == "name"
    run = run_import(steward, elderly_list, gbk, source="另一来源")
    assert (run.created, run.unchanged) == (0, 3)  # the very same rows


def test_numbers_typed_into_workbook_cells_are_read_as_typed(steward, hukou, police_steward,
                                                              tmp_path):
    import datetime

    xlsx = write_xlsx(tmp_path, [["姓名", "公民身份号码", "联系电话", "出生日期"],
                                 ["张三", ID_A, 13812345678, datetime.datetime(1985, 3, 7)]])
    run = run_import(police_steward, hukou, xlsx)
    assert run.status == RunStatus.DONE, run.problems
    values = records.open_values(SourceRecord.objects.get())
    assert values["phone"] == "13812345678" and values["birth_date"] == "1985-03-07"


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("list.pdf", b"%PDF-1.4\x00\x01\x02binary", "not a CSV or XLSX"),
    ("list.csv", b"", "empty"),
    ("list.csv", b"\n\n\xe5\xbc\xa0\xe4\xb8\x89,1\n", "row 1 is empty"),
    ("list.xlsx", b"PK\x03\x04 broken zip", "XLSX"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", ".xls"),
    ("list.csv", "姓名,姓名\n张三,李四\n".encode(), "both headed"),
])
def test_malformed_files_get_a_clear_error(steward, elderly_list, tmp_path, name, content,
                                           expected):
    path = tmp_path / name
    path.write_bytes(content)
    proposed = service.Plan(elderly_list, "s", {"姓名": "name"}, "姓名")
    with pytest.raises(UnreadableTable) as exc:
        service.validate(steward, proposed, path, name)
    assert expected in str(exc.value)
    with pytest.raises(UnreadableTable):
        service.import_file(steward, proposed, path, name)
    assert not ImportRun.objects.exists()


# -- who --------------------------------------------------------------------------------------


def test_another_departments_dataset_is_missing_and_other_roles_are_refused(
        steward, police_steward, handler, grid_worker, elderly_list, hukou, tmp_path):
    assert service.get_dataset(steward, pk=elderly_list.pk) == elderly_list
    with pytest.raises(Http404):
        service.get_dataset(police_steward, pk=elderly_list.pk)
    with pytest.raises(Http404):
        service.get_dataset(steward, code=hukou.code)
    for user in (handler, grid_worker):
        with pytest.raises(PermissionDenied):
            service.get_dataset(user, pk=elderly_list.pk)
    path = write_csv(tmp_path, [HEADER, *GOOD])
    with pytest.raises(Http404):
        service.import_file(police_steward, plan(elderly_list, path), path, path.name)
    with pytest.raises(PermissionDenied):
        service.validate(grid_worker, plan(elderly_list, path), path, path.name)
    assert not SourceRecord.objects.exists()


def test_a_steward_elsewhere_cannot_place_rows_in_grids_outside_her_area(elderly_list,
                                                                         civil_affairs, tree,
                                                                         tmp_path):
    street_steward = make_user("mz_street", Role.STEWARD, tree["370102001001"], civil_affairs)
    path = write_csv(tmp_path, [HEADER, *GOOD])
    report = service.validate(street_steward, plan(elderly_list, path), path, path.name)
    assert [(p.row, p.field) for p in report.problems] == [(4, "grid_code")]
    assert "outside your area" in report.problems[0].message
