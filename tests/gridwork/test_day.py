"""The grid worker's day page (网格员工作台): what it lists, the plain-form path through sync,
the service worker, the visit page and the report prefill."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.cases.models import Case
from wangge.gridwork.day import patrols
from wangge.gridwork.day.service import quick_fields, today
from wangge.gridwork.models import SyncReceipt, TaskTarget, Visit

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def test_day_lists_targets_visits_and_counts(client, campaign, care, grid_worker):
    signed_in(client, grid_worker)
    with translation.override("en"):
        page = client.get("/gridwork/day/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    targets = TaskTarget.objects.filter(region=grid_worker.region)
    assert targets.count() == 3
    for t in targets:
        assert f'data-target="{t.pk}"' in html and f'data-testid="quick-{t.pk}"' in html
    other = TaskTarget.objects.exclude(region=grid_worker.region).first()
    assert f'data-target="{other.pk}"' not in html
    # 王 and 李 are due (never visited); 赵's tag and 钱 (grid 2) are not shown.
    assert f'data-person="{care["wang"].pk}"' in html and f'data-person="{care["li"].pk}"' in html
    assert f'data-person="{care["zhao"].pk}"' not in html
    assert f'data-person="{care["qian"].pk}"' not in html
    assert "王秀英" not in html  # masked
    assert 'data-testid="count-targets">3<' in html
    assert "sw.js" in html and "day.js" in html


def test_day_in_chinese_by_default(client, grid_worker):
    client.force_login(grid_worker)
    with translation.override("zh-hans"):
        html = client.get("/gridwork/day/").content.decode()
    assert 'lang="zh-hans"' in html


def test_quick_fields_rule():
    assert [f.input for f in quick_fields(["residents_present", "gas_safety_hazard"])] == \
        ["number", "select"]
    # Any number of fields is asked on the day page, so a long form works offline too.
    assert len(quick_fields(["residents_present", "gas_safety_hazard", "check_note",
                             "hazards_found"])) == 4
    assert quick_fields(["phone"]) is None  # personal values are never asked inline


def test_roles_without_grid_work_are_refused(client, handler, tree):
    client.force_login(handler)
    assert client.get("/gridwork/day/").status_code == 403
    resident = make_user("resident2", Role.RESIDENT, tree["370102001001001"])
    client.force_login(resident)
    assert client.get("/gridwork/day/").status_code == 403
    anonymous = Client()
    assert anonymous.get("/gridwork/day/").status_code == 302


def test_plain_form_goes_through_sync(client, campaign, care, grid_worker):
    signed_in(client, grid_worker)
    target = TaskTarget.objects.filter(region=grid_worker.region).first()
    form = {"kind": "target", "key": "plain-form-0001", "label": "x",
            "base_version": str(target.version), "p.target": str(target.pk),
            "p.status": "done", "r.residents_present": "2", "r.gas_safety_hazard": "no"}
    answer = client.post("/gridwork/day/submit/", form)
    assert answer.status_code == 302 and answer["Location"] == "/gridwork/day/"
    client.post("/gridwork/day/submit/", form)  # a double submit
    target.refresh_from_db()
    assert target.status == "done" and SyncReceipt.objects.count() == 1
    # A visit from the person's page, back to that page.
    wang = care["wang"]
    back = f"/gridwork/day/visits/{wang.pk}/"
    answer = client.post("/gridwork/day/submit/", {
        "kind": "visit", "key": "plain-visit-001", "p.person": str(wang.pk),
        "p.tag": str(care["elderly"].pk), "p.outcome": "well", "p.note": "精神很好",
        "next": back})
    assert answer["Location"] == back
    assert Visit.objects.get().note == "精神很好"
    page = client.get(back).content.decode()
    assert "精神很好" in page and "王秀英" not in page
    # An outside "next" is not followed.
    answer = client.post("/gridwork/day/submit/", {"kind": "visit", "key": "plain-visit-002",
                                                   "next": "https://evil.example/"})
    assert answer["Location"] == "/gridwork/day/"
    assert SyncReceipt.objects.filter(outcome="refused").count() == 1


def test_plain_quick_report_posts_its_photo(client, help_categories, grid_worker):
    """Without JavaScript the report form posts the photo as a file; it is filed the same
    way as a photo the phone kept."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from wangge.cases.models import Case

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(out, "PNG")
    signed_in(client, grid_worker)
    answer = client.post("/gridwork/day/submit/", {
        "kind": "case", "key": "plain-case-0001", "p.category": "env.garbage",
        "p.title": "绿化带倒伏", "p.lon": "117.01", "p.lat": "36.605",
        "photo": SimpleUploadedFile("IMG_0001.png", out.getvalue(), "image/png")})
    assert answer.status_code == 302
    case = Case.objects.get(title="绿化带倒伏")
    assert [(p.content_type, p.width) for p in case.photos.all()] == [("image/png", 40)]
    # A file that is not a photo: refused with the photo service's words, nothing filed.
    answer = client.post("/gridwork/day/submit/", {
        "kind": "case", "key": "plain-case-0002", "p.category": "env.garbage",
        "p.title": "井盖缺失", "p.lon": "117.01", "p.lat": "36.605",
        "photo": SimpleUploadedFile("notes.txt", b"just text", "text/plain")}, follow=True)
    assert "not a JPEG, PNG or WebP" in answer.content.decode()
    assert not Case.objects.filter(title="井盖缺失").exists()


def test_visit_page_of_someone_not_on_my_lists(client, care, grid_worker):
    client.force_login(grid_worker)
    assert client.get(f"/gridwork/day/visits/{care['zhao'].pk}/").status_code == 404
    assert client.get(f"/gridwork/day/visits/{care['qian'].pk}/").status_code == 404


def test_conflicts_listed_and_dismissed(client, campaign, grid_worker, community_staff):
    from wangge.gridwork.day.sync import sync

    target = TaskTarget.objects.filter(region=grid_worker.region).first()
    done = {"status": "done", "result": {"residents_present": "2", "gas_safety_hazard": "no"},
            "target": target.pk}
    sync(community_staff, [{"key": "first-one-00001", "kind": "target", "payload": done}])
    sync(grid_worker, [{"key": "second-one-0001", "kind": "target", "payload": done}])
    signed_in(client, grid_worker)
    html = client.get("/gridwork/day/").content.decode()
    assert 'data-key="second-one-0001"' in html and 'data-outcome="conflict"' in html
    answer = client.post("/gridwork/day/dismiss/", {"key": "second-one-0001"},
                         HTTP_ACCEPT="application/json")
    assert answer.json() == {"key": "second-one-0001", "dismissed": True}
    assert 'data-key="second-one-0001"' not in client.get("/gridwork/day/").content.decode()
    # Another worker's key is not found.
    assert client.post("/gridwork/day/dismiss/", {"key": "first-one-00001"},
                       HTTP_ACCEPT="application/json").status_code == 404


def test_service_worker_is_served_for_the_day_scope(client, grid_worker):
    answer = client.get("/gridwork/day/sw.js")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/javascript")
    assert answer["Service-Worker-Allowed"] == "/gridwork/day/"
    body = answer.content.decode()
    assert '"page": "/gridwork/day/"' in body and "/static/gridwork/day/day.js" in body
    assert "addEventListener(\"fetch\"" in body


def test_patrols_listed_with_distance(client, grid_worker):
    t0 = timezone.now() - datetime.timedelta(hours=1)
    patrols.start_patrol(grid_worker, key="page-patrol-01", started_at=t0.isoformat())
    patrols.add_points(grid_worker, key="page-patrol-01", points=[
        {"at": t0.isoformat(), "lon": 117.0, "lat": 36.6},
        {"at": (t0 + datetime.timedelta(minutes=1)).isoformat(), "lon": 117.001, "lat": 36.6}])
    patrols.end_patrol(grid_worker, key="page-patrol-01")
    day = today(grid_worker)
    assert day.open_patrol is None and len(day.patrols) == 1
    signed_in(client, grid_worker)
    html = client.get("/gridwork/day/").content.decode()
    assert 'data-testid="patrol-distance">89 m<' in html and 'id="track-map"' in html


def test_cases_to_verify_and_report_prefill(client, grid_worker, help_categories, tree):
    from wangge.cases.services import CaseInput, submit_case
    from wangge.cases.workflow import State

    reporter = make_user("west_staff3", Role.STAFF, tree["370102001001"])
    case, _ = submit_case(reporter, CaseInput(category="env.garbage", title="垃圾",
                                              lon=117.01, lat=36.605, crs="wgs84"))
    Case.objects.filter(pk=case.pk).update(state=State.HANDLED)
    signed_in(client, grid_worker)
    html = client.get("/gridwork/day/").content.decode()
    assert f"/cases/{case.code}/" in html and 'data-testid="count-cases">1<' in html
    form = client.get("/cases/new/?lon=117.0123&lat=36.6045").content.decode()
    assert 'value="117.0123"' in form and 'value="36.6045"' in form
    assert client.get("/cases/new/?lon=abc").status_code == 200
