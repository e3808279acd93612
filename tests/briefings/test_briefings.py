"""Briefings: hand-counted content for each kind, the schedule and the job, the command, the
printable page and XLSX, scope and permissions, and no personal data anywhere."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from tests.briefings.conftest import (
    NOW,
    OTHER_STREET,
    PHONE_FORMS,
    REPORTER_NAME,
    REQUESTER_NAME,
    STREET,
    D,
    at,
)
from tests.cases.conftest import english_client
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord
from wangge.briefings import service
from wangge.briefings.models import Briefing
from wangge.briefings.periods import due_periods, periods_between
from wangge.briefings.sections import SECTIONS, restrict_to_visible_cases
from wangge.core.jobs import JOBS
from wangge.regions.models import Region

pytestmark = pytest.mark.django_db

# Never in a briefing or on the public page: the requester's phone in every form, her name,
# the reporter's name, their user names, and the addresses typed in.
SECRETS = (*PHONE_FORMS, REQUESTER_NAME, REPORTER_NAME, "resident_w", "gw_w1",
           "东关大街88号", "解放路12号")


def _node(code: str) -> Region:
    return Region.objects.get(code=code)


def _make(kind: str, code: str = STREET, day: date = D) -> Briefing:
    briefing, made = service.generate(_node(code), kind, day, now=NOW)
    assert made
    return briefing


def _headline(b: Briefing) -> dict:
    return {r["measure"]: (r["current"], r["previous"]) for r in b.content["sections"]["headline"]}


def _assert_no_personal_data(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


# --- content, counted by hand (see conftest for the history) ---------------------------------

EXPECTED = {
    "daily": {
        "period": ("2026-03-10", "2026-03-10"), "previous": ("2026-03-09", "2026-03-09"),
        "headline": {"reported": (3, 1), "registered": (2, 0), "dispatched": (1, 0),
                     "closed": (1, 0), "closed_on_time_share": (1.0, None),
                     "satisfaction": (1.0, None), "escalated": (0, 0),
                     "open_now": (3, None), "overdue_now": (3, None)},
        "children": [("西社区", 2, 1, 1.0, 1, 1.0), ("东社区", 1, 0, None, 2, None)],
        "categories": [("市容环境", 2, 1, 2, 2), ("道路交通", 1, 0, 1, 1)],
    },
    "weekly": {
        "period": ("2026-03-09", "2026-03-15"), "previous": ("2026-03-02", "2026-03-08"),
        "headline": {"reported": (4, 1), "registered": (2, 1), "closed": (1, 1),
                     "closed_on_time_share": (1.0, 1.0), "satisfaction": (1.0, 0.0),
                     "escalated": (3, 0)},
        "children": [("西社区", 3, 1, 1.0, 1, 1.0), ("东社区", 1, 0, None, 2, None)],
        "categories": [("市容环境", 3, 1, 2, 2), ("道路交通", 1, 0, 1, 1)],
    },
    "monthly": {
        "period": ("2026-03-01", "2026-03-31"), "previous": ("2026-02-01", "2026-02-28"),
        "headline": {"reported": (5, 1), "registered": (3, 0), "closed": (2, 0),
                     "satisfaction": (0.5, None), "escalated": (3, 0)},
        "children": [("西社区", 4, 2, 1.0, 1, 0.5), ("东社区", 1, 0, None, 2, None)],
        "categories": [("市容环境", 4, 2, 2, 2), ("道路交通", 1, 0, 1, 1)],
    },
}


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_each_kind_is_counted_by_hand_and_compared_with_the_period_before(history, kind):
    want = EXPECTED[kind]
    b = _make(kind)
    assert (b.period_start.isoformat(), b.period_end.isoformat()) == want["period"]
    assert tuple(b.content["previous"].values()) == want["previous"]
    headline = _headline(b)
    for measure, pair in want["headline"].items():
        assert headline[measure] == pair, measure
    change = {r["measure"]: r["change"] for r in b.content["sections"]["headline"]}
    assert change["reported"] == want["headline"]["reported"][0] - want["headline"]["reported"][1]
    children = [(r["name"], r["reported"], r["closed"], r["closed_on_time_share"],
                 r["overdue_now"], r["satisfaction"]) for r in b.content["sections"]["children"]]
    assert children == want["children"]  # the west ranks first: it closed on time
    assert [r["rank"] for r in b.content["sections"]["children"]] == [1, 2]
    cats = [(r["name"], r["reported"], r["closed"], r["open_now"], r["overdue_now"])
            for r in b.content["sections"]["categories"]]
    assert cats == want["categories"]


def test_the_overdue_list_names_cases_by_number_title_and_grid_longest_first(history):
    rows = _make("daily").content["sections"]["overdue"]
    assert [(r["code"], r["title"], r["grid"]) for r in rows] == [
        (history["H"].code, "H 占道经营", "东社区第一网格"),  # past its limit since 24 Feb
        (history["C"].code, "C 垃圾堆放", "西社区第一网格"),
        (history["E"].code, "E 井盖缺失", "东社区第一网格")]
    # Calendar days from the step's deadline (4 working hours after the step began) to NOW:
    # C was reported Mon 9 March 10:00, due 15:30 → 44.5 h; E registered 10 March 10:10,
    # due 15:50 → 20 h 10 min; H reported in the Spring Festival holiday, due 24 Feb 14:30.
    assert [r["days_overdue"] for r in rows] == [14.9, 1.9, 0.8]
    assert set(rows[0]) == {"code", "title", "grid", "days_overdue"}


def test_a_district_briefing_ranks_its_streets(history):
    b = _make("monthly", "370102")
    kids = {r["name"]: r for r in b.content["sections"]["children"]}
    assert kids["解放路街道"]["reported"] == 5 and kids["千佛山街道"]["reported"] == 1
    assert _headline(b)["reported"] == (6, 1)


def test_below_the_street_there_are_no_briefings(history):
    with pytest.raises(ValidationError) as bad:
        service.generate(_node("370102001001"), "daily", D)
    assert "node" in bad.value.message_dict


# --- schedule, job, command ------------------------------------------------------------------

@pytest.mark.parametrize(("now", "expected"), [
    # 15 minutes' grace after midnight: at 00:10 the day before is not yet due.
    (at(3, 10, 0, 10), {"daily": "2026-03-08", "weekly": "2026-03-02", "monthly": "2026-02-01"}),
    (at(3, 10, 0, 20), {"daily": "2026-03-09", "weekly": "2026-03-02", "monthly": "2026-02-01"}),
    # Monday 9 March: the ISO week before (2–8 March) becomes due, after the grace.
    (at(3, 9, 0, 10), {"daily": "2026-03-07", "weekly": "2026-02-23", "monthly": "2026-02-01"}),
    (at(3, 9, 0, 20), {"daily": "2026-03-08", "weekly": "2026-03-02", "monthly": "2026-02-01"}),
    (at(3, 8, 23, 0), {"daily": "2026-03-07", "weekly": "2026-02-23", "monthly": "2026-02-01"}),
    # The 1st: the month before becomes due.
    (at(3, 1, 0, 10), {"daily": "2026-02-27", "weekly": "2026-02-16", "monthly": "2026-01-01"}),
    (at(3, 1, 1, 0), {"daily": "2026-02-28", "weekly": "2026-02-16", "monthly": "2026-02-01"}),
])
def test_what_is_due_on_which_date(now, expected):
    assert {kind: start.isoformat() for kind, start, _ in due_periods(now)} == expected


def test_periods_for_a_backfill():
    weeks = periods_between("weekly", date(2026, 3, 4), date(2026, 3, 22))
    assert weeks == [(date(2026, 3, 2), date(2026, 3, 8)), (date(2026, 3, 9), date(2026, 3, 15)),
                     (date(2026, 3, 16), date(2026, 3, 22))]
    assert periods_between("monthly", date(2026, 1, 15), date(2026, 3, 30)) == [
        (date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28))]


def test_the_worker_job_generates_each_due_briefing_once(history):
    job = next(j for j in JOBS if j.name == "briefings.generate")
    nodes = service.eligible_nodes().count()
    assert nodes == 5  # province, city, district, two streets
    first = job.run()
    assert first == min(3 * nodes, service.PER_PASS)
    while job.run():
        pass
    assert Briefing.objects.count() == 3 * nodes
    assert job.run() == 0  # nothing due any more: nothing generated twice
    assert AuditRecord.objects.filter(action="briefings.generate").count() == 3 * nodes


def test_a_worker_that_loses_the_race_keeps_the_winners_briefing(history, monkeypatch):
    node = _node(STREET)
    real = service.build_content

    def other_worker_commits_meanwhile(*args, **kwargs):
        content = real(*args, **kwargs)
        Briefing.objects.create(node=node, node_path=node.path, kind="daily",
                                period_start=D, period_end=D, generated_at=NOW,
                                content={"winner": True})
        return content

    monkeypatch.setattr(service, "build_content", other_worker_commits_meanwhile)
    briefing, made = service.generate(node, "daily", D)
    assert not made and briefing.content == {"winner": True}
    assert Briefing.objects.filter(node=node, kind="daily").count() == 1


def test_the_command_generates_on_demand_and_backfills(history, capsys):
    call_command("briefings", "generate", "--kind", "daily", "--node", STREET,
                 "--date", "2026-03-10")
    assert "1 briefing(s) generated, 0 already there" in capsys.readouterr().out
    call_command("briefings", "generate", "--kind", "daily", "--node", STREET,
                 "--date", "2026-03-01", "--until", "2026-03-10")
    assert "9 briefing(s) generated, 1 already there" in capsys.readouterr().out
    call_command("briefings", "generate", "--kind", "weekly", "--date", "2026-03-10")
    assert "5 briefing(s) generated" in capsys.readouterr().out  # every node, street up
    kept = Briefing.objects.get(node__code=STREET, kind="daily", period_start=D)
    call_command("briefings", "generate", "--kind", "daily", "--node", STREET,
                 "--date", "2026-03-10", "--replace")
    kept.refresh_from_db()
    assert kept.generated_at > NOW
    with pytest.raises(CommandError, match="no region node"):
        call_command("briefings", "generate", "--kind", "daily", "--node", "999")
    with pytest.raises(CommandError, match="below the street"):
        call_command("briefings", "generate", "--kind", "daily", "--node", "370102001001")
    with pytest.raises(CommandError, match="not a date"):
        call_command("briefings", "generate", "--kind", "daily", "--date", "10/03/2026")


# --- pages, XLSX, API: scope and permissions -------------------------------------------------

def test_the_printable_page_shows_every_section_with_its_charts(history, people):
    b = _make("weekly")
    page = english_client(people.street_staff).get(f"/briefings/{b.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for section in SECTIONS:
        assert f'data-section="{section.key}"' in html
    assert 'data-chart="headline"' in html and "vendor/echarts/echarts.min.js" in html
    assert "briefings/briefings.css" in html
    charts = json.loads(html.split('id="briefing-charts" type="application/json">')[1]
                        .split("</script>")[0])
    assert charts["children"]["categories"] == ["西社区", "东社区"]
    assert charts["children"]["series"][0]["data"] == [3, 1]
    assert "+3" in html and "100.0%" in html and "E 井盖缺失" in html
    _assert_no_personal_data(html)


def test_the_xlsx_has_a_sheet_per_section_headers_numbers_and_a_chart(history, people):
    b = _make("monthly")
    response = english_client(people.command).get(f"/briefings/{b.pk}/xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"briefing-{STREET}-monthly-2026-03-01.xlsx" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Briefing", "Headline figures", "Ranking of the areas below",
                             "Top categories", "Most overdue open cases"]
    head = wb["Headline figures"]
    assert [c.value for c in head[1][:4]] == ["measure", "this period", "previous period",
                                              "change"]
    assert head.freeze_panes == "A2"
    assert [c.value for c in head[2][:4]] == ["new matters (新上报)", 5, 1, 4]
    share = next(r for r in head.iter_rows(min_row=2) if r[0].value == "satisfaction (满意率)")
    assert share[1].value == 0.5 and share[1].number_format == "0.0%" and share[2].value == "—"
    assert len(head._charts) == 1
    ranking = wb["Ranking of the areas below"]
    assert [c.value for c in ranking[2][:7]] == [1, "西社区", 4, 2, 1.0, 1, 0.5]
    assert len(ranking._charts) == 1
    overdue = wb["Most overdue open cases"]
    assert [c.value for c in overdue[1][:4]] == ["case number", "title", "grid", "days overdue"]
    assert overdue["A2"].value == history["H"].code and overdue["D2"].value == 14.9
    assert wb["Briefing"]["B2"].value == f"解放路街道 ({STREET})"
    everything = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
    _assert_no_personal_data(everything)
    audit = AuditRecord.objects.filter(action="briefings.export").latest("id")
    assert audit.actor == people.command.username and audit.object_id == str(b.pk)
    assert json.loads(audit.detail)["format"] == "xlsx"


def test_scope_other_streets_briefing_is_404_and_roles_without_briefings_get_403(
        history, people):
    ours, theirs = _make("daily"), _make("daily", OTHER_STREET)
    street = english_client(people.street_staff)
    assert street.get(f"/briefings/{ours.pk}/").status_code == 200
    for url in (f"/briefings/{theirs.pk}/", f"/briefings/{theirs.pk}/xlsx",
                f"/api/v1/briefings/{theirs.pk}"):
        assert street.get(url).status_code == 404, url
    south = english_client(people.south_staff)  # the other street's community
    assert south.get(f"/briefings/{ours.pk}/").status_code == 404
    listing = street.get("/briefings/").content.decode()
    assert f'data-id="{ours.pk}"' in listing and f'data-id="{theirs.pk}"' not in listing
    for who in (people.resident, people.grid_worker, people.cg):
        c = english_client(who)
        for url in ("/briefings/", f"/briefings/{ours.pk}/", f"/briefings/{ours.pk}/xlsx",
                    "/api/v1/briefings/"):
            assert c.get(url).status_code == 403, (who.username, url)
    assert english_client().get("/briefings/").status_code == 302  # to the login page
    assert not AuditRecord.objects.filter(action="briefings.export").exists()


def test_the_list_filters_by_kind_and_node_and_names_a_bad_filter(history, people):
    daily, weekly = _make("daily"), _make("weekly")
    district = _make("daily", "370102")
    c = english_client(people.command)
    html = c.get("/briefings/", {"kind": "weekly"}).content.decode()
    assert f'data-id="{weekly.pk}"' in html and f'data-id="{daily.pk}"' not in html
    html = c.get("/briefings/", {"node": "370102"}).content.decode()
    assert f'data-id="{district.pk}"' in html and f'data-id="{daily.pk}"' not in html
    bad = c.get("/briefings/", {"kind": "hourly"})
    assert bad.status_code == 422 and "kind" in bad.content.decode()
    outside = english_client(people.street_staff).get("/api/v1/briefings/", {"node": "370102"})
    assert outside.status_code == 422 and "node" in outside.json()["errors"]


def test_the_api_lists_and_reads_with_a_token_scoped_to_briefings(history, people):
    b = _make("daily")
    _, token = issue_token(None, username=people.command.username, name="board",
                           scopes=["briefings:read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    items = english_client().get("/api/v1/briefings/", **auth).json()["items"]
    assert [i["id"] for i in items] == [b.pk]
    body = english_client().get(f"/api/v1/briefings/{b.pk}", **auth).json()
    assert body["sections"]["headline"][0] == {"measure": "reported", "fmt": "int",
                                               "current": 3, "previous": 1, "change": 2}
    _assert_no_personal_data(json.dumps(body, ensure_ascii=False))
    _, other = issue_token(None, username=people.command.username, name="figures only",
                           scopes=["figures:read"])
    assert english_client().get("/api/v1/briefings/",
                                HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 403


def test_rows_naming_cases_are_limited_to_what_the_reader_may_open(history, people):
    b = _make("daily")
    rows = b.content["sections"]["overdue"]
    # West community staff may open the west's case C only (not H or E in the east).
    assert [r["code"] for r in restrict_to_visible_cases(rows, people.staff)] == [
        history["C"].code]
    parts = {s.key: s.rows for s in service.sections_for(people.staff, b)}
    assert [r["code"] for r in parts["overdue"]] == [history["C"].code]
    assert len(parts["children"]) == 2  # aggregate rows are not case rows: unchanged


def test_the_pages_render_in_the_default_language(history, people):
    from django.test import Client

    b = _make("daily")
    c = Client()
    c.force_login(people.street_staff)
    for url in ("/briefings/", f"/briefings/{b.pk}/"):
        page = c.get(url)
        assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode(), url
