"""Department imports through the pages, the API, the command and the worker: the steps a
steward sees, masked previews, commit once, background runs with progress, two workers."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from tests.factories import build_tree, make_user
from tests.registry.test_imports import BAD_ID, GOOD, HEADER, write_csv
from tests.registry_factories import ID_A, make_dataset, make_department
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.registry.imports import pipeline, progress, service, store
from wangge.registry.models import ImportRun, RunStatus, SourceRecord

INDEX = "/registry/imports/"
MAP = "/registry/imports/map/"
COMMIT = "/registry/imports/commit/"
API = "/api/v1/registry/imports"


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are checked in English (their msgids); the platform defaults to Chinese."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        yield


def client_for(user) -> Client:
    c = Client()
    c.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    c.force_login(user)
    return c


def upload(c: Client, dataset, path: Path, source: str = "街道摸排"):
    with path.open("rb") as handle:
        return c.post(INDEX, {"dataset": dataset.pk, "source": source, "file": handle})


def mapping_form(c: Client) -> dict:
    """What the mapping step pre-selected, as the form would post it back."""
    state = c.session[service_views().PLAN_KEY]
    data = {f"col-{i}": state["mapping"].get(h, "") for i, h in enumerate(state["headers"])}
    if state["key_column"]:
        data["key"] = str(state["headers"].index(state["key_column"]))
    return data


def service_views():
    from wangge.registry.imports import views

    return views


def token_of(c: Client) -> str:
    return c.session[service_views().PLAN_KEY]["token"]


# -- the page flow ----------------------------------------------------------------------------


def test_upload_map_check_and_commit_with_a_masked_preview(steward, elderly_list, tmp_path):
    c = client_for(steward)
    page = c.get(INDEX)
    assert page.status_code == 200 and "独居老人名单" in page.content.decode()
    rows = [HEADER, *GOOD, ["李四", BAD_ID, "", "", "370102001001002"]]
    resp = upload(c, elderly_list, write_csv(tmp_path, rows))
    assert resp.status_code == 302 and resp["Location"] == MAP
    page = c.get(MAP).content.decode()
    # Every header offered with the dataset's fields, suggested from synonyms.
    assert 'name="col-1"' in page and '<option value="id_number" selected>' in page

    resp = c.post(MAP, mapping_form(c))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert 'data-testid="count-rows">4<' in html and 'data-testid="count-created">3<' in html
    assert 'data-testid="count-bad">1<' in html
    assert "3701**********211X" in html and "张*" in html  # masked sample
    for clear in (ID_A, GOOD[0][2], "张三", GOOD[0][3], BAD_ID):
        assert clear not in html
    assert 'data-row="5" data-field="id_number"' in html and "check digit" in html
    report = c.get("/registry/imports/report.csv")
    text = report.content.decode("utf-8-sig")
    assert report.status_code == 200 and text.splitlines()[0] == "row,column,field,reason"
    assert "5,公民身份号码,id_number," in text and BAD_ID not in text

    token = token_of(c)
    refused = c.post(COMMIT, {"token": token})  # bad rows, and skipping them not ticked
    assert refused.status_code == 409 and "tick the box" in refused.content.decode()
    assert not SourceRecord.objects.exists() and not ImportRun.objects.exists()

    done = c.post(COMMIT, {"token": token, "skip_bad": "1"})
    run = ImportRun.objects.get()
    assert done.status_code == 302 and done["Location"] == f"{INDEX}runs/{run.pk}/"
    assert run.status == RunStatus.DONE and run.created == 3 and run.problem_count == 1
    assert SourceRecord.objects.count() == 3
    page = c.get(done["Location"]).content.decode()
    assert "3 created, 0 updated, 0 unchanged" in page and 'data-row="5"' in page
    assert BAD_ID not in page
    # The same preview committed again (a double click, a second tab): one import only.
    again = c.post(COMMIT, {"token": token, "skip_bad": "1"})
    assert again.status_code == 302 and again["Location"] == done["Location"]
    assert ImportRun.objects.count() == 1 and SourceRecord.objects.count() == 3
    csv_report = c.get(f"{INDEX}runs/{run.pk}/report.csv").content.decode("utf-8-sig")
    assert "5,公民身份号码,id_number" in csv_report


def test_mapping_a_field_twice_is_refused_before_any_row_is_read(steward, elderly_list,
                                                                 tmp_path):
    c = client_for(steward)
    upload(c, elderly_list, write_csv(tmp_path, [HEADER, *GOOD]))
    form = mapping_form(c)
    form["col-2"] = "id_number"  # 联系电话 as the ID number too
    resp = c.post(MAP, form)
    html = resp.content.decode()
    assert resp.status_code == 400
    assert 'data-field="id_number"' in html and "mapped from 2 columns" in html
    assert 'data-testid="preview"' not in html
    # The file stays staged: fix the mapping and check again.
    assert c.post(MAP, mapping_form(c) | {"col-2": "phone"}).status_code == 200


def test_other_departments_and_other_roles_are_refused(steward, police_steward, grid_worker,
                                                      elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    assert upload(client_for(police_steward), elderly_list, path).status_code == 404
    worker = client_for(grid_worker)
    assert worker.get(INDEX).status_code == 403
    assert upload(worker, elderly_list, path).status_code == 403
    run = service.import_file(steward, service.propose_plan(elderly_list, "s", HEADER), path,
                              path.name)
    assert client_for(police_steward).get(f"{INDEX}runs/{run.pk}/").status_code == 404
    assert worker.get(f"{INDEX}runs/{run.pk}/").status_code == 403
    assert not client_for(police_steward).get(INDEX).content.decode().count(path.name)


def test_a_malformed_upload_is_named_on_the_page(steward, elderly_list, tmp_path):
    c = client_for(steward)
    bad = tmp_path / "list.csv"
    bad.write_bytes("\n\n张三,1\n".encode())
    resp = upload(c, elderly_list, bad)
    assert resp.status_code == 400 and "row 1 is empty" in resp.content.decode()
    pdf = tmp_path / "list.pdf"
    pdf.write_bytes(b"%PDF")
    resp = upload(c, elderly_list, pdf)
    assert resp.status_code == 400 and "not a .csv or .xlsx" in resp.content.decode()
    assert c.get(MAP).status_code == 302  # nothing staged


# -- background runs --------------------------------------------------------------------------


def test_a_long_file_runs_in_the_background_with_progress(steward, elderly_list, tmp_path,
                                                          monkeypatch):
    monkeypatch.setattr(service, "BACKGROUND_ROWS", 2)
    c = client_for(steward)
    upload(c, elderly_list, write_csv(tmp_path, [HEADER, *GOOD]))
    c.post(MAP, mapping_form(c))
    resp = c.post(COMMIT, {"token": token_of(c)})
    run = ImportRun.objects.get()
    assert run.status == RunStatus.QUEUED and not SourceRecord.objects.exists()
    page = c.get(resp["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page and "htmx.min.js" in page
    assert "Waiting for the worker" in page

    assert service.run_queued() == 1  # the worker's job
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.created == 3
    assert SourceRecord.objects.count() == 3
    poll = c.get(f"{INDEX}runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert poll["HX-Refresh"] == "true"  # finished: the page reloads with the result
    assert 'hx-trigger' not in poll.content.decode()
    assert service.run_queued() == 0
    assert not list(service.files_dir().glob(f"{run.pk}.*"))  # the copy is gone


def test_a_run_whose_worker_died_is_marked_failed(steward, elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    run = service.create_run(steward, service.propose_plan(elderly_list, "s", HEADER), path,
                             path.name, skip_bad=False, queued=True)
    started = timezone.now() - service.STALE_RUN - timedelta(minutes=1)
    ImportRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=started)
    assert service.run_queued() == 0  # nothing queued, but the abandoned run is settled
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error and run.finished_at
    assert not SourceRecord.objects.exists()
    # A run that is merely long is left alone.
    ImportRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING,
                                               started_at=timezone.now())
    assert service.fail_abandoned_runs() == 0


def test_progress_is_visible_outside_the_transaction_while_it_runs(steward, elderly_list,
                                                                   tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    monkeypatch.setattr(progress, "WRITE_EVERY_SECONDS", 0)
    rows = [HEADER] + [[f"居民{chr(0x4e00 + i)}", pipeline_valid_id(i), "", "",
                        "370102001001001"] for i in range(7)]
    path = write_csv(tmp_path, rows)
    run = service.create_run(steward, service.propose_plan(elderly_list, "s", HEADER), path,
                             path.name, skip_bad=False, queued=True)
    seen = []
    insert = store.SqliteWriter.insert if connection.vendor == "sqlite" else \
        store.PostgresWriter.insert

    def watching(self, rows):
        seen.append(service.run_progress(ImportRun.objects.get(pk=run.pk)))
        return insert(self, rows)

    monkeypatch.setattr(store.SqliteWriter, "insert", watching)
    monkeypatch.setattr(store.PostgresWriter, "insert", watching)
    assert service.run_queued() == 1
    assert [s["status"] for s in seen] == ["running"] * 4
    assert [s["processed"] for s in seen][1:] == [2, 4, 6]
    assert all(s["total"] == 7 and not s["finished"] for s in seen)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.created == 7
    assert service.run_progress(run)["percent"] == 100


def pipeline_valid_id(i: int) -> str:
    from wangge.privacy.idnumbers import check_character

    first17 = f"37010219800101{i:03d}"
    return first17 + check_character(first17)


def test_a_failed_run_rolls_back_everything_and_says_why(steward, elderly_list, tmp_path,
                                                         monkeypatch):
    rows = [HEADER] + [[f"居民{chr(0x4e00 + i)}", pipeline_valid_id(i), "", "",
                        "370102001001001"] for i in range(5)]
    path = write_csv(tmp_path, rows)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    calls = []
    cls = store.SqliteWriter if connection.vendor == "sqlite" else store.PostgresWriter
    insert = cls.insert

    def failing(self, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise OSError("disk full")
        return insert(self, rows)

    monkeypatch.setattr(cls, "insert", failing)
    run = service.import_file(steward, service.propose_plan(elderly_list, "s", HEADER), path,
                              path.name, background=True)
    service.run_queued()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "disk full" in run.error
    assert not SourceRecord.objects.exists()  # the first chunk was rolled back too
    assert progress.read_progress(run.pk) is None


def test_two_claims_of_one_run_make_one_import(steward, elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    run = service.create_run(steward, service.propose_plan(elderly_list, "s", HEADER), path,
                             path.name, skip_bad=False, queued=True)
    assert service.claim(run.pk) is True
    assert service.claim(run.pk) is False
    assert service.run_queued() == 0  # nothing left queued for a second worker


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_import_a_queued_run_exactly_once(tmp_path):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("SQLite's shared in-memory test database can't serve concurrent writers; "
                    "the claim itself is tested above and on PostgreSQL here")
    tree = build_tree()
    department = make_department("mz", "民政局", tree["370102"])
    user = make_user("mz_steward", Role.STEWARD, tree["370102"], department)
    dataset = make_dataset("mz-list", department)
    path = write_csv(tmp_path, [HEADER, *GOOD])
    service.create_run(user, service.propose_plan(dataset, "s", HEADER), path, path.name,
                       skip_bad=False, queued=True)
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def work():
        try:
            barrier.wait()
            counts.append(service.run_queued())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(counts) == [0, 1]
    assert SourceRecord.objects.count() == 3
    assert ImportRun.objects.get().status == RunStatus.DONE


def test_a_long_file_is_prepared_by_a_process_pool_with_the_same_result(
        steward, elderly_list, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 3)
    monkeypatch.setattr(pipeline, "pool_size", lambda rows: 2)
    monkeypatch.setattr(service, "pool_size", lambda rows: 2)
    rows = [HEADER] + [[f"居民{chr(0x4e00 + i)}", pipeline_valid_id(i), "", "",
                        "370102001001001"] for i in range(10)]
    rows[4][1] = BAD_ID
    path = write_csv(tmp_path, rows)
    proposed = service.propose_plan(elderly_list, "s", HEADER)
    report = service.validate(steward, proposed, path, path.name)
    assert (report.rows, report.created, report.bad_rows) == (10, 9, 1)
    assert [p.row for p in report.problems] == [5]
    run = service.import_file(steward, proposed, path, path.name, skip_bad=True)
    assert (run.status, run.created) == (RunStatus.DONE, 9)
    assert SourceRecord.objects.filter(region__code="370102001001001").count() == 9


# -- the API ----------------------------------------------------------------------------------


def bearer(user, *scopes: str) -> dict:
    _token, secret = issue_token(None, username=user.username, name="dept system",
                                 scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def post_api(headers: dict, dataset, path: Path, **fields):
    with path.open("rb") as handle:
        return Client().post(API, {"file": handle, "dataset": dataset.code,
                                   "source": "接口", **fields}, **headers)


def test_api_dry_run_then_commit_then_status(steward, elderly_list, tmp_path):
    auth = bearer(steward, "registry:import")
    path = write_csv(tmp_path, [HEADER, *GOOD, ["李四", BAD_ID, "", "", ""]])
    dry = post_api(auth, elderly_list, path, dry_run="true")
    body = dry.json()
    assert dry.status_code == 200 and body["dry_run"] is True
    assert (body["rows"], body["created"], body["bad_rows"]) == (4, 3, 1)
    assert body["problems"] == [{"row": 5, "column": "公民身份号码", "field": "id_number",
                                 "message": body["problems"][0]["message"]}]
    assert ID_A not in dry.content.decode() and "3701**********211X" in dry.content.decode()
    assert not SourceRecord.objects.exists()

    refused = post_api(auth, elderly_list, path)
    assert refused.status_code == 422 and refused.json()["status"] == "refused"
    assert not SourceRecord.objects.exists()

    done = post_api(auth, elderly_list, path, skip_bad="true")
    run = done.json()
    assert done.status_code == 200 and run["status"] == "done" and run["created"] == 3
    status = Client().get(f"{API}/runs/{run['id']}", **auth)
    assert status.status_code == 200 and status.json()["problem_count"] == 1
    assert status.json()["percent"] == 100


def test_api_mapping_errors_name_the_field_and_the_scope_is_needed(steward, police_steward,
                                                                   elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    auth = bearer(steward, "registry:import")
    twice = post_api(auth, elderly_list, path,
                     mapping=json.dumps({"联系电话": "id_number"}), dry_run="1")
    assert twice.status_code == 422
    assert [e["field"] for e in twice.json()["errors"]] == ["id_number"]
    unknown = post_api(auth, elderly_list, path, mapping=json.dumps({"电邮": "phone"}))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "mapping"
    assert post_api(bearer(steward, "registry:read"), elderly_list, path).status_code == 403
    assert post_api(bearer(police_steward, "registry:import"), elderly_list,
                    path).status_code == 404
    assert not SourceRecord.objects.exists()


def test_api_long_file_is_queued_and_polled(steward, elderly_list, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "BACKGROUND_ROWS", 2)
    auth = bearer(steward, "registry:import")
    resp = post_api(auth, elderly_list, write_csv(tmp_path, [HEADER, *GOOD]))
    assert resp.status_code == 202 and resp.json()["status"] == "queued"
    service.run_queued()
    status = Client().get(f"{API}/runs/{resp.json()['id']}", **auth).json()
    assert status["status"] == "done" and status["created"] == 3


# -- the command ------------------------------------------------------------------------------


def test_command_imports_and_reports_rows(steward, elderly_list, tmp_path, capsys):
    path = write_csv(tmp_path, [HEADER, *GOOD, ["李四", BAD_ID, "", "", ""]])
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("registry_import", str(path), "--dataset", elderly_list.code,
                     "--source", "命令行", "--as", steward.username)
    assert not SourceRecord.objects.exists()
    call_command("registry_import", str(path), "--dataset", elderly_list.code, "--source",
                 "命令行", "--as", steward.username, "--skip-bad")
    out = capsys.readouterr().out
    assert "created 3" in out and "row 5 公民身份号码 (id_number)" in out and BAD_ID not in out
    assert SourceRecord.objects.count() == 3


def test_a_queued_run_of_a_steward_who_moved_department_imports_nothing(
        steward, police, elderly_list, tmp_path):
    path = write_csv(tmp_path, [HEADER, *GOOD])
    run = service.import_file(steward, service.propose_plan(elderly_list, "s", HEADER), path,
                              path.name, background=True)
    steward.department = police
    steward.save(update_fields=["department"])
    service.run_queued()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "no longer import" in run.error
    assert not SourceRecord.objects.exists()


def test_placement_lookups_between_chunks_do_not_stall_the_stream(steward, tree, elderly_list,
                                                                 tmp_path, monkeypatch):
    """On PostgreSQL new rows stream through one COPY across chunks; a query placement makes
    meanwhile (a grid code it does not know, the locate index's revision check) must end the
    COPY first instead of waiting for it forever."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    dataset = make_dataset("mz-mixed", elderly_list.department,
                           ("name", "id_number", "grid_code", "lon", "lat"))
    header = ["姓名", "身份证号", "网格编码", "经度", "纬度"]
    rows = [header]
    for i in range(8):
        code, lon, lat = "", "117.01", "36.605"
        if i % 3 == 1:
            code, lon, lat = f"37010200900900{i}", "", ""  # unknown: a lookup
        rows.append([f"居民{chr(0x4e00 + i)}", pipeline_valid_id(i), code, lon, lat])
    path = write_csv(tmp_path, rows)
    run = service.import_file(steward, service.propose_plan(dataset, "s", header), path,
                              path.name, skip_bad=True)
    assert run.status == RunStatus.DONE, run.error
    assert (run.created, run.problem_count) == (5, 3)
    assert set(SourceRecord.objects.filter(dataset=dataset).values_list(
        "region__code", flat=True)) == {"370102001001001"}
