"""Briefings in a real browser: a street's staff opens her weekly briefing and sees its
charts drawn (and the page laid out for A4 when printed); anyone, logged out on a phone,
reads the public page with its chart and the matters list."""

from __future__ import annotations

import pytest

from tests.briefings.conftest import (  # noqa: F401 — fixtures shared with the briefing tests
    NOW,
    STREET,
    D,
    history,
    personal,
)
from tests.browser.conftest import screenshot, sign_in
from tests.cases.conftest import (  # noqa: F401 — fixtures shared with the case tests
    categories,
    departments,
    flow,
    make_case,
    media,
    people,
    upload,
)
from tests.factories import PASSWORD
from wangge.briefings import service
from wangge.regions.models import Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_street_reads_its_briefing_with_charts(history, people, open_page,  # noqa: F811
                                                 live_server):
    briefing, _ = service.generate(Region.objects.get(code=STREET), "weekly", D, now=NOW)
    page = open_page()
    sign_in(page, live_server, people.street_staff.username, PASSWORD)
    page.goto(f"{live_server.url}/briefings/")
    page.click(f"tr[data-id='{briefing.pk}'] a >> nth=0")
    page.wait_for_selector("[data-chart='headline'] svg")
    for key in ("headline", "children", "categories"):
        assert page.locator(f"[data-chart='{key}'] svg").count() == 1, key
    assert "E 井盖缺失" in page.locator("[data-section='overdue']").inner_text()
    screenshot(page, "briefing")
    page.emulate_media(media="print")
    assert page.locator("header.topbar").is_hidden()
    assert page.get_by_test_id("xlsx").is_hidden()
    with page.expect_download() as download:
        page.emulate_media(media="screen")
        page.get_by_test_id("xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_the_public_page_on_a_phone_logged_out(history, open_page, live_server):  # noqa: F811
    page = open_page(375, 740)
    page.goto(f"{live_server.url}/public/?node={STREET}")
    page.wait_for_selector("#public-chart svg")
    assert page.get_by_test_id("matters").locator("tbody tr").count() == 5
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide on a 375px phone"
    page.select_option("select[name=node]", "370102")
    page.wait_for_url("**node=370102")
    assert "历下区" in page.locator("h1").inner_text()
    screenshot(page, "public")
