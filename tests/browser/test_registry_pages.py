"""The registry in a real browser: a grid worker finds a person by the ID mask on a phone,
opens the card and reveals the ID number for a visit — shown in place, on the audit trail.

Marked ``browser``; the registry's fixtures come from tests/registry/conftest.py.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD
from tests.registry.pages_data import build
from tests.registry_factories import ID_A
from wangge.audit.models import AuditRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def city(tree, hukou, elderly_list, correction_tag, civil_affairs):
    return build(tree, hukou, elderly_list, correction_tag, civil_affairs)


def _browser(request):
    """The browser page opener and the live server (fixtures of tests/browser)."""
    return request.getfixturevalue("open_page"), request.getfixturevalue("live_server")


def test_find_by_mask_and_reveal_on_a_phone(request, city, grid_worker):
    opener, server = _browser(request)
    page = opener(390, 844)
    sign_in(page, server, grid_worker.username, PASSWORD)
    page.goto(f"{server.url}/registry/")
    page.fill("input[name=q]", "3701 211X")
    page.click("form[data-testid=registry-search] button[type=submit]")
    page.wait_for_load_state()
    assert "/registry/?s=" in page.url and "211X" not in page.url
    cards = page.locator("[data-testid=person-cards] li[data-person]")
    assert cards.count() == 1 and cards.first.is_visible()
    assert not page.locator("[data-testid=person-table]").is_visible()  # a phone: cards
    screenshot(page, "registry-search-phone")
    cards.first.locator("a.title").click()
    page.wait_for_load_state()
    value = page.locator("[data-testid=value-id_number]")
    assert value.inner_text() == "3701**********211X"
    page.click("[data-testid=reveal-id_number] summary")
    form = page.locator("[data-testid=reveal-id_number] form")
    form.locator("select[name=purpose]").select_option("visit")
    form.locator("input[name=detail]").fill("入户走访")
    form.locator("button").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=value-id_number]').textContent.length == 18 "
        "&& !document.querySelector('[data-testid=value-id_number]').textContent.includes('*')")
    assert value.inner_text() == ID_A
    assert page.locator("#reveal-status-id_number").inner_text().strip()  # said it is recorded
    screenshot(page, "registry-card-phone")
    audit = AuditRecord.objects.get(action="privacy.reveal")
    assert audit.object_id == str(city.a.pk) and audit.purpose == "visit: 入户走访"
    # Reloaded, the card shows the mask again.
    page.reload()
    assert page.locator("[data-testid=value-id_number]").inner_text() == "3701**********211X"


def test_desktop_shows_a_table_and_the_provenance(request, city, grid_worker):
    opener, server = _browser(request)
    page = opener(1280, 900)
    sign_in(page, server, grid_worker.username, PASSWORD)
    page.goto(f"{server.url}/registry/")
    assert page.locator("[data-testid=person-table]").is_visible()
    assert page.locator("[data-testid=person-table] tbody tr[data-person]").count() == 2
    screenshot(page, "registry-search-desktop")
    page.goto(f"{server.url}/registry/persons/{city.b.pk}/")
    assert page.locator("[data-testid=conflict-phone]").is_visible()
    assert page.locator("[data-testid=hidden-records]").is_visible()
    screenshot(page, "registry-card-desktop")
