"""The closed loop in a real browser: one case from the grid worker's phone through the
community, the department and verification to the rating of the resident who raised it (her
number on the report links it to her account), each person seeing what is theirs at each
step; and a resident's own report with a photo that knows where it was taken.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from tests.browser.conftest import sign_in
from tests.cases.conftest import (  # noqa: F401 — fixtures shared with the case tests
    categories,
    departments,
    jpeg_bytes,
    media,
    people,
)
from tests.factories import PASSWORD
from wangge.accounts.services import set_phone
from wangge.cases.models import Case, DeadlineRule, RoutingRule
from wangge.cases.services import CaseInput, submit_case, transition
from wangge.cases.workflow import State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = (375, 740)
# Inside the west community's first grid (box 117.00-117.02, 36.60-36.61).
WHERE = {"latitude": 36.6052, "longitude": 117.0113}
RESIDENT_PHONE = "13905310001"  # 张居民 told the grid worker about the rubbish


def shot(page, name: str) -> Path:
    """A full-page screenshot, /tmp/wg-cpages-<name>.png (or under $WANGGE_SCREENSHOT_DIR)."""
    folder = Path(os.environ.get("WANGGE_SCREENSHOT_DIR") or tempfile.gettempdir())
    path = folder / f"wg-cpages-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def photo_file(name: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg_bytes(size=(640, 480))}


def fits_the_phone(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width}px wide on a {PHONE[0]}px phone"


def state_of(page) -> str:
    return page.get_by_test_id("case-state").inner_text()


def actions(page) -> list[str]:
    return page.get_by_test_id("actions").locator("[data-action]").evaluate_all(
        "els => els.map(e => e.dataset.action)")


def images_loaded(page, selector: str) -> int:
    """How many images under ``selector`` actually decoded (served and allowed). Each is
    scrolled to first, as a person would: the page loads photos lazily."""
    images = page.locator(f"{selector} img")
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel + ' img')].every(i => i.complete)", arg=selector)
    return page.eval_on_selector_all(
        f"{selector} img", "imgs => imgs.filter(i => i.naturalWidth > 0).length")


@pytest.fixture
def city(tree, categories, departments, people, media):  # noqa: F811
    """Routing sends garbage in the street to 城管局 (lead) with 住建局 assisting; every step
    has an eight-working-hour limit, so the traffic lights have something to say."""
    rule = RoutingRule.objects.create(category=categories["env.garbage"],
                                      region=tree["370102001"], lead=departments["CG"])
    rule.assisting.add(departments["ZJ"])
    for step in ("register", "dispatch", "accept", "handle", "verify", "report_in"):
        DeadlineRule.objects.create(category=None, urgency="normal", step=step,
                                    working_hours=Decimal("8"))
    for user in (people.grid_worker, people.staff, people.cg, people.resident):
        user.display_name = {"gw_w1": "王网格", "staff_w": "李社区", "h_cg": "赵城管",
                             "resident_w": "张居民"}[user.username]
        if user is people.resident:
            set_phone(user, RESIDENT_PHONE)
        user.save()
    return people


def test_one_case_from_the_grid_workers_phone_to_closure(city, open_page, live_server):
    url = live_server.url

    # 1. The grid worker, on the phone: report with a photo, the GPS point, one submit.
    phone = open_page(*PHONE)
    phone.context.grant_permissions(["geolocation"], origin=url)
    phone.context.set_geolocation(WHERE)
    sign_in(phone, live_server, "gw_w1", PASSWORD)
    phone.goto(f"{url}/cases/new/")
    tabs = phone.get_by_test_id("case-tabs").inner_text()
    assert "上报案件" in tabs and "待核查" in tabs and "案件队列" not in tabs
    phone.wait_for_selector("#report-map[data-state=ready]")
    assert phone.locator("#report-map path").count() == 1  # the worker's grid outline
    phone.select_option("#category-parent", label="市容环境")
    phone.select_option("[data-testid=category]", label="暴露垃圾")
    phone.fill("[name=title]", "小区门口垃圾堆放")
    phone.fill("[name=description]", "东门外约三立方米生活垃圾，已有异味")
    phone.fill("[name=contact_phone]", RESIDENT_PHONE)
    phone.set_input_files("[data-testid=photo-input]", files=[photo_file("scene.jpg")])
    phone.wait_for_selector("#photo-previews li")
    assert images_loaded(phone, "#photo-previews") == 1
    phone.get_by_test_id("use-gps").click()
    phone.wait_for_selector("[data-testid=where-status][data-state=set]")
    assert "36.605200, 117.011300" in phone.get_by_test_id("where-status").inner_text()
    fits_the_phone(phone)
    shot(phone, "1-report-phone")
    # A nervous double tap still files one case.
    phone.get_by_test_id("submit-report").dblclick()
    phone.wait_for_url(re.compile(r"/cases/WG\d+/$"))
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert (case.lon, case.lat) == (WHERE["longitude"], WHERE["latitude"])
    assert case.region.code == "370102001001001" and case.photos.count() == 1
    assert case.requester == city.resident and case.reporter_contact_masked == "139****0001"
    assert f"已上报，案件编号 {case.code}" in phone.locator(".messages").inner_text()
    assert state_of(phone) == "已上报"
    assert actions(phone) == []  # now it is the community's turn
    assert images_loaded(phone, "[data-testid=photos]") == 1
    fits_the_phone(phone)
    shot(phone, "2-reported-phone")

    # 2. Community staff, at the desk: the queue, register, dispatch as the rule suggests.
    # An older report has waited past its registration deadline: it heads the queue, red.
    late, _ = submit_case(city.resident, CaseInput(
        category="road.manhole", title="井盖缺失", lon=117.005, lat=36.603, crs="wgs84"))
    now = timezone.now()
    Case.objects.filter(pk=late.pk).update(step_started_at=now - timedelta(days=9),
                                           due_at=now - timedelta(days=2))
    desk = open_page()
    sign_in(desk, live_server, "staff_w", PASSWORD)
    desk.goto(f"{url}/cases/queue/")
    rows = desk.locator("[data-testid=queue] tbody tr")
    assert rows.evaluate_all("trs => trs.map(tr => tr.dataset.code)") == [late.code, case.code]
    assert rows.nth(0).locator("[data-light=red]").inner_text() == "超时"
    row = desk.locator(f"tr[data-code='{case.code}']")
    assert row.locator("[data-light=green]").inner_text() == "正常"
    assert "小区门口垃圾堆放" in row.inner_text()
    assert desk.get_by_test_id("count-overdue").inner_text() == "1"
    shot(desk, "2b-queue")
    row.get_by_role("link", name=case.code).click()
    assert actions(desk) == ["register", "reject", "merge", "void"]
    desk.get_by_test_id("do-register").click()
    assert "已完成：立案" in desk.locator(".messages").inner_text()
    assert state_of(desk) == "已立案"
    dispatch = desk.locator("details[data-action=dispatch]")
    dispatch.locator("summary").click()
    assert dispatch.get_by_test_id("route-suggestion").inner_text() == \
        "派遣规则建议：区城管局主办，区住建局协办。"
    assert desk.input_value("[name=dispatch-lead]") == "CG"
    assert desk.is_checked("[name=dispatch-assisting][value=ZJ]")
    shot(desk, "3-dispatch-form")
    desk.get_by_test_id("do-dispatch").click()
    assert state_of(desk) == "已派遣"
    departments_text = desk.get_by_test_id("assignments").inner_text()
    assert "区城管局" in departments_text and "主办" in departments_text
    assert "区住建局" in departments_text and "协办" in departments_text

    # 3. The lead department's handler, on site with a phone: inbox, accept, handle with an
    # evidence photo.
    dept = open_page(*PHONE)
    sign_in(dept, live_server, "h_cg", PASSWORD)
    dept.goto(f"{url}/cases/inbox/")
    card = dept.locator(f"li[data-code='{case.code}']")
    assert "主办" in card.inner_text()
    card.get_by_role("link", name=case.code).click()
    assert actions(dept) == ["accept", "return"]
    dept.get_by_test_id("do-accept").click()
    assert state_of(dept) == "处置中"
    dept.locator("details[data-action=handle] > summary").click()
    dept.fill("[name=handle-note]", "已组织清运，现场已清理干净")
    dept.set_input_files("[name=handle-evidence]", files=[photo_file("cleaned.jpg")])
    fits_the_phone(dept)
    shot(dept, "4a-handle-form-phone")
    dept.get_by_test_id("do-handle").click()
    assert state_of(dept) == "已处置，待核查"
    handled = dept.locator("[data-testid=timeline] li[data-action=handle]")
    assert "已组织清运" in handled.inner_text() and "赵城管" in handled.inner_text()
    assert images_loaded(dept, "[data-testid=timeline] li[data-action=handle]") == 1
    fits_the_phone(dept)
    shot(dept, "4b-handled-phone")

    # 4. Back on the grid worker's phone: the fix waits for verification; look, verify.
    phone.goto(f"{url}/cases/verify/")
    card = phone.locator(f"li[data-code='{case.code}']")
    card.locator("details[data-action=verify] > summary").click()
    card.locator("[name=verify-evidence]").set_input_files(files=[photo_file("checked.jpg")])
    fits_the_phone(phone)
    shot(phone, "5-verify-phone")
    card.get_by_test_id("do-verify").click()
    phone.wait_for_url(re.compile(r"/cases/verify/$"))
    assert "已完成：核查结案" in phone.locator(".messages").inner_text()
    assert phone.get_by_test_id("empty").is_visible()
    phone.goto(f"{url}/cases/{case.code}/")
    assert state_of(phone) == "已结案"
    timeline = phone.locator("[data-testid=timeline] > li").evaluate_all(
        "items => items.map(li => li.dataset.action)")
    assert timeline == ["report", "register", "dispatch", "accept", "handle", "verify"]
    # Each step that ended says how long it took and what share of its limit it used.
    for step in ("register", "dispatch", "accept", "handle", "verify"):
        text = phone.get_by_test_id(f"step-{step}").inner_text()
        assert "用时" in text and "%" in text, (step, text)
    assert images_loaded(phone, "[data-testid=photos]") == 3
    fits_the_phone(phone)
    shot(phone, "6-closed-phone")

    # 5. The resident who raised it: told in her inbox, finds it among her matters, rates it.
    resident = open_page(*PHONE)
    sign_in(resident, live_server, "resident_w", PASSWORD)
    resident.goto(f"{url}/notifications/")
    assert case.code in resident.locator("body").inner_text()
    resident.goto(f"{url}/cases/mine/")
    card = resident.locator(f"li[data-code='{case.code}']")
    assert "已结案" in card.inner_text()
    card.get_by_test_id("todo").click()
    timeline = resident.get_by_test_id("timeline").inner_text()
    # Officials' names stay inside: she sees the department that acted, not the person.
    assert "区城管局" in timeline and "赵城管" not in timeline and "李社区" not in timeline
    assert actions(resident) == ["rate"]
    resident.locator("details[data-action=rate] > summary").click()
    resident.locator("[name=rate-rating][value='5']").check()
    resident.fill("[name=rate-comment]", "处理得很及时，谢谢")
    fits_the_phone(resident)
    shot(resident, "7-rate-phone")
    resident.get_by_test_id("do-rate").click()
    assert "5/5" in resident.get_by_test_id("rating").inner_text()
    assert "感谢您的评价" in resident.get_by_test_id("actions").inner_text()
    assert Case.objects.get(pk=case.pk).rating == 5
    shot(resident, "8-rated-phone")

    # 6. Another resident can't open it, not even with its number.
    other = open_page(*PHONE)
    sign_in(other, live_server, "resident_e", PASSWORD)
    other.goto(f"{url}/cases/track/")
    other.fill("[data-testid=track-code]", case.code)
    other.get_by_role("button", name="查询").click()
    assert case.code in other.get_by_test_id("track-error").inner_text()


def test_a_resident_reports_follows_and_rates_her_own_case(city, open_page, live_server):
    url = live_server.url
    phone = open_page(*PHONE)
    phone.context.grant_permissions(["geolocation"], origin=url)
    phone.context.set_geolocation(WHERE)
    sign_in(phone, live_server, "resident_w", PASSWORD)
    phone.goto(f"{url}/cases/new/")
    assert phone.locator("[name=urgency]").count() == 0  # the simple form
    phone.select_option("#category-parent", label="市容环境")
    phone.select_option("[data-testid=category]", label="暴露垃圾")
    phone.fill("[name=title]", "楼下垃圾没人清")
    phone.fill("[name=contact_phone]", "13812345678")
    # A photo that knows where it was taken: its EXIF position is offered as the point.
    tagged = {"name": "mine.jpg", "mimeType": "image/jpeg",
              "buffer": jpeg_bytes(gps=(WHERE["longitude"], WHERE["latitude"]))}
    phone.set_input_files("[data-testid=photo-input]", files=[tagged])
    phone.wait_for_selector("#photo-previews li")
    phone.wait_for_selector("[data-testid=where-status][data-state=set]")
    assert "照片位置" in phone.get_by_test_id("where-status").inner_text()
    fits_the_phone(phone)
    shot(phone, "0-resident-report-phone")
    phone.get_by_test_id("submit-report").click()
    phone.wait_for_url(re.compile(r"/cases/WG\d+/$"))
    case = Case.objects.get()
    assert case.source == "resident" and case.reporter_contact_masked == "138****5678"
    assert abs(case.lon - WHERE["longitude"]) < 1e-6 and abs(case.lat - WHERE["latitude"]) < 1e-6
    assert state_of(phone) == "已上报"

    # The desk and the department do their part (walked in the browser by the test above).
    p = city
    for actor, action, inputs in (
            (p.staff, "register", {}), (p.staff, "dispatch", {}), (p.cg, "accept", {}),
            (p.cg, "handle", {"note": "已清运", "evidence": "cg"}),
            (p.grid_worker, "verify", {"evidence": "gw"})):
        if "evidence" in inputs:
            from django.core.files.uploadedfile import SimpleUploadedFile

            from wangge.cases.services import add_photo
            upload = SimpleUploadedFile("e.jpg", jpeg_bytes(), "image/jpeg")
            inputs = {**inputs, "evidence": [add_photo(actor, None, upload).pk]}
        transition(actor, case.pk, action, **inputs)
    assert Case.objects.get(pk=case.pk).state == State.CLOSED

    phone.goto(f"{url}/cases/mine/")
    card = phone.locator(f"li[data-code='{case.code}']")
    assert "已结案" in card.inner_text()
    card.get_by_test_id("todo").click()
    timeline = phone.get_by_test_id("timeline").inner_text()
    # Officials' names stay inside: the resident sees the department that acted.
    assert "区城管局" in timeline and "赵城管" not in timeline and "李社区" not in timeline
    assert actions(phone) == ["rate"]
    phone.locator("details[data-action=rate] > summary").click()
    phone.locator("[name=rate-rating][value='5']").check()
    phone.fill("[name=rate-comment]", "处理得很及时，谢谢")
    fits_the_phone(phone)
    shot(phone, "9-own-rate-phone")
    phone.get_by_test_id("do-rate").click()
    assert "5/5" in phone.get_by_test_id("rating").inner_text()
    assert "感谢您的评价" in phone.get_by_test_id("actions").inner_text()
    assert Case.objects.get(pk=case.pk).rating == 5
    shot(phone, "9-own-rated-phone")
