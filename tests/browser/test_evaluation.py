"""Evaluation in a real browser: a district leader ranks the communities of a street, reads
the trend, opens a community's card with its radar chart and indicators — on a phone too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.evaluation.conftest import (  # noqa: F401 — the evaluation fixtures
    _quick_password_hashing,
    categories,
    clock,
    departments,
    flow,
    limits,
    make_case,
    media,
    people,
    script,
    upload,
    week,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUERY = "unit=community&node=370102001&start=2025-06-09&end=2025-06-15"


def test_a_leader_reads_the_ranking_and_a_card(week, people, clock, live_server,  # noqa: F811
                                              open_page):
    clock.set(datetime.now(UTC))  # the week is built; sign-in runs on real time
    for width, height, name in ((1280, 800, "evaluation"), (375, 740, "evaluation-phone")):
        page = open_page(width, height)
        sign_in(page, live_server, people.command.username, PASSWORD)
        page.goto(f"{live_server.url}/evaluation/?{QUERY}")
        rows = page.locator("[data-testid=ranking] tbody tr")
        assert rows.count() == 2
        assert rows.first.get_attribute("data-key") == "370102001001"
        page.wait_for_selector("#ranking-chart canvas")
        screenshot(page, name)
        page.click("[data-testid=ranking] a:has-text('东社区')")
        page.wait_for_selector("#unit-radar canvas")
        assert page.locator("[data-testid=unit-name]").inner_text() == "东社区"
        assert page.locator("[data-testid=indicators] tr[data-indicator]").count() == 16
        screenshot(page, f"{name}-card")
