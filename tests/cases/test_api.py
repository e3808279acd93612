"""The case API under /api/v1/cases: what a client sees and is told."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.cases.conftest import IN_EAST, IN_WEST, english_client, jpeg_bytes
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.cases.models import Case
from wangge.cases.workflow import BY_ACTION, State

pytestmark = pytest.mark.django_db
BASE = "/api/v1/cases"


def _client(user) -> Client:
    return english_client(user)


def _body(**kw) -> dict:
    return {"category": "env.garbage", "title": "井边垃圾", "lon": IN_WEST[0],
            "lat": IN_WEST[1], "crs": "wgs84", **kw}


def _post(c: Client, url: str, data: dict, **extra):
    return c.post(url, data, content_type="application/json", **extra)


def _bearer(user, *scopes) -> dict:
    _, secret = issue_token(None, username=user.username, name="t", scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


# -- intake -----------------------------------------------------------------------------------


def test_intake_creates_then_replays_with_the_idempotency_header(people, categories):
    c = _client(people.resident)
    first = _post(c, BASE, _body(contact_phone="13812345678"), HTTP_IDEMPOTENCY_KEY="app-7")
    assert first.status_code == 201
    case = first.json()
    assert case["state"] == "reported" and case["region"] == "370102001001001"
    assert case["reporter_contact"] == "138****5678"
    assert [e["action"] for e in case["timeline"]] == ["report"]
    again = _post(c, BASE, _body(contact_phone="13812345678"), HTTP_IDEMPOTENCY_KEY="app-7")
    assert again.status_code == 200 and again.json()["code"] == case["code"]
    other = _post(c, BASE, _body(title="别的"), HTTP_IDEMPOTENCY_KEY="app-7")
    assert other.status_code == 409
    assert case["code"] in other.json()["detail"]
    assert Case.objects.count() == 1


def test_intake_key_in_the_body_and_a_contradicting_header(people, categories):
    c = _client(people.resident)
    assert _post(c, BASE, _body(idempotency_key="b-1")).status_code == 201
    assert _post(c, BASE, _body(idempotency_key="b-1")).status_code == 200
    resp = _post(c, BASE, _body(idempotency_key="b-2"), HTTP_IDEMPOTENCY_KEY="b-3")
    assert resp.status_code == 422 and "differ" in resp.json()["detail"]


def test_intake_errors_name_the_field(people, categories):
    c = _client(people.resident)
    resp = _post(c, BASE, _body(crs=None))
    assert resp.status_code == 422 and resp.json()["detail"].startswith("crs:")
    resp = _post(c, BASE, _body(category="nope"))
    assert resp.status_code == 422 and "category" in resp.json()["detail"]
    resp = _post(c, BASE, _body(source="sensor"))
    assert resp.status_code == 403
    assert _client(people.cg).post(BASE, _body(), content_type="application/json"
                                   ).status_code == 403


def test_tokens_read_and_report_by_scope(people, categories, make_case):
    make_case(people.machine, source="video")
    reader = _bearer(people.machine, "cases:read")
    reporter = _bearer(people.machine, "cases:report")
    c = english_client()
    assert c.get(BASE, **reader).json()["count"] == 1
    assert _post(c, BASE, _body(source="sensor"), **reader).status_code == 403
    resp = _post(c, BASE, _body(source="sensor", external_id="cam-9"), **reporter)
    assert resp.status_code == 201 and resp.json()["source"] == "sensor"
    assert c.get(BASE, **reporter).status_code == 403
    assert english_client().get(BASE).status_code == 401


def test_workflow_actions_are_not_taken_with_tokens(people, flow):
    case = flow.new_case(State.REPORTED)
    staff_token = _bearer(people.staff, "cases:read")
    resp = _post(english_client(), f"{BASE}/{case.code}/actions/register", {}, **staff_token)
    assert resp.status_code == 403 and "signed-in session" in resp.json()["detail"]


# -- list and detail ------------------------------------------------------------------------


def test_list_filters_and_pages(people, make_case, flow, monkeypatch):
    from django.utils import timezone

    garbage = make_case(title="垃圾一")
    ads = make_case(category="env.ads", title="小广告")
    manhole = make_case(people.grid_worker, category="road.manhole", title="井盖")
    hotline = make_case(people.staff, source="hotline", title="热线工单")
    east = make_case(people.other_resident, lon=IN_EAST[0], lat=IN_EAST[1], title="东边")
    registered = flow.act(garbage, "register")
    Case.objects.filter(pk=ads.pk).update(due_at=timezone.now() - timezone.timedelta(hours=1))
    c = _client(people.street_staff)

    def codes(**params):
        return [i["code"] for i in c.get(BASE, params).json()["items"]]

    everything = codes()
    assert everything == [east.code, hotline.code, manhole.code, ads.code, garbage.code]
    assert codes(state="registered") == [registered.code]
    assert codes(state="registered,reported") == everything
    # The parent takes its children.
    assert codes(category="env") == [east.code, hotline.code, ads.code, garbage.code]
    assert codes(category="env.ads") == [ads.code]
    assert codes(category="road.manhole") == [manhole.code]
    assert codes(source="hotline") == [hotline.code]
    assert codes(node="370102001002") == [east.code]
    assert codes(node="370102002") == []  # outside the scope: nothing, not an error
    assert codes(overdue="true") == [ads.code]
    assert ads.code not in codes(overdue="false")
    assert codes(q="井盖") == [manhole.code]
    assert codes(q=garbage.code) == [garbage.code]
    page = c.get(BASE, {"page": 2, "page_size": 2}).json()
    assert page["count"] == 5 and [i["code"] for i in page["items"]] == everything[2:4]
    assert c.get(BASE, {"page_size": 1000}).status_code == 422
    first = c.get(BASE, {"q": ads.code}).json()["items"][0]
    assert first["traffic_light"] == "red"


def test_traffic_light_follows_the_share_of_the_limit_used(people, make_case):
    from django.utils import timezone

    from wangge.workcalendar.services import add_working_hours

    case = make_case()
    c = _client(people.staff)
    now = timezone.now()

    def light_with(started_hours_ago: float, limit_hours: float) -> str:
        start = _working_hours_before(now, started_hours_ago)
        Case.objects.filter(pk=case.pk).update(
            step_started_at=start, due_at=add_working_hours(start, limit_hours))
        return c.get(f"{BASE}/{case.code}").json()["traffic_light"]

    assert light_with(1, 10) == "green"
    assert light_with(9, 10) == "yellow"
    assert light_with(12, 10) == "red"
    Case.objects.filter(pk=case.pk).update(due_at=None)
    assert c.get(f"{BASE}/{case.code}").json()["traffic_light"] is None


def _working_hours_before(end, hours: float):
    """A moment at least ``hours`` working hours before ``end`` (searching back in half hours)."""
    from django.utils import timezone

    from wangge.workcalendar.services import working_hours_between

    start = end
    while working_hours_between(start, end) < hours:
        start -= timezone.timedelta(minutes=30)
    return start


def test_detail_has_timeline_assignments_and_the_callers_actions(people, flow):
    case = flow.new_case(State.DISPATCHED)
    staff = _client(people.staff).get(f"{BASE}/{case.code}").json()
    assert [e["action"] for e in staff["timeline"]] == ["report", "register", "dispatch"]
    assert staff["timeline"][-1]["detail"]["lead"] == "CG"
    assert [(a["department"], a["role"], a["active"]) for a in staff["assignments"]] == [
        ("CG", "lead", True), ("ZJ", "assist", True)]
    assert {a["action"] for a in staff["allowed_actions"]} == {"whistle", "void"}
    cg = _client(people.cg).get(f"{BASE}/{case.code}").json()
    assert {a["action"] for a in cg["allowed_actions"]} == {"accept", "return"}
    zj = _client(people.zj).get(f"{BASE}/{case.code}").json()
    assert zj["allowed_actions"] == []
    resident = _client(people.resident).get(f"{BASE}/{case.code}").json()
    assert resident["allowed_actions"] == [] and resident["possible_duplicates"] == []
    # The resident follows the progress, not the staff's names.
    staff_label = str(Role.STAFF.label)
    assert [e["actor"] for e in resident["timeline"]] == ["resident_w", staff_label, staff_label]
    assert "staff_w" not in str(resident["timeline"])


def test_duplicates_are_offered_to_dispatchers_in_scope(people, make_case, monkeypatch):
    first = make_case(title="垃圾")
    second = make_case(title="垃圾again")
    hidden = make_case(people.other_resident, lon=IN_EAST[0], lat=IN_EAST[1])
    monkeypatch.setattr("wangge.cases.duplicates.suggest_duplicates",
                        lambda case: [first, hidden])
    body = _client(people.staff).get(f"{BASE}/{second.code}").json()
    assert body["possible_duplicates"] == [first.code]
    assert _client(people.resident).get(f"{BASE}/{second.code}").json()[
        "possible_duplicates"] == []


# -- actions ----------------------------------------------------------------------------------


def test_actions_answer_with_the_case_or_a_clear_refusal(people, flow):
    case = flow.new_case(State.REPORTED)
    staff = _client(people.staff)
    url = f"{BASE}/{case.code}/actions"
    resp = _post(staff, f"{url}/register", {"expected_version": case.version})
    assert resp.status_code == 200
    body = resp.json()
    assert body["state"] == "registered" and body["version"] == case.version + 1
    # Stale screen: someone registered it since this user loaded version 1.
    stale = _post(_client(people.street_staff), f"{url}/reject",
                  {"expected_version": case.version, "reason": "重复"})
    assert stale.status_code == 409 and "someone else changed" in stale.json()["detail"]
    # Not allowed in this state: 409 and nothing changes.
    again = _post(staff, f"{url}/register", {})
    assert again.status_code == 409 and "cannot register" in again.json()["detail"]
    # Missing input: 422 naming it.
    missing = _post(staff, f"{url}/dispatch", {})
    assert missing.status_code == 422 and missing.json()["detail"].startswith("departments")
    # Wrong role: 403.
    assert _post(_client(people.grid_worker), f"{url}/dispatch",
                 {"departments": ["CG"]}).status_code == 403
    assert _post(staff, f"{url}/teleport", {}).status_code == 404
    assert Case.objects.get(pk=case.pk).version == case.version + 1


def test_a_case_walks_the_loop_through_the_api(people, flow, media):
    case = flow.new_case(State.REPORTED)
    url = f"{BASE}/{case.code}"
    staff, cg, gw, resident = (_client(u) for u in (people.staff, people.cg,
                                                     people.grid_worker, people.resident))
    assert _post(staff, f"{url}/actions/register", {}).status_code == 200
    assert _post(staff, f"{url}/actions/dispatch", {"departments": ["CG"]}).status_code == 200
    assert _post(cg, f"{url}/actions/accept", {}).status_code == 200
    photo = cg.post(f"{url}/photos", {"file": SimpleUploadedFile("fix.jpg", jpeg_bytes())})
    assert photo.status_code == 201
    resp = _post(cg, f"{url}/actions/handle", {"note": "已清运", "evidence": [photo.json()["id"]]})
    assert resp.status_code == 200 and resp.json()["timeline"][-1]["photos"] == [
        photo.json()["id"]]
    check = gw.post(f"{url}/photos", {"file": SimpleUploadedFile("ok.jpg", jpeg_bytes())})
    assert _post(gw, f"{url}/actions/verify", {"evidence": [check.json()["id"]]}
                 ).status_code == 200
    body = _post(resident, f"{url}/actions/rate", {"rating": 5, "comment": "满意"}).json()
    assert (body["state"], body["rating"]) == ("closed", 5)
    assert [e["action"] for e in body["timeline"]] == [
        "report", "register", "dispatch", "accept", "handle", "verify", "rate"]
    assert BY_ACTION["rate"].action not in {a["action"] for a in body["allowed_actions"]}


# -- photos -----------------------------------------------------------------------------------


def test_photos_upload_check_and_serve_in_scope_only(people, make_case, media):
    case = make_case()
    url = f"{BASE}/{case.code}/photos"
    resident = _client(people.resident)
    bad = resident.post(url, {"file": SimpleUploadedFile("x.jpg", b"GIF89a" + b"\0" * 100)})
    assert bad.status_code == 415
    assert resident.post(url, {}).status_code == 422
    ok = resident.post(url, {"file": SimpleUploadedFile("g.jpg", jpeg_bytes(gps=IN_WEST))})
    assert ok.status_code == 201
    photo = ok.json()
    assert (photo["exif_lon"], photo["exif_lat"]) == pytest.approx(IN_WEST, abs=1e-6)
    got = resident.get(photo["url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert b"".join(got.streaming_content) == jpeg_bytes(gps=IN_WEST)
    assert "private" in got["Cache-Control"]
    thumb = _client(people.staff).get(photo["thumb_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    for outsider in (people.other_staff, people.other_resident, people.cg):
        assert _client(outsider).get(photo["url"]).status_code == 404
        assert _client(outsider).get(photo["thumb_url"]).status_code == 404
    # Under another case's code the photo is not found either.
    other = make_case(title="另一件")
    assert resident.get(f"{BASE}/{other.code}/photos/{photo['id']}").status_code == 404
    assert english_client().get(photo["url"]).status_code == 401


def test_an_oversized_upload_is_refused_before_it_is_read(people, make_case, media):
    case = make_case()
    resp = _client(people.resident).post(
        f"{BASE}/{case.code}/photos",
        {"file": SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024))})
    assert resp.status_code == 413 and "at most 10 MB" in resp.json()["detail"]


def test_own_uploads_before_filing_are_private_until_attached(people, categories, media):
    gw = _client(people.grid_worker)
    up = gw.post(f"{BASE}/photos", {"file": SimpleUploadedFile("e.jpg", jpeg_bytes())})
    assert up.status_code == 201
    photo = up.json()
    assert gw.get(photo["url"]).status_code == 200
    assert _client(people.staff).get(photo["url"]).status_code == 404
    resp = _post(gw, BASE, _body(self_handled=True, photos=[photo["id"]], note="已清理"))
    assert resp.status_code == 201
    body = resp.json()
    assert body["state"] == "handled" and [p["id"] for p in body["photos"]] == [photo["id"]]
    # Attached now: served under the case, to whoever sees the case.
    assert _client(people.staff).get(body["photos"][0]["url"]).status_code == 200
    assert gw.get(photo["url"]).status_code == 404  # no longer an unattached upload


def test_categories_and_openapi(people, categories):
    body = _client(people.resident).get(f"{BASE}/categories").json()
    codes = [c["code"] for c in body]
    assert "old" not in codes and {"env", "env.garbage", "road.manhole"} <= set(codes)
    assert codes == ["env", "env.ads", "env.garbage", "road", "road.manhole"]  # tree order
    garbage = next(c for c in body if c["code"] == "env.garbage")
    assert (garbage["parent"], garbage["kind"]) == ("env", "event")
    schema = _client(people.admin).get("/api/v1/openapi.json").json()
    assert {"/api/v1/cases", "/api/v1/cases/{code}/actions/{action}",
            "/api/v1/cases/{code}/photos"} <= set(schema["paths"])
