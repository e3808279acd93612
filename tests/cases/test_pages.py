"""The case pages as each role meets them: what they see, what they may do, and what they are
told when the engine refuses (403, 404, 409, 422). Every action goes through the real engine.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.cases.conftest import IN_EAST, IN_WEST, jpeg_bytes
from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.cases.models import Assignment, Case, CaseEvent, DeadlineRule, Photo, RoutingRule
from wangge.cases.services import transition
from wangge.cases.workflow import State

pytestmark = pytest.mark.django_db


def _zh_client(user) -> Client:
    """The page as staff see it by default, in Chinese."""
    c = Client()
    c.force_login(user)
    return c


def _client(user) -> Client:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read the English msgids
    c.force_login(user)
    return c


def _html(resp) -> str:
    return resp.content.decode()


def _section(html: str, testid: str, end: str = "</section>") -> str:
    found = re.search(rf'data-testid="{testid}".*?{end}', html, re.S)
    assert found, f"no {testid} on the page"
    return found.group(0)


def _actions(html: str) -> list[str]:
    """The actions the case page offers, in order."""
    return re.findall(r'<(?:details|form)[^>]* data-action="(\w+)"', _section(html, "actions"))


def _codes(html: str, testid: str, end: str = "</ul>") -> list[str]:
    return re.findall(r'data-code="(WG\d+)"', _section(html, testid, end))


def _version(case: Case) -> int:
    return Case.objects.get(pk=case.pk).version


def _photo(name: str = "p.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data or jpeg_bytes(), "image/jpeg")


def _report(categories, **fields) -> dict:
    data = {"idempotency_key": "k-1", "category": "env.garbage", "title": "路边垃圾堆放",
            "description": "小区门口", "urgency": "normal", "lon": IN_WEST[0],
            "lat": IN_WEST[1], "address": "", "photos": ""}
    data.update(fields)
    return data


# -- landing ------------------------------------------------------------------------------


def test_each_role_lands_on_its_case_page(people):
    expected = {
        people.staff: "/cases/queue/", people.command: "/cases/queue/",
        people.cg: "/cases/inbox/", people.grid_worker: "/cases/mine/",
        people.resident: "/cases/mine/",
    }
    for user, url in expected.items():
        resp = _client(user).get("/cases/")
        assert resp.status_code == 302 and resp["Location"] == url, user.username
    assert _client(make_user("aud", Role.AUDITOR, None)).get("/cases/").status_code == 403
    assert Client().get("/cases/").status_code == 302  # to sign in


def test_each_list_is_forbidden_to_the_roles_it_is_not_for(people):
    forbidden = {
        "/cases/queue/": [people.grid_worker, people.resident, people.cg],
        "/cases/inbox/": [people.staff, people.grid_worker, people.resident],
        "/cases/verify/": [people.cg, people.resident, people.command],
        "/cases/new/": [people.cg, people.admin],
    }
    for url, users in forbidden.items():
        for user in users:
            assert _client(user).get(url).status_code == 403, (url, user.username)


# -- the grid worker reports ---------------------------------------------------------------


def test_report_form_asks_a_grid_worker_for_a_photo_by_camera_and_a_one_time_key(people,
                                                                                  categories):
    html = _html(_client(people.grid_worker).get("/cases/new/"))
    assert 'accept="image/*" capture="environment"' in html
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert key, "the form carries its own idempotency key"
    # Two-level categories: the children sit under their parent; the disabled one is absent.
    group = re.search(r'<optgroup label="市容环境".*?</optgroup>', html, re.S).group(0)
    assert re.findall(r'<option value="([\w.]+)"', group) == ["env.ads", "env.garbage"]
    assert "停用分类" not in html
    assert 'name="self_handled"' in html and 'name="urgency"' in html
    # A second visit is a second report: a new key.
    again = _html(_client(people.grid_worker).get("/cases/new/"))
    assert key.group(1) not in again


def test_a_double_submit_files_one_case_with_its_photo(people, categories, media):
    client = _client(people.grid_worker)
    data = _report(categories)
    first = client.post("/cases/new/", {**data, "photo": _photo()})
    case = Case.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/cases/{case.code}/"
    second = client.post("/cases/new/", {**data, "photo": _photo()})
    assert second.status_code == 302 and second["Location"] == f"/cases/{case.code}/"
    assert Case.objects.count() == 1
    assert Photo.objects.filter(case=case).count() == 1  # the retry stored no second photo
    page = _html(client.get(second["Location"]))
    assert case.code in _section(page, "case-code", "</span>")
    assert f"/api/v1/cases/{case.code}/photos/" in _section(page, "photos")
    assert case.source == "patrol" and case.region.code == "370102001001001"


def test_a_bad_photo_sent_with_the_form_does_not_undo_the_report(people, categories, media):
    client = _client(people.grid_worker)
    resp = client.post("/cases/new/", {**_report(categories), "photo": SimpleUploadedFile(
        "notes.jpg", b"plain text", "image/jpeg")}, follow=True)
    case = Case.objects.get()
    assert resp.redirect_chain == [(f"/cases/{case.code}/", 302)]
    assert "notes.jpg: not a JPEG, PNG or WebP image" in _html(resp)
    assert case.photos.count() == 0


def test_photos_uploaded_by_the_page_are_attached_by_id(people, categories, upload):
    photo = upload(people.resident)
    resp = _client(people.resident).post("/cases/new/", {
        **_report(categories), "photos": str(photo.pk), "contact_phone": "13812345678"})
    assert resp.status_code == 302
    case = Case.objects.get()
    assert list(case.photos.values_list("pk", flat=True)) == [photo.pk]
    assert case.reporter_contact_masked == "138****5678"


def test_a_report_nobody_can_place_is_refused_with_what_to_add(people, categories):
    resp = _client(people.grid_worker).post("/cases/new/", _report(
        categories, lon="", lat="", address=""))
    assert resp.status_code == 422
    assert "location: give a map point" in _html(resp)
    assert not Case.objects.exists()
    # What was typed stays on the form.
    assert "路边垃圾堆放" in _html(resp)


def test_a_fix_on_the_spot_needs_its_photo(people, categories, media):
    client = _client(people.grid_worker)
    resp = client.post("/cases/new/", _report(categories, self_handled="on",
                                               note="已清理"))
    assert resp.status_code == 422
    assert "self-handled report needs at least one evidence photo" in _html(resp)
    # The evidence is stored before intake; a refusal keeps it on the form.
    resp = client.post("/cases/new/", {**_report(categories, idempotency_key="k-2",
                                                 self_handled="on", note="已清理", lon="",
                                                 lat=""), "photo": _photo()})
    assert resp.status_code == 422
    kept = Photo.objects.get(uploaded_by=people.grid_worker)
    assert f'name="photos" value="{kept.pk}"' in _html(resp)
    resp = client.post("/cases/new/", _report(categories, idempotency_key="k-2",
                                              self_handled="on", note="已清理",
                                              photos=str(kept.pk)))
    assert resp.status_code == 302
    case = Case.objects.get()
    assert case.state == State.HANDLED and case.self_handled
    assert case.photos.count() == 1
    # The worker who fixed it doesn't verify it; a colleague of the community does.
    own = _html(client.get(f"/cases/{case.code}/"))
    assert "verify" not in _actions(own)
    assert _actions(_html(_client(people.staff).get(f"/cases/{case.code}/"))) == [
        "verify", "rework"]


def test_a_residents_form_is_the_simple_one(people, categories):
    html = _html(_client(people.resident).get("/cases/new/"))
    assert 'name="contact_phone"' in html
    assert 'name="urgency"' not in html and 'name="self_handled"' not in html
    # Residents see their report-related pages only.
    tabs = _section(html, "case-tabs", "</nav>")
    assert "/cases/track/" in tabs and "/cases/queue/" not in tabs


# -- the dispatcher ------------------------------------------------------------------------


@pytest.fixture
def deadlines(categories):
    for step in ("register", "dispatch", "accept", "handle", "verify", "report_in"):
        DeadlineRule.objects.create(category=None, urgency="normal", step=step,
                                    working_hours=Decimal("8"))


def test_queue_shows_the_area_with_lights_overdue_first_and_filters(people, make_case,
                                                                    deadlines):
    late = make_case(title="井盖缺失已久", category="road.manhole")
    soon = make_case(title="快到期的垃圾")
    fresh = make_case(title="新堆的垃圾")
    east = make_case(actor=people.other_resident, title="东社区的事", lon=IN_EAST[0],
                     lat=IN_EAST[1])
    now = timezone.now()
    Case.objects.filter(pk=late.pk).update(step_started_at=now - timedelta(days=10),
                                           due_at=now - timedelta(days=1))
    # Nearly all of its working time used, whatever the hour the test runs at.
    Case.objects.filter(pk=soon.pk).update(step_started_at=now - timedelta(days=10),
                                           due_at=now + timedelta(minutes=1))
    client = _zh_client(people.staff)
    html = _html(client.get("/cases/queue/"))
    assert _codes(html, "queue", "</table>") == [late.code, soon.code, fresh.code]
    row = re.search(rf'<tr data-code="{soon.code}".*?</tr>', html, re.S).group(0)
    assert 'data-light="yellow"' in row and "临期" in row
    assert east.code not in html
    row = re.search(rf'<tr data-code="{late.code}".*?</tr>', html, re.S).group(0)
    assert 'data-light="red"' in row and "超时" in row  # a word, not only a colour
    row = re.search(rf'<tr data-code="{fresh.code}".*?</tr>', html, re.S).group(0)
    assert 'data-light="green"' in row
    assert re.search(r'data-testid="count-overdue">1<', html)
    overdue = _html(client.get("/cases/queue/?overdue=1"))
    assert _codes(overdue, "queue", "</table>") == [late.code]
    by_category = _html(client.get("/cases/queue/?category=road"))
    assert _codes(by_category, "queue", "</table>") == [late.code]
    transition(people.staff, fresh.pk, "reject", reason="不属实")
    assert _codes(_html(client.get("/cases/queue/")), "queue", "</table>") == [
        late.code, soon.code]
    assert _codes(_html(client.get("/cases/queue/?state=rejected")), "queue",
                  "</table>") == [fresh.code]


def test_staff_register_and_dispatch_with_the_routing_suggestion(people, flow, departments,
                                                                 tree, categories):
    rule = RoutingRule.objects.create(category=categories["env.garbage"],
                                      region=tree["370102001"], lead=departments["CG"])
    rule.assisting.add(departments["ZJ"])
    case = flow.make_case()
    client = _client(people.staff)
    page = _html(client.get(f"/cases/{case.code}/"))
    assert _actions(page) == ["register", "reject", "merge", "void"]
    resp = client.post(f"/cases/{case.code}/act/register/",
                       {"register-version": _version(case)})
    assert resp.status_code == 302 and resp["Location"] == f"/cases/{case.code}/"
    page = _html(client.get(resp["Location"]))
    assert _actions(page) == ["dispatch", "whistle", "merge", "void"]
    dispatch = re.search(r'data-action="dispatch".*?</details>', page, re.S).group(0)
    assert "区城管局" in _section(dispatch, "route-suggestion", "</p>")
    # The suggested lead is chosen already and listed first.
    lead = re.search(r'<select name="dispatch-lead".*?</select>', dispatch, re.S).group(0)
    assert re.findall(r'<option value="(\w+)"', lead)[:2] == ["CG", "ZJ"]
    assert re.search(r'<option value="CG" selected>', lead)
    assert re.search(r'value="ZJ"[^>]*checked', dispatch)
    # The department of another street is not offered.
    assert 'value="QF"' not in dispatch
    resp = client.post(f"/cases/{case.code}/act/dispatch/", {
        "dispatch-version": _version(case), "dispatch-lead": "CG",
        "dispatch-assisting": ["ZJ", "SW"]})
    assert resp.status_code == 302
    parts = {a.department.code: a.role for a in Assignment.objects.filter(case=case)}
    assert parts == {"CG": "lead", "ZJ": "assist", "SW": "assist"}
    page = _html(client.get(f"/cases/{case.code}/"))
    assert re.findall(r'data-department="(\w+)"', _section(page, "assignments")) == [
        "CG", "ZJ", "SW"]


def test_an_action_the_state_no_longer_allows_is_409_and_shows_the_case_now(people, flow):
    case = flow.new_case(State.REGISTERED)
    resp = _client(people.staff).post(f"/cases/{case.code}/act/register/",
                                      {"register-version": _version(case)})
    assert resp.status_code == 409
    html = _html(resp)
    error = _section(html, "action-error", "</div>")
    assert 'data-status="409"' in error
    # The engine's own words (its state names translated), under the page's summary.
    assert "cannot register (立案) case" in error and "it is registered" in error
    assert "Here is the case as it is now" in error or "case as it is now" in error
    assert 'data-state' not in error
    assert _actions(html) == ["dispatch", "whistle", "merge", "void"]
    assert CaseEvent.objects.filter(case=case, action="register").count() == 1


def test_someone_else_acting_first_is_409_with_the_fresh_state(people, flow):
    case = flow.new_case(State.REPORTED)
    seen = _version(case)
    transition(people.street_staff, case.pk, "register")  # the street, a moment earlier
    resp = _client(people.staff).post(f"/cases/{case.code}/act/reject/", {
        "reject-version": seen, "reject-reason": "重复上报"})
    assert resp.status_code == 409
    html = _html(resp)
    assert "someone else changed case" in _section(html, "action-error", "</div>")
    assert re.search(r'data-testid="case-state">[^<]+<', html)
    assert Case.objects.get(pk=case.pk).state == State.REGISTERED
    # The page now offers what fits the fresh state, with the fresh version.
    assert _actions(html) == ["dispatch", "whistle", "merge", "void"]
    assert f'name="void-version" value="{_version(case)}"' in html


def test_a_missing_input_is_422_on_the_same_form(people, flow):
    case = flow.new_case(State.REPORTED)
    resp = _client(people.staff).post(f"/cases/{case.code}/act/reject/", {
        "reject-version": _version(case), "reject-reason": ""})
    assert resp.status_code == 422
    html = _html(resp)
    assert re.search(r'<details class="action" data-action="reject" open>', html)
    assert Case.objects.get(pk=case.pk).state == State.REPORTED


def test_not_yours_to_do_is_403(people, flow):
    case = flow.new_case(State.DISPATCHED)  # CG leads, ZJ assists
    resp = _client(people.zj).post(f"/cases/{case.code}/act/accept/",
                                   {"accept-version": _version(case)})
    assert resp.status_code == 403
    assert "only the lead department" in _html(resp)


def test_duplicates_are_offered_for_a_merge(people, make_case):
    master = make_case(title="小区门口垃圾堆放", description="垃圾很多")
    dup = make_case(actor=people.grid_worker, title="小区门口垃圾堆放", description="垃圾很多")
    client = _client(people.staff)
    html = _html(client.get(f"/cases/{dup.code}/"))
    assert re.findall(r'data-code="(WG\d+)"', _section(html, "duplicates")) == [master.code]
    resp = client.post(f"/cases/{dup.code}/act/merge/", {
        "merge-version": _version(dup), "merge-master": master.code})
    assert resp.status_code == 302
    assert Case.objects.get(pk=dup.pk).master_id == master.pk
    # A grid worker sees no duplicates and no merge.
    assert 'data-testid="duplicates"' not in _html(
        _client(people.grid_worker).get(f"/cases/{master.code}/"))


def test_whistle_names_the_report_in_deadline_and_departments_report_in(people, flow,
                                                                        deadlines):
    case = flow.new_case(State.REGISTERED)
    client = _client(people.staff)
    html = _html(client.get(f"/cases/{case.code}/"))
    assert _section(html, "report-in-due", "</p>")
    resp = client.post(f"/cases/{case.code}/act/whistle/", {
        "whistle-version": _version(case), "whistle-lead": "CG",
        "whistle-assisting": ["ZJ"]})
    assert resp.status_code == 302
    zj = _client(people.zj)
    assert case.code in _codes(_html(zj.get("/cases/inbox/")), "inbox")
    page = _html(zj.get(f"/cases/{case.code}/"))
    assert _actions(page) == ["report_in"]
    resp = zj.post(f"/cases/{case.code}/act/report_in/", {
        "report_in-version": _version(case), "report_in-note": "王科长到场"})
    assert resp.status_code == 302
    page = _html(zj.get(f"/cases/{case.code}/"))
    assert _section(page, "reported-in", "</span>")
    assert _actions(page) == []


def test_the_command_centre_supervises(people, flow):
    case = flow.new_case(State.DISPATCHED)
    client = _client(people.command)
    html = _html(client.get(f"/cases/{case.code}/"))
    assert "supervise" in _actions(html)
    assert "supervise" not in _actions(_html(_client(people.staff).get(f"/cases/{case.code}/")))
    resp = client.post(f"/cases/{case.code}/act/supervise/", {
        "supervise-version": _version(case), "supervise-note": "请今天下班前处理完毕"})
    assert resp.status_code == 302
    line = re.search(r'<li data-action="supervise">.*?</li>',
                     _html(_client(people.cg).get(f"/cases/{case.code}/")), re.S).group(0)
    assert "请今天下班前处理完毕" in line and "督办" in line


# -- the department --------------------------------------------------------------------------


def test_inbox_lists_what_the_department_was_sent_only(people, flow):
    sent = flow.new_case(State.DISPATCHED)
    other = flow.new_case(State.REGISTERED, title="还没派遣")
    html = _html(_client(people.cg).get("/cases/inbox/"))
    assert _codes(html, "inbox") == [sent.code]
    card = re.search(rf'data-code="{sent.code}".*?</li>', html, re.S).group(0)
    assert "role-lead" in card
    assert "role-assist" in _html(_client(people.zj).get("/cases/inbox/"))
    assert _codes(_html(_client(people.sw).get("/cases/inbox/")), "inbox") == []
    assert _client(people.sw).get(f"/cases/{sent.code}/").status_code == 404
    assert _client(people.cg).get(f"/cases/{other.code}/").status_code == 404


def test_handler_accepts_and_handles_with_an_evidence_photo(people, flow, media):
    case = flow.new_case(State.DISPATCHED)
    client = _client(people.cg)
    assert _actions(_html(client.get(f"/cases/{case.code}/"))) == ["accept", "return"]
    client.post(f"/cases/{case.code}/act/accept/", {"accept-version": _version(case)})
    html = _html(client.get(f"/cases/{case.code}/"))
    assert _actions(html) == ["return", "contribute", "handle", "request_extension",
                              "request_suspension"]
    handle = re.search(r'data-action="handle".*?</details>', html, re.S).group(0)
    assert 'enctype="multipart/form-data"' in handle
    assert 'accept="image/*" capture="environment"' in handle
    resp = client.post(f"/cases/{case.code}/act/handle/", {
        "handle-version": _version(case), "handle-note": "已清运",
        "handle-evidence": _photo()})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.state == State.HANDLED
    event = CaseEvent.objects.get(case=case, action="handle")
    assert event.photos.count() == 1
    html = _html(client.get(f"/cases/{case.code}/"))
    line = re.search(r'<li data-action="handle">.*?</li>', html, re.S).group(0)
    assert "已清运" in line and f"/photos/{event.photos.get().pk}/thumb" in line


def test_an_evidence_photo_is_kept_when_the_action_is_refused(people, flow, media):
    case = flow.new_case(State.HANDLING)
    seen = _version(case)
    transition(people.cg, case.pk, "contribute", note="先联系了物业")  # the version moves on
    client = _client(people.cg)
    resp = client.post(f"/cases/{case.code}/act/handle/", {
        "handle-version": seen, "handle-note": "已清运", "handle-evidence": _photo()})
    assert resp.status_code == 409
    kept = Photo.objects.get(uploaded_by=people.cg, case__isnull=True)
    html = _html(resp)
    assert f'name="handle-evidence_ids" value="{kept.pk}"' in html
    assert re.search(r'<details class="action" data-action="handle" open>', html)
    resp = client.post(f"/cases/{case.code}/act/handle/", {
        "handle-version": _version(case), "handle-note": "已清运",
        "handle-evidence_ids": str(kept.pk)})
    assert resp.status_code == 302
    assert Photo.objects.get(pk=kept.pk).case_id == case.pk
    assert Photo.objects.filter(uploaded_by=people.cg).count() == 1


def test_a_refused_action_stores_no_photo(people, flow, media):
    case = flow.new_case(State.HANDLING)
    resp = _client(people.zj).post(f"/cases/{case.code}/act/handle/", {
        "handle-version": _version(case), "handle-note": "x", "handle-evidence": _photo()})
    assert resp.status_code == 403
    assert not Photo.objects.filter(uploaded_by=people.zj).exists()


def test_a_file_that_is_no_image_is_refused_with_415(people, flow, media):
    case = flow.new_case(State.HANDLING)
    resp = _client(people.cg).post(f"/cases/{case.code}/act/handle/", {
        "handle-version": _version(case), "handle-note": "x",
        "handle-evidence": SimpleUploadedFile("a.jpg", b"not an image", "image/jpeg")})
    assert resp.status_code == 415
    assert "not a JPEG, PNG or WebP image" in _html(resp)
    assert Case.objects.get(pk=case.pk).state == State.HANDLING


def test_an_assisting_department_records_its_work(people, flow):
    case = flow.new_case(State.HANDLING)
    client = _client(people.zj)
    assert _actions(_html(client.get(f"/cases/{case.code}/"))) == ["contribute"]
    resp = client.post(f"/cases/{case.code}/act/contribute/", {
        "contribute-version": _version(case), "contribute-note": "已协调施工方"})
    assert resp.status_code == 302
    html = _html(client.get(f"/cases/{case.code}/"))
    part = re.search(r'<li class="" data-department="ZJ">.*?</li>', html, re.S).group(0)
    assert "已协调施工方" in part


def test_return_takes_the_case_out_of_the_inbox(people, flow):
    case = flow.new_case(State.DISPATCHED)
    client = _client(people.cg)
    resp = client.post(f"/cases/{case.code}/act/return/", {
        "return-version": _version(case), "return-reason": "不属于城管职责"})
    assert resp.status_code == 302 and resp["Location"] == "/cases/"
    assert _codes(_html(client.get("/cases/inbox/")), "inbox") == []
    staff_page = _html(_client(people.staff).get(f"/cases/{case.code}/"))
    assert "不属于城管职责" in _section(staff_page, "timeline", "</ol>")


def test_extension_asked_by_the_department_is_decided_by_the_dispatcher(people, flow,
                                                                        deadlines):
    case = flow.new_case(State.HANDLING)
    resp = _client(people.cg).post(f"/cases/{case.code}/act/request_extension/", {
        "request_extension-version": _version(case), "request_extension-reason": "需要采购",
        "request_extension-days": "3"})
    assert resp.status_code == 302
    client = _client(people.staff)
    html = _html(client.get(f"/cases/{case.code}/"))
    assert "区城管局" in _section(html, "pending", "</span>")
    assert "approve_extension" in _actions(html) and "refuse_extension" in _actions(html)
    due = Case.objects.get(pk=case.pk).due_at
    resp = client.post(f"/cases/{case.code}/act/approve_extension/", {
        "approve_extension-version": _version(case), "approve_extension-days": "2"})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.pending_request == "" and case.due_at > due


def test_a_grid_worker_verifies_or_sends_back_from_the_list(people, flow, media):
    done = flow.new_case(State.HANDLED, title="已处理一")
    again = flow.new_case(State.HANDLED, title="已处理二")
    client = _client(people.grid_worker)
    html = _html(client.get("/cases/verify/"))
    assert sorted(_codes(html, "verify-list")) == sorted([done.code, again.code])
    assert 'name="next" value="/cases/verify/"' in html
    resp = client.post(f"/cases/{done.code}/act/verify/", {
        "verify-version": _version(done), "verify-evidence": _photo(),
        "next": "/cases/verify/"})
    assert resp.status_code == 302 and resp["Location"] == "/cases/verify/"
    resp = client.post(f"/cases/{again.code}/act/rework/", {
        "rework-version": _version(again), "rework-reason": "垃圾还在",
        "next": "https://evil.example/"})
    assert resp.status_code == 302 and resp["Location"] == f"/cases/{again.code}/"
    assert Case.objects.get(pk=done.pk).state == State.CLOSED
    assert Case.objects.get(pk=again.pk).state == State.HANDLING
    assert _codes(_html(client.get("/cases/verify/")), "verify-list") == []


# -- the resident -------------------------------------------------------------------------------


def test_resident_tracks_only_her_own_cases_by_number(people, flow, make_case):
    own = flow.new_case(State.REGISTERED)
    someone_elses = make_case(actor=people.grid_worker, title="网格员上报")
    client = _client(people.resident)
    resp = client.get(f"/cases/track/?code={own.code.lower()}")
    assert resp.status_code == 302 and resp["Location"] == f"/cases/{own.code}/"
    resp = client.get(f"/cases/track/?code={someone_elses.code}")
    assert resp.status_code == 404
    assert someone_elses.code in _section(_html(resp), "track-error", "</p>")
    assert client.get(f"/cases/{someone_elses.code}/").status_code == 404


def test_resident_rates_a_closed_case_once(people, flow, media):
    case = flow.new_case(State.CLOSED)
    client = _client(people.resident)
    mine = _html(client.get("/cases/mine/"))
    assert re.search(rf'data-code="{case.code}".*?data-testid="todo"', mine, re.S)
    html = _html(client.get(f"/cases/{case.code}/"))
    assert _actions(html) == ["rate"]
    # Officials' names stay inside; the resident sees the department.
    timeline = _section(html, "timeline", "</ol>")
    assert "h_cg" not in timeline and "staff_w" not in timeline and "区城管局" in timeline
    resp = client.post(f"/cases/{case.code}/act/rate/", {
        "rate-version": _version(case), "rate-rating": "5", "rate-comment": "很及时"})
    assert resp.status_code == 302
    html = _html(client.get(f"/cases/{case.code}/"))
    assert "5/5" in _section(html, "rating", "</dd>") and "很及时" in html
    assert _actions(html) == []
    resp = client.post(f"/cases/{case.code}/act/rate/", {
        "rate-version": _version(case), "rate-rating": "1"})
    assert resp.status_code == 409
    assert Case.objects.get(pk=case.pk).rating == 5


# -- scope -------------------------------------------------------------------------------------


def test_a_guessed_case_number_from_another_community_is_404(people, flow, upload):
    case = flow.new_case(State.REPORTED)
    photo = upload(people.resident, case)
    for user in (people.other_staff, people.south_staff, people.other_grid_worker,
                 people.other_resident):
        client = _client(user)
        assert client.get(f"/cases/{case.code}/").status_code == 404, user.username
        resp = client.post(f"/cases/{case.code}/act/register/",
                           {"register-version": _version(case)})
        assert resp.status_code == 404, user.username
        assert client.get(
            f"/api/v1/cases/{case.code}/photos/{photo.pk}/thumb").status_code == 404
    assert Case.objects.get(pk=case.pk).state == State.REPORTED
    assert _client(people.other_staff).get("/cases/WG20990101999999/").status_code == 404


def test_words_beside_case_numbers_are_not_case_numbers():
    from django.urls import Resolver404, resolve

    assert resolve("/cases/WG20250101000001/").url_name == "detail"
    assert resolve("/cases/queue/").url_name == "queue"
    # The routing-rule pages mounted beside the case pages stay theirs.
    assert resolve("/cases/rules/").namespace == "case_rules"
    with pytest.raises(Resolver404):
        resolve("/cases/rules/act/register/")


def test_the_timeline_says_how_long_each_step_took_against_its_deadline(people, flow):
    case = flow.new_case(State.REGISTERED)
    event = CaseEvent.objects.get(case=case, action="register")
    CaseEvent.objects.filter(pk=event.pk).update(
        step_elapsed_ratio=1.37, step_due_at=event.at - timedelta(hours=2))
    html = _html(_zh_client(people.staff).get(f"/cases/{case.code}/"))
    step = _section(html, "step-register", "</div>")
    assert "137%" in step and 'class="ratio late"' in step and 'style="width:100%"' in step
    assert re.search(r"用时 \d+ 分钟", step)
