"""Issue 5's walk in a real browser: a data steward imports a list with bad rows, fixes the
column mapping, commits, and a grid worker then sees the list sent down — his grid's rows only.

The file is 民政局's 独居老人名单 as a street office might send it: the grid column is headed
"网格" (no suggestion knows that header, so at first every row lacks a grid), one ID number has
a wrong check digit and one phone number is short. Mapping "网格" to the grid code leaves the
two genuinely bad rows, which the steward leaves out explicitly; the other rows are written in
one go and reach the grids they belong to.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD
from tests.registry_factories import ID_A, ID_B, ID_C
from wangge.registry.models import ImportSource, SourceRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GRID_1 = "370102001001001"
GRID_2 = "370102001001002"
BAD_CHECK_DIGIT = ID_A[:-1] + ("1" if ID_A[-1] != "1" else "2")

ROWS = [
    ("姓名", "身份证号", "联系电话", "住址", "网格"),
    ("王秀英", ID_B, "13905310011", "济南市历下区解放路街道阳光花园3号楼2单元301室", GRID_1),
    ("李桂兰", ID_C, "13905310012", "济南市历下区解放路街道阳光花园5号楼1单元102室", GRID_1),
    ("张建国", ID_A, "13905310013", "济南市历下区解放路街道东关小区2号楼3单元501室", GRID_2),
    ("赵淑珍", BAD_CHECK_DIGIT, "13905310014", "济南市历下区解放路街道东关小区1号楼", GRID_1),
    ("刘凤英", "", "1390531", "济南市历下区解放路街道阳光花园7号楼", GRID_2),
]


def _csv(tmp_path) -> str:
    path = tmp_path / "独居老人名单.csv"
    path.write_text("\n".join(",".join(r) for r in ROWS) + "\n", encoding="utf-8-sig")
    return str(path)


def test_steward_imports_fixes_mapping_and_grid_worker_sees_own_grid(
        request, tmp_path, steward, elderly_list, grid_worker, other_grid_worker):
    open_page, server = request.getfixturevalue("open_page"), request.getfixturevalue(
        "live_server")

    page = open_page(1280, 900)
    sign_in(page, server, steward.username, PASSWORD)
    page.goto(f"{server.url}/registry/imports/")
    form = page.locator("[data-testid=upload-form]")
    form.locator("select[name=dataset]").select_option(str(elderly_list.pk))
    form.locator("input[name=source]").fill("解放路街道摸排")
    form.locator("input[name=file]").set_input_files(_csv(tmp_path))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    # Suggested mapping: the known headers are mapped, "网格" is not.
    grid_select = page.locator("tr[data-column='网格'] select")
    assert grid_select.input_value() == ""
    assert page.locator("tr[data-column='身份证号'] select").input_value() == "id_number"
    page.click("[data-testid=mapping-form] button[type=submit]")
    page.wait_for_load_state()
    # Every row is bad: a list sent down to grids needs each row in a grid.
    assert page.locator("[data-testid=count-bad]").inner_text() == "5"
    screenshot(page, "registry-import-unmapped")

    # The steward fixes the mapping; two genuinely bad rows remain, named with their reason.
    page.locator("tr[data-column='网格'] select").select_option("grid_code")
    page.click("[data-testid=mapping-form] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=count-bad]").inner_text() == "2"
    assert page.locator("[data-testid=count-created]").inner_text() == "3"
    report = page.locator("[data-testid=preview]").inner_text()
    assert "5" in report and "6" in report  # the spreadsheet rows of the two bad ones
    # The preview is masked: no clear ID number or phone on the page.
    html = page.content()
    assert ID_B not in html and "13905310011" not in html
    screenshot(page, "registry-import-preview")

    # Committing with bad rows needs the explicit choice to leave them out.
    page.locator("[data-testid=skip-bad]").check()
    page.click("[data-testid=commit-form] button[type=submit]")
    page.wait_for_load_state()
    page.wait_for_selector("[data-testid=progress][data-status=done]", state="attached",
                           timeout=20_000)
    assert SourceRecord.objects.filter(dataset=elderly_list).count() == 3
    source = ImportSource.objects.get(dataset=elderly_list, name="解放路街道摸排")
    assert "grid_code" in source.mapping.values()  # the fixed mapping is kept for next time
    screenshot(page, "registry-import-done")

    # The grid worker of grid 1 sees the list sent down: his grid's two rows, masked.
    phone = open_page(390, 844)
    sign_in(phone, server, grid_worker.username, PASSWORD)
    phone.goto(f"{server.url}/catalog/lists/{elderly_list.code}/")
    cards = phone.locator("[data-testid=row-cards] li[data-grid]")
    assert cards.count() == 2
    assert {cards.nth(i).get_attribute("data-grid") for i in range(2)} == {GRID_1}
    text = phone.locator("[data-testid=row-cards]").inner_text()
    assert "王*英" in text and "张*国" not in text  # grid 2's row is not his
    assert ID_B not in phone.content()
    screenshot(phone, "registry-list-grid-worker")

    # The other grid's worker sees only the row of his grid.
    other = open_page(390, 844)
    sign_in(other, server, other_grid_worker.username, PASSWORD)
    other.goto(f"{server.url}/catalog/lists/{elderly_list.code}/")
    cards = other.locator("[data-testid=row-cards] li[data-grid]")
    assert cards.count() == 1 and cards.first.get_attribute("data-grid") == GRID_2
