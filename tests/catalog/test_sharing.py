"""Sharing by grant (共享审批) as the departments meet it: a request, its decision, reading
the rows under the grant (pages, API, CSV), expiry, refusal, withdrawal, revocation, and the
access log the owner's steward reads. Everything through the real services and pages."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from tests.factories import make_user
from tests.registry_factories import ID_A, ID_B, ID_C, add_record, make_dataset
from wangge.accounts.models import ApiToken
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.catalog import rows, service
from wangge.catalog.models import AccessLog, AccessRequest, RequestStatus, SharingClass
from wangge.notifications.models import Notification

pytestmark = pytest.mark.django_db

PURPOSE = "核对辖区内独居老人的户籍信息，开展冬季安全走访。"
CLEAR = (ID_A, ID_B, "13912345678", "王秀英", "李建国", "阳光花园3号楼2单元301")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def elderly_rows(tree, elderly_list):
    """Three rows of 民政局's list: two in the west community's first grid, one in its
    second."""
    return [
        add_record(elderly_list, "e1", {"name": "王秀英", "id_number": ID_B,
                                        "phone": "13912345678",
                                        "address": "济南市历下区阳光花园3号楼2单元301"},
                   region=tree["370102001001001"]),
        add_record(elderly_list, "e2", {"name": "李建国", "id_number": ID_C,
                                        "phone": "13800001111"},
                   region=tree["370102001001001"]),
        add_record(elderly_list, "e3", {"name": "张国强", "id_number": ID_A},
                   region=tree["370102001001002"]),
    ]


def client(user) -> Client:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    c.force_login(user)
    return c


def token_client(user, scopes: list[str]) -> tuple[Client, str]:
    secret, prefix, digest = ApiToken.new_secret()
    ApiToken.objects.create(user=user, name="app", prefix=prefix, digest=digest, scopes=scopes)
    c = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return c, prefix


def ask(user, dataset, **kwargs) -> AccessRequest:
    kwargs.setdefault("purpose", PURPOSE)
    return service.request_access(user, dataset, **kwargs)


def later(monkeypatch, delta: timedelta) -> None:
    """Let the platform's clock read ``delta`` from now (grants expire by the clock)."""
    real_now = timezone.now
    moment = real_now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moment)


def no_clear_values(text: str) -> None:
    for value in CLEAR:
        assert value not in text, f"{value} shown in clear"


# -- the whole way: request → approve → read → expiry → refused ---------------------------


def test_request_approve_read_then_expiry_refuses(police_handler, steward, elderly_rows,
                                                   elderly_list, monkeypatch):
    c = client(police_handler)
    page = c.get(f"/catalog/datasets/{elderly_list.code}/")
    assert 'data-status="none"' in page.content.decode()
    assert 'data-testid="request-access"' in page.content.decode()
    # Before any grant the rows are refused, saying what to do.
    refused = c.get(f"/catalog/datasets/{elderly_list.code}/records/")
    assert refused.status_code == 403 and "request access first" in refused.content.decode()

    resp = c.post(f"/catalog/datasets/{elderly_list.code}/request/",
                  {"purpose": PURPOSE, "days": "30"})
    assert resp.status_code == 302
    req = AccessRequest.objects.get()
    assert (req.status, req.days, req.fields, req.department) == (
        RequestStatus.PENDING, 30, [], police_handler.department)
    # The owner's steward is told; nobody else.
    assert list(Notification.objects.values_list("user__username", flat=True)) == [
        steward.username]

    resp = client(steward).post(f"/catalog/requests/{req.pk}/approve/", {"note": "同意"})
    assert resp.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert abs((req.expires_at - timezone.now()) - timedelta(days=30)) < timedelta(minutes=1)
    assert Notification.objects.filter(user=police_handler,
                                       subject__contains="approved").exists()

    page = c.get(f"/catalog/datasets/{elderly_list.code}/")
    assert 'data-status="live"' in page.content.decode()
    resp = c.get(f"/catalog/datasets/{elderly_list.code}/records/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert html.count('<tr data-key=') == 3 and "王*英" in html and "3701**********0022" in html
    no_clear_values(html)
    log = AccessLog.objects.get()
    assert (log.grant, log.user, log.department, log.channel, log.rows) == (
        req, police_handler, police_handler.department, "page", 3)

    # A day before expiry it still reads; a minute after, it is refused with the date.
    later(monkeypatch, timedelta(days=29))
    c.force_login(police_handler)  # a month on, the old session has expired
    assert c.get(f"/catalog/datasets/{elderly_list.code}/records/").status_code == 200
    later(monkeypatch, timedelta(days=30, minutes=1))
    c.force_login(police_handler)
    resp = c.get(f"/catalog/datasets/{elderly_list.code}/records/")
    assert resp.status_code == 403
    expired_on = service.when(req.expires_at)
    assert f"expired on {expired_on}" in resp.content.decode()
    api, _prefix = token_client(police_handler, ["catalog:read"])
    resp = api.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records")
    assert resp.status_code == 403 and expired_on in resp.json()["detail"]
    assert AccessLog.objects.count() == 2  # refusals read nothing and log nothing
    # Expired, the department may ask again.
    assert 'data-testid="request-access"' in c.get(
        f"/catalog/datasets/{elderly_list.code}/").content.decode()


def test_each_step_is_audited(police_handler, steward, elderly_list):
    req = ask(police_handler, elderly_list, days=10)
    service.decide(steward, req.pk, "approve")
    service.decide(steward, req.pk, "revoke", "用途已完成")
    actions = list(AuditRecord.objects.filter(action__startswith="catalog.request")
                   .order_by("seq").values_list("action", "actor"))
    assert actions == [("catalog.request.create", "ga_handler"),
                       ("catalog.request.approve", "mz_steward"),
                       ("catalog.request.revoke", "mz_steward")]
    created = AuditRecord.objects.get(action="catalog.request.create")
    assert created.purpose == PURPOSE and json.loads(created.detail)["days"] == 10


# -- refusals of a request ----------------------------------------------------------------------


def test_not_shared_datasets_cannot_be_requested(police_handler, civil_affairs):
    closed = make_dataset("mz-closed", civil_affairs, name="低保审核明细",
                          sharing_class=SharingClass.NONE)
    with pytest.raises(service.Forbidden, match="not shared"):
        ask(police_handler, closed)
    resp = client(police_handler).post(f"/catalog/datasets/{closed.code}/request/",
                                       {"purpose": PURPOSE, "days": "30"})
    assert resp.status_code == 403 and "not shared" in resp.content.decode()
    page = client(police_handler).get(f"/catalog/datasets/{closed.code}/").content.decode()
    assert 'data-status="closed"' in page and 'data-testid="request-access"' not in page
    assert not AccessRequest.objects.exists()


def test_open_own_and_second_pending_requests_are_refused(police_handler, handler, civil_affairs,
                                                          elderly_list):
    open_data = make_dataset("mz-orgs", civil_affairs, name="社会组织名录",
                             sharing_class=SharingClass.UNCONDITIONAL)
    with pytest.raises(service.Conflict, match="no request is needed"):
        ask(police_handler, open_data)
    with pytest.raises(service.Conflict, match="your own department"):
        ask(handler, elderly_list)
    ask(police_handler, elderly_list)
    with pytest.raises(service.Conflict, match="already has a pending request"):
        ask(police_handler, elderly_list)
    assert AccessRequest.objects.count() == 1
    resp = client(police_handler).post(f"/catalog/datasets/{elderly_list.code}/request/",
                                       {"purpose": PURPOSE, "days": "30"})
    assert resp.status_code == 409


@pytest.mark.parametrize(("inputs", "field", "words"), [
    ({"purpose": "要用"}, "purpose", "at least a sentence"),
    ({"days": 0}, "days", "between 1 and 365"),
    ({"days": 366}, "days", "between 1 and 365"),
    ({"fields": ["name", "birth_date"]}, "fields", "has no field birth_date"),
])
def test_bad_input_is_named(police_handler, elderly_list, inputs, field, words):
    with pytest.raises(service.Invalid, match=words) as err:
        ask(police_handler, elderly_list, **inputs)
    assert err.value.field == field
    assert not AccessRequest.objects.exists()


def test_the_request_page_shows_errors_on_their_field(police_handler, elderly_list):
    c = client(police_handler)
    resp = c.post(f"/catalog/datasets/{elderly_list.code}/request/",
                  {"purpose": "要用一下", "days": "30"})
    html = resp.content.decode()
    assert resp.status_code == 422 and 'data-error="purpose"' in html
    assert "at least a sentence" in html
    resp = c.post(f"/catalog/datasets/{elderly_list.code}/request/",
                  {"purpose": PURPOSE, "days": "400"})
    assert resp.status_code == 422 and 'data-error="days"' in resp.content.decode()


def test_an_account_without_department_cannot_ask(tree, elderly_list):
    staff = make_user("st", Role.STAFF, tree["370102001"])
    with pytest.raises(service.Forbidden, match="Only an account of a department"):
        ask(staff, elderly_list)


# -- decisions ---------------------------------------------------------------------------------


def test_refusal_needs_a_note_and_tells_the_requester(police_handler, steward, elderly_list):
    req = ask(police_handler, elderly_list)
    with pytest.raises(service.Invalid, match="Say why"):
        service.decide(steward, req.pk, "refuse", "")
    resp = client(steward).post(f"/catalog/requests/{req.pk}/refuse/", {"note": ""})
    assert resp.status_code == 422
    service.decide(steward, req.pk, "refuse", "用途与名单无关")
    req.refresh_from_db()
    assert (req.status, req.decision_note, req.expires_at) == (
        RequestStatus.REFUSED, "用途与名单无关", None)
    note = Notification.objects.get(user=police_handler)
    assert "refused" in note.subject and "用途与名单无关" in note.body
    # A refused request grants nothing and cannot be approved afterwards.
    with pytest.raises(service.Forbidden):
        service.access_basis(police_handler, elderly_list)
    with pytest.raises(service.Conflict, match="refused"):
        service.decide(steward, req.pk, "approve")
    # Refused, the department may ask again.
    ask(police_handler, elderly_list)


def test_approving_twice_is_one_approval(police_handler, steward, elderly_list):
    req = ask(police_handler, elderly_list, days=5)
    first = service.decide(steward, req.pk, "approve")
    again = service.decide(steward, req.pk, "approve")
    assert again.expires_at == first.expires_at
    assert AuditRecord.objects.filter(action="catalog.request.approve").count() == 1


def test_wrong_departments_steward_cannot_decide(police_handler, police_steward, steward,
                                                 district, elderly_list, tree):
    req = ask(police_handler, elderly_list)
    # The requesting department's own steward sees the request but does not decide it.
    with pytest.raises(service.Forbidden, match="decides requests"):
        service.decide(police_steward, req.pk, "approve")
    resp = client(police_steward).post(f"/catalog/requests/{req.pk}/approve/")
    assert resp.status_code == 403
    # A third department's steward does not even learn it exists.
    from tests.registry_factories import make_department

    other = make_department("zj", "住建局", district)
    third = make_user("zj_steward", Role.STEWARD, district, other)
    assert client(third).post(f"/catalog/requests/{req.pk}/approve/").status_code == 404
    # Nor does a handler of the owning department decide.
    mz_handler = make_user("mz_h2", Role.HANDLER, district, steward.department)
    with pytest.raises(service.Forbidden):
        service.decide(mz_handler, req.pk, "approve")
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


def test_withdraw_while_pending_only_by_the_requester(police_handler, police_steward, steward,
                                                      elderly_list):
    req = ask(police_handler, elderly_list)
    with pytest.raises(service.Forbidden, match="person who asked"):
        service.withdraw(police_steward, req.pk)
    resp = client(police_handler).post(f"/catalog/requests/{req.pk}/withdraw/")
    assert resp.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN
    assert Notification.objects.filter(user=steward, subject__contains="withdrawn").exists()
    with pytest.raises(service.Conflict, match="withdrawn"):
        service.decide(steward, req.pk, "approve")
    approved = ask(police_handler, elderly_list)
    service.decide(steward, approved.pk, "approve")
    with pytest.raises(service.Conflict, match="approved"):
        service.withdraw(police_handler, approved.pk)


def test_revoke_ends_a_live_grant(police_handler, steward, elderly_rows, elderly_list,
                                  monkeypatch):
    req = ask(police_handler, elderly_list, days=30)
    service.decide(steward, req.pk, "approve")
    assert service.access_basis(police_handler, elderly_list).grant == req
    with pytest.raises(service.Invalid):
        service.decide(steward, req.pk, "revoke", "")  # say why
    resp = client(steward).post(f"/catalog/requests/{req.pk}/revoke/", {"note": "发现超范围使用"})
    assert resp.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.REVOKED
    assert Notification.objects.filter(user=police_handler, subject__contains="revoked").exists()
    resp = client(police_handler).get(f"/catalog/datasets/{elderly_list.code}/records/")
    assert resp.status_code == 403 and "was revoked on" in resp.content.decode()
    # An expired grant has nothing left to revoke.
    again = ask(police_handler, elderly_list, days=1)
    service.decide(steward, again.pk, "approve")
    later(monkeypatch, timedelta(days=2))
    with pytest.raises(service.Conflict, match="nothing to revoke"):
        service.decide(steward, again.pk, "revoke", "到期")


def test_the_requests_page_shows_each_side_its_part(police_handler, steward, elderly_list):
    req = ask(police_handler, elderly_list)
    mine = client(police_handler).get("/catalog/requests/").content.decode()
    assert f'data-request="{req.pk}"' in mine and 'data-action="withdraw"' in mine
    assert 'data-testid="incoming"' not in mine
    theirs = client(steward).get("/catalog/requests/").content.decode()
    assert 'data-testid="incoming"' in theirs and 'data-action="approve"' in theirs


# -- reading under a grant: fields, log, API, CSV --------------------------------------------


def test_a_grant_naming_fields_shows_only_those(police_handler, steward, elderly_rows,
                                                 elderly_list):
    req = ask(police_handler, elderly_list, fields=["name", "phone"])
    assert req.fields == ["name", "phone"]
    service.decide(steward, req.pk, "approve")
    html = client(police_handler).get(
        f"/catalog/datasets/{elderly_list.code}/records/").content.decode()
    assert 'data-field="name"' in html and 'data-field="phone"' in html
    assert 'data-field="id_number"' not in html and "3701**" not in html
    assert "139****5678" in html
    api, _prefix = token_client(police_handler, ["catalog:read"])
    body = api.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records").json()
    assert [f["code"] for f in body["fields"]] == ["name", "phone"]
    assert all(set(item["values"]) <= {"name", "phone"} for item in body["items"])
    assert body["grant"]["fields"] == ["name", "phone"]
    _name, data = rows.export_csv(police_handler, elderly_list, permission="catalog.read")
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header == ["grid", "grid code", "source key", "full name", "phone", "as of"]


def test_api_reads_need_the_scope_and_are_logged(police_handler, steward, elderly_rows,
                                                 elderly_list):
    service.decide(steward, ask(police_handler, elderly_list).pk, "approve")
    wrong, _p = token_client(police_handler, ["catalog:lists"])
    resp = wrong.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records")
    assert resp.status_code == 403
    assert not AccessLog.objects.exists()

    api, prefix = token_client(police_handler, ["catalog:read"])
    resp = api.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records?page_size=2")
    body = resp.json()
    assert resp.status_code == 200
    assert (body["total"], body["pages"], len(body["items"]), body["basis"]) == (3, 2, 2,
                                                                               "grant")
    no_clear_values(resp.content.decode())
    assert body["items"][0]["values"]["id_number"].startswith("3701**")
    api.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records?page=2&page_size=2")
    logs = list(AccessLog.objects.order_by("at", "pk"))
    assert [(entry.channel, entry.token_prefix, entry.rows, entry.query["page"])
            for entry in logs] == [("api", prefix, 2, 1), ("api", prefix, 1, 2)]
    assert AuditRecord.objects.filter(action="catalog.read").count() == 2
    bad = api.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records?page_size=500")
    assert bad.status_code == 422
    # A dataset the caller cannot find answers like a missing one.
    assert api.get("/api/v1/catalog/datasets/nope/records").status_code == 404


def test_csv_export_is_masked_and_logged(police_handler, steward, elderly_rows, elderly_list):
    service.decide(steward, ask(police_handler, elderly_list).pk, "approve")
    resp = client(police_handler).get(f"/catalog/datasets/{elderly_list.code}/records.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert "attachment" in resp["Content-Disposition"]
    text = resp.content.decode("utf-8-sig")
    no_clear_values(text)
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == 4 and any("王*英" in cell for cell in lines[1] + lines[2])
    log = AccessLog.objects.get()
    assert (log.channel, log.rows) == ("export", 3)
    assert AuditRecord.objects.filter(action="catalog.export").count() == 1


def test_own_and_open_datasets_read_without_a_grant(handler, police_handler, civil_affairs,
                                                    elderly_rows, elderly_list, tree):
    assert service.access_basis(handler, elderly_list).basis == service.Basis.OWN
    open_data = make_dataset("mz-orgs", civil_affairs, name="社会组织名录",
                             sharing_class=SharingClass.UNCONDITIONAL)
    add_record(open_data, "o1", {"name": "王秀英"}, region=tree["370102001002001"])
    access = service.access_basis(police_handler, open_data)
    assert (access.basis, access.grant) == (service.Basis.OPEN, None)
    page = rows.read(police_handler, open_data, permission="catalog.read")
    assert page.total == 1 and page.rows[0]["values"] == {"name": "王*英"}
    assert AccessLog.objects.get().grant is None


def test_the_owners_steward_reads_the_access_log(police_handler, police_steward, steward,
                                                 elderly_rows, elderly_list):
    service.decide(steward, ask(police_handler, elderly_list).pk, "approve")
    c = client(police_handler)
    c.get(f"/catalog/datasets/{elderly_list.code}/records/")
    c.get(f"/catalog/datasets/{elderly_list.code}/records.csv")
    api, prefix = token_client(police_handler, ["catalog:read"])
    api.get(f"/api/v1/catalog/datasets/{elderly_list.code}/records")
    html = client(steward).get(f"/catalog/datasets/{elderly_list.code}/log/").content.decode()
    assert html.count('data-user="ga_handler"') == 3
    for channel in ("page", "export", "api"):
        assert f'data-channel="{channel}"' in html
    assert f"{prefix}…" in html
    # Not the requesting side's steward, nor the reader himself.
    assert client(police_steward).get(
        f"/catalog/datasets/{elderly_list.code}/log/").status_code == 403
    assert client(police_handler).get(
        f"/catalog/datasets/{elderly_list.code}/log/").status_code == 403


def test_a_spreadsheet_formula_in_a_row_is_defused(handler, civil_affairs, tree):
    ds = make_dataset("mz-notes", civil_affairs, ("name", "health_note"), name="备注")
    add_record(ds, "=cmd", {"name": "王秀英", "health_note": "=HYPERLINK(\"x\")"},
               region=tree["370102001001001"])
    _name, data = rows.export_csv(handler, ds, permission="catalog.read")
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'=cmd" in text


# -- at the same moment -------------------------------------------------------------------------


def _race(*jobs) -> list[str]:
    """Run the jobs in threads released together; "ok", the refusal's status, or the error."""
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []

    def worker(job):
        try:
            barrier.wait()
            job()
            results.append("ok")
        except service.CatalogError as exc:
            results.append(str(exc.status))
        except BaseException as exc:  # surfaced by the assertion
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sorted(results)


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_leave_one_pending(police_handler, district, police, elderly_list):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is not shared safely across threads")
    colleague = make_user("ga_h2", Role.HANDLER, district, police)
    assert _race(lambda: ask(police_handler, elderly_list),
                 lambda: ask(colleague, elderly_list)) == ["409", "ok"]
    assert AccessRequest.objects.filter(status=RequestStatus.PENDING).count() == 1


@pytest.mark.django_db(transaction=True)
def test_approve_and_refuse_at_once_one_decision_stands(police_handler, steward, district,
                                                         civil_affairs, elderly_list):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is not shared safely across threads")
    colleague = make_user("mz_steward2", Role.STEWARD, district, civil_affairs)
    req = ask(police_handler, elderly_list)
    assert _race(lambda: service.decide(steward, req.pk, "approve"),
                 lambda: service.decide(colleague, req.pk, "refuse", "不符合条件")) == [
        "409", "ok"]
    decisions = AuditRecord.objects.filter(action__in=["catalog.request.approve",
                                                       "catalog.request.refuse"])
    assert decisions.count() == 1
