"""The grid worker's day on a phone, partly offline (issue 6 §3): targets completed online and
offline, a visit recorded offline, the page reloaded from the service worker without network,
the outbox sent once when the connection returns, and a conflict shown.

Marked ``browser``; runs Debian's Chromium through Playwright against the live server.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD
from tests.gridwork.conftest import (  # noqa: F401 — fixtures
    admitted_item,
    campaign,
    care,
    help_categories,
    homes,
    reviewer,
)
from wangge.gridwork.models import SyncReceipt, TargetStatus, TaskTarget, Visit
from wangge.gridwork.tasks import service as tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setting(request):
    """A launched campaign (three households in the worker's grid) and a key-care person."""
    request.getfixturevalue("campaign")
    people = request.getfixturevalue("care")
    worker = request.getfixturevalue("grid_worker")
    staff = request.getfixturevalue("community_staff")
    targets = list(TaskTarget.objects.filter(region=worker.region).order_by("label", "pk"))
    assert len(targets) == 3
    return people, worker, staff, targets


def outbox_count(page) -> int:
    return int(page.locator("[data-testid=outbox-count]").get_attribute("data-count"))


def wait_outbox(page, n: int) -> None:
    page.wait_for_function(
        f"document.getElementById('outbox-count').dataset.count === '{n}'", timeout=15_000)


def done(targets) -> dict[int, str]:
    return {t.pk: t.status for t in TaskTarget.objects.filter(pk__in=[t.pk for t in targets])}


def day_page_offline(request, worker):
    """The worker's day page on a phone, signed in and loaded, then the signal gone."""
    opener, server = request.getfixturevalue("open_page"), request.getfixturevalue("live_server")
    page = opener(375, 740)
    sign_in(page, server, worker.username, PASSWORD)
    page.goto(f"{server.url}/gridwork/day/")
    page.context.set_offline(True)
    page.wait_for_function("document.getElementById('net-badge').dataset.state === 'offline'")
    return page


def complete(page, target, residents: str) -> None:
    page.click(f"[data-testid=open-{target.pk}]")  # each form is folded under its target
    form = page.locator(f"[data-testid=quick-{target.pk}]")
    form.locator("input[name='r.residents_present']").fill(residents)
    form.locator("select[name='r.gas_safety_hazard']").select_option("no")
    page.click(f"[data-testid=done-{target.pk}]")


def test_phone_completes_targets_partly_offline(request, setting, tmp_path):
    people, worker, staff, (t1, t2, t3) = setting
    opener, server = request.getfixturevalue("open_page"), request.getfixturevalue("live_server")
    page = opener(375, 740)
    context = page.context
    sign_in(page, server, worker.username, PASSWORD)
    page.goto(f"{server.url}/gridwork/day/")
    assert page.locator("[data-testid=net-badge]").get_attribute("data-state") == "online"
    for t in (t1, t2, t3):
        assert page.locator(f"[data-testid=target-{t.pk}]").is_visible()
    # The service worker is installed and keeps the page and its assets.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    assert page.evaluate("caches.keys().then(k => k.length)") == 1
    assert page.locator("body").evaluate("b => b.scrollWidth") <= 375  # fits the phone

    # Online: one target, sent at once.
    complete(page, t1, "2")
    page.wait_for_function(f"document.querySelector('[data-testid=target-{t1.pk}]')"
                           ".classList.contains('sent')")
    assert done([t1])[t1.pk] == TargetStatus.DONE

    # Offline: two targets and a visit stay on the phone.
    context.set_offline(True)
    page.wait_for_function("document.getElementById('net-badge').dataset.state === 'offline'")
    complete(page, t2, "3")
    complete(page, t3, "1")
    visit_form = page.locator(
        f"[data-testid=visit-form-{people['wang'].pk}-{people['elderly'].pk}]")
    visit_form.locator("input[name='p.note']").fill("精神很好")
    visit_form.locator("[data-testid=outcome-well]").click()
    wait_outbox(page, 3)
    assert page.locator(f"[data-testid=target-{t2.pk}] .waiting-note").is_visible()
    assert "3" in page.locator("[data-testid=outbox-count]").inner_text()
    assert done([t2, t3]) == {t2.pk: "pending", t3.pk: "pending"}
    assert Visit.objects.count() == 0 and SyncReceipt.objects.count() == 1
    saved_outbox = page.evaluate(f"localStorage.getItem('wangge.day.outbox.{worker.pk}')")
    screenshot(page, "day-offline-phone")

    # Reloaded without network: the service worker serves the kept page; the outbox is there.
    response = page.reload()
    assert response is not None and response.from_service_worker
    # The kept copy is the one saved at install (before t1 was done): t1 shows as sent.
    assert page.locator(f"[data-testid=target-{t1.pk}]").get_attribute("class").count("sent")
    assert outbox_count(page) == 3
    assert page.locator("[data-testid=net-badge]").get_attribute("data-state") == "offline"
    assert Visit.objects.count() == 0

    # Meanwhile the community's staff completed t3 (at the desk).
    tasks.complete_target(staff, t3.pk, status="done",
                          result={"residents_present": "4", "gas_safety_hazard": "yes"},
                          idempotency_key="desk-0000001")

    # Back online: the outbox is sent; t2 and the visit applied, t3 a conflict.
    context.set_offline(False)
    wait_outbox(page, 0)
    page.wait_for_selector("[data-testid=problems] li[data-outcome=conflict]")
    problem = page.locator("[data-testid=problems] li[data-outcome=conflict]")
    assert "west_staff" in problem.inner_text()
    statuses = done([t1, t2, t3])
    assert statuses == {t1.pk: "done", t2.pk: "done", t3.pk: "done"}
    t3.refresh_from_db()
    assert t3.done_by == staff and t3.result["residents_present"] == "4"  # not overwritten
    assert Visit.objects.count() == 1 and Visit.objects.get().note == "精神很好"
    receipts = SyncReceipt.objects.count()

    # A second flush of the very same items (as if the answer had been lost) adds nothing.
    page.evaluate(f"localStorage.setItem('wangge.day.outbox.{worker.pk}', {saved_outbox!r})")
    page.click("[data-testid=flush-now]")
    wait_outbox(page, 0)
    assert Visit.objects.count() == 1 and SyncReceipt.objects.count() == receipts
    assert TaskTarget.objects.filter(done_by=worker).count() == 2
    screenshot(page, "day-back-online-phone")

    # The conflict is dismissed and stays gone after a reload.
    problem.locator("button").click()
    page.wait_for_selector("[data-testid=problems] li", state="detached")
    page.reload()
    assert page.locator("[data-testid=problems] li").count() == 0

    # Signing out forgets the page kept for offline use (a shared phone's next user).
    assert page.evaluate("caches.keys().then(ks => ks.filter(k => k.startsWith('wangge-day-')))")
    page.locator("form[action$='logout/'] button").click()
    page.wait_for_load_state()
    kept = "caches.keys().then(ks => ks.filter(k => k.startsWith('wangge-day-')))"
    for _ in range(50):  # the signed-out page deletes them as it loads
        if not page.evaluate(kept):
            break
        page.wait_for_timeout(100)
    assert page.evaluate(kept) == []


def test_phone_answers_a_collection_form_offline(request, tmp_path):
    """A form's person (采集表) answered on the day page without signal, sent once later."""
    from tests.catalog.test_collection_support import build_people, issued_form, visits_dataset
    from wangge.catalog.models import FormTarget

    people = build_people(request.getfixturevalue("tree"), request.getfixturevalue("hukou"),
                          request.getfixturevalue("elderly_list"))
    visits_dataset(request.getfixturevalue("civil_affairs"))
    form = issued_form(request.getfixturevalue("handler"))
    worker = request.getfixturevalue("grid_worker")
    target = FormTarget.objects.get(form=form, person=people.p1)
    page = day_page_offline(request, worker)
    page.click(f"[data-testid=form-open-{target.pk}]")
    quick = page.locator(f"[data-testid=form-quick-{target.pk}]")
    quick.locator("input[name='r.health_note']").fill("血压偏高")
    quick.locator("select[name='r.living_alone']").select_option("yes")
    page.click(f"[data-testid=form-send-{target.pk}]")
    wait_outbox(page, 1)
    assert page.locator(f"[data-testid=form-target-{target.pk}] .waiting-note").is_visible()
    target.refresh_from_db()
    assert target.answered_at is None
    page.context.set_offline(False)
    wait_outbox(page, 0)
    page.wait_for_function(f"document.querySelector('[data-testid=form-target-{target.pk}]')"
                           ".classList.contains('sent')")
    target.refresh_from_db()
    assert target.answered_by == worker
    assert SyncReceipt.objects.filter(user=worker, kind="form", outcome="applied").count() == 1


def test_phone_reports_with_a_photo_offline(request, tmp_path):
    """A quick report with a photo taken without signal: the photo is shrunk and kept on
    the phone with the report, and both are filed once the connection returns."""
    from PIL import Image

    from wangge.cases.models import Case

    request.getfixturevalue("help_categories")
    worker = request.getfixturevalue("grid_worker")
    shot = tmp_path / "IMG_2041.jpg"
    Image.new("RGB", (2400, 1800), (90, 90, 90)).save(shot, "JPEG")
    page = day_page_offline(request, worker)
    form = page.locator("#quick-case")
    form.locator("select[name='p.category']").select_option("env.garbage")
    form.locator("input[name='p.title']").fill("楼道堆放杂物")
    form.locator("input[name='p.address']").fill("阳光花园3号楼楼道")
    form.locator("[data-testid=quick-case-photo]").set_input_files(str(shot))
    page.click("[data-testid=quick-case-send]")
    wait_outbox(page, 1)
    assert Case.objects.count() == 0
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('wangge.day.outbox.{worker.pk}'))"
                         "[0].payload.photos")
    assert len(kept) == 1 and kept[0].startswith("data:image/jpeg;base64,")
    assert form.locator("input[name='p.title']").input_value() == ""  # ready for the next
    page.context.set_offline(False)
    wait_outbox(page, 0)
    case = Case.objects.get()
    assert (case.title, case.reporter) == ("楼道堆放杂物", worker)
    photo = case.photos.get()
    assert (photo.width, photo.height) == (1600, 1200)  # shrunk on the phone, not cropped
    assert SyncReceipt.objects.filter(user=worker, kind="case", outcome="applied").count() == 1
