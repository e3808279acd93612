"""Issue 6's first walk in a real browser: a department's item is admitted and a campaign
launched on it.

民政局's handler applies on the matters list for a gas-safety door-to-door check; the
district's command centre admits it; the handler drafts a campaign on it over every household
of 解放路街道, launches it, and the progress page shows 0 % of the street's 6 households, a
map of its communities and a table. A grid worker then completes one household, and the page
shows the new share.
"""

from __future__ import annotations

import datetime

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD
from tests.gridwork.conftest import homes, reviewer  # noqa: F401 — fixtures
from wangge.core.clock import today as clock_today
from wangge.gridwork.models import MatterItem, Task, TaskStatus, TaskTarget

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STREET = "370102001"


def test_item_admitted_then_campaign_launched_and_followed(
        request, tree, handler, reviewer, grid_worker, homes):  # noqa: F811
    open_page = request.getfixturevalue("open_page")
    server = request.getfixturevalue("live_server")
    today = clock_today()

    # 1. The department applies for the item on the matters list.
    dept = open_page(1280, 900)
    sign_in(dept, server, handler.username, PASSWORD)
    dept.goto(f"{server.url}/gridwork/matters/")
    form = dept.locator("[data-testid=apply] form")
    form.locator("input[name=name]").fill("燃气安全入户排查")
    form.locator("textarea[name=basis]").fill("《城镇燃气管理条例》第四十一条")
    form.locator("textarea[name=duties]").fill("入户查看燃气具和管线，登记实住人数")
    form.locator("select[name=frequency]").select_option("monthly")
    form.locator("input[name=fields][value=residents_present]").check()
    form.locator("input[name=fields][value=gas_safety_hazard]").check()
    form.locator("button[type=submit]").click()
    dept.wait_for_load_state()
    item = MatterItem.objects.get()
    assert dept.locator("[data-testid=item]").get_attribute("data-status") == "applied"

    # Until it is admitted, the new-task form has nothing to offer but the way to apply.
    dept.goto(f"{server.url}/gridwork/tasks/new/")
    assert dept.locator("[data-testid=no-items]").is_visible()

    # 2. The district's command centre admits it.
    command = open_page(1280, 900)
    sign_in(command, server, reviewer.username, PASSWORD)
    command.goto(f"{server.url}/gridwork/matters/{item.pk}/")
    command.click("[data-testid=decide] button[data-action=admit]")
    command.wait_for_load_state()
    assert command.locator("[data-testid=item]").get_attribute("data-status") == "admitted"

    # 3. The department drafts a campaign over the street's households and launches it.
    dept.goto(f"{server.url}/gridwork/tasks/")
    dept.click("[data-testid=new-task]")
    dept.wait_for_load_state()
    form = dept.locator("[data-testid=task-form] form")
    form.locator("input[name=kind][value=campaign]").check()
    form.locator("input[name=title]").fill("冬季燃气安全入户排查")
    form.locator("select[name=matter]").select_option(str(item.pk))
    form.locator("select[name=region]").select_option(str(tree[STREET].pk))
    form.locator("select[name=target_kind]").select_option("household")
    # Only the chosen item's fields show; place kinds do not apply to households.
    assert not form.locator("[data-field=place_kinds]").is_visible()
    form.locator(f"[data-matter='{item.pk}'] input[value=residents_present]").check()
    form.locator(f"[data-matter='{item.pk}'] input[value=gas_safety_hazard]").check()
    form.locator("input[name=starts_on]").fill(today.isoformat())
    form.locator("input[name=due_on]").fill((today + datetime.timedelta(days=30)).isoformat())
    screenshot(dept, "gridwork-campaign-form")
    form.locator("[data-testid=save-draft]").click()
    dept.wait_for_load_state()
    task = Task.objects.get()
    assert task.status == TaskStatus.DRAFT and task.fields == ["residents_present",
                                                               "gas_safety_hazard"]
    dept.click("[data-testid=actions] button[data-action=launch]")
    dept.wait_for_load_state()
    assert dept.locator("[data-testid=task]").get_attribute("data-status") == "launched"
    assert dept.locator("[data-testid=total]").inner_text() == "6"
    assert dept.locator("[data-testid=percent]").inner_text() == "0.0%"
    rows = dept.locator("[data-testid=children] tbody tr")
    assert rows.count() == 2  # the street's two communities
    dept.wait_for_selector("[data-testid=progress-map][data-state=ready]")
    assert dept.locator("[data-testid=progress-map]").get_attribute("data-drawn") == "2"
    screenshot(dept, "gridwork-campaign-launched")

    # 4. A grid worker completes a household on his phone; the page shows the new share.
    target = TaskTarget.objects.filter(task=task, assignee=grid_worker).order_by("pk").first()
    phone = open_page(390, 844)
    sign_in(phone, server, grid_worker.username, PASSWORD)
    phone.goto(f"{server.url}/gridwork/tasks/targets/{target.pk}/")
    form = phone.locator("[data-testid=complete-form]")
    form.locator("input[name=residents_present]").fill("3")
    form.locator("button[type=submit]").click()  # the hazard question left unanswered
    phone.wait_for_load_state()
    assert phone.locator("[data-field=gas_safety_hazard] .error").is_visible()
    form = phone.locator("[data-testid=complete-form]")
    form.locator("select[name=gas_safety_hazard]").select_option("no")
    form.locator("input[name=residents_present]").fill("3")
    form.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("[data-testid=target]").get_attribute("data-status") == "done"
    screenshot(phone, "gridwork-campaign-target-phone")
    dept.reload()
    assert dept.locator("[data-testid=done]").inner_text() == "1"
    assert dept.locator("[data-testid=percent]").inner_text() == "16.7%"
    west = dept.locator("[data-testid=children] tr[data-region='370102001001']")
    assert west.locator("[data-col=done]").inner_text() == "1"
    # drill down to the community, then its grid, where the targets are listed
    west.locator("a").click()
    dept.wait_for_load_state()
    dept.locator("[data-testid=children] tr[data-region='370102001001001'] a").click()
    dept.wait_for_load_state()
    assert dept.locator(f"[data-testid=targets] tr[data-target='{target.pk}']") \
        .get_attribute("data-status") == "done"
    screenshot(dept, "gridwork-campaign-grid")
