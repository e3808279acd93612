"""Figures at every level: hand-counted on a small city, equal to a raw recount after a random
workload (reopen, merge, escalation included), current before the journal is folded, scoped."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from tests.cases.conftest import IN_EAST, IN_SOUTH, IN_WEST, english_client
from wangge.accounts.services import issue_token
from wangge.cases import escalation
from wangge.cases.models import Case, CaseEvent, DeadlineRule
from wangge.cases.services import CaseError, allowed_transitions, transition
from wangge.figures import fold
from wangge.figures.measures import FLOW_NAMES, STOCK_STATES
from wangge.figures.models import FigureDelta, FlowTally
from wangge.figures.recount import check
from wangge.figures.service import summary

pytestmark = pytest.mark.django_db

STREET, WEST, EAST = "370102001", "370102001001", "370102001002"
RARE = {"void": 0.05, "reject": 0.1, "merge": 0.15, "supervise": 0.1, "contribute": 0.2,
        "request_suspension": 0.2, "request_extension": 0.3, "reopen": 3.0, "rate": 3.0}


def _loop(flow, case, *actions):
    for action in actions:
        case = flow.act(case, action)
    return case


@pytest.fixture
def small_city(flow, people, make_case):
    """Four cases in the west community, one in the east, one in the other street."""
    a = _loop(flow, make_case(title="A"), "register", "dispatch", "accept", "handle",
              "verify")
    a = transition(people.resident, a.pk, "rate", rating=5, comment="好")
    b = _loop(flow, make_case(title="B"), "reject")
    c = _loop(flow, make_case(title="C"), "register", "dispatch", "return")
    d = make_case(title="D")
    e = make_case(title="E", lon=IN_EAST[0], lat=IN_EAST[1])
    f = make_case(title="F", lon=IN_SOUTH[0], lat=IN_SOUTH[1])
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def _counts(data: dict) -> dict:
    return {k: v for k, v in data["flows"].items() if v}


def test_hand_counted_figures_for_a_street_its_communities_and_a_department(
        small_city, people):
    expected = {"reported": 5, "registered": 2, "rejected": 1, "discarded": 1, "dispatched": 2,
                "returned": 1, "handled": 1, "verified": 1, "closed": 1, "closed_on_time": 1,
                "rated": 1, "rating_sum": 5, "satisfied": 1}
    for folded in (False, True):  # the journal counts before it is folded, and after
        if folded:
            assert fold.fold_all() > 0 and not FigureDelta.objects.exists()
        street = summary(people.command, STREET)
        assert _counts(street) == expected, folded
        assert street["stock"] == {"open": 3, "overdue": 0,
                                   "by_state": {"registered": 1, "reported": 2}}
        assert street["derived"]["satisfaction"] == 1.0
        kids = {c["code"]: c for c in street["children"]}
        assert kids[WEST]["flows"]["reported"] == 4 and kids[EAST]["flows"]["reported"] == 1
        assert kids[WEST]["stock"]["open"] == 2 and kids[EAST]["stock"]["open"] == 1
        assert [u["code"] for u in street["up"]] == ["370102"]  # not above her own node
        district = summary(people.command, "370102")
        assert district["flows"]["reported"] == 6
        # The lead department's work: dispatches, its return, its fix, the closure, rating.
        cg = summary(people.command, STREET, department="CG")
        assert _counts(cg) == {"dispatched": 2, "returned": 1, "handled": 1, "verified": 1,
                               "closed": 1, "closed_on_time": 1, "rated": 1, "rating_sum": 5,
                               "satisfied": 1}
        assert cg["stock"]["open"] == 0  # C was returned: no department holds it
        # Below the street, a filter is answered from the community's own cases.
        west_cg = summary(people.command, WEST, department="CG")
        assert _counts(west_cg) == _counts(cg)
        west_src = summary(people.command, WEST, source="resident")
        assert west_src["flows"]["reported"] == 4
        env = summary(people.command, STREET, category="env")
        assert env["flows"]["reported"] == 5
    assert check().ok


def test_a_period_counts_only_its_days(small_city, people):
    fold.fold_all()
    yesterday = timezone.localdate() - timedelta(days=1)
    old = summary(people.command, STREET, start=yesterday - timedelta(days=6), end=yesterday)
    assert not _counts(old)
    assert old["stock"]["open"] == 3  # standing stock is now, whatever the period


def test_scope_and_permissions(small_city, people):
    with pytest.raises(Http404):
        summary(people.staff, EAST)  # west community staff
    own = summary(people.staff)
    assert own["node"]["code"] == WEST and own["flows"]["reported"] == 4
    handler = summary(people.cg, STREET)
    assert handler["filter"]["kind"] == "d" and handler["flows"]["handled"] == 1
    from django.core.exceptions import PermissionDenied, ValidationError
    with pytest.raises(ValidationError):
        summary(people.cg, STREET, department="ZJ")
    with pytest.raises(PermissionDenied):
        summary(people.resident)
    with pytest.raises(ValidationError) as bad:
        summary(people.command, STREET, start="2026-13-01")
    assert "start" in bad.value.message_dict


def test_the_api_answers_with_scope_and_named_errors(small_city, people):
    client = english_client(people.command)
    body = client.get("/api/v1/figures/summary", {"node": STREET}).json()
    assert body["flows"]["reported"] == 5 and len(body["children"]) == 2
    bad = client.get("/api/v1/figures/summary", {"node": STREET, "source": "pigeon"})
    assert bad.status_code == 422 and "source" in bad.json()["errors"]
    assert english_client(people.staff).get(
        "/api/v1/figures/summary", {"node": EAST}).status_code == 404
    assert english_client(people.resident).get("/api/v1/figures/summary").status_code == 403
    _, token = issue_token(None, username=people.command.username, name="board",
                           scopes=["figures:read"])
    ok = english_client().get("/api/v1/figures/summary", {"node": STREET},
                              HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200 and ok.json()["flows"]["closed"] == 1


def test_check_names_a_tampered_tally_and_rebuild_repairs_it(small_city, people):
    fold.fold_all()
    street_id = small_city["a"].region.parent.parent.pk
    FlowTally.objects.filter(node_id=street_id, dim="").update(closed=7)
    report = check()
    assert not report.ok
    assert any("flow closed" in line and f"node {street_id} " in line and "kept 7" in line
               for line in report.differences)
    with pytest.raises(CommandError, match="differ"):
        call_command("figures", "check")
    call_command("figures", "rebuild")
    assert check().ok
    assert summary(people.command, STREET)["flows"]["closed"] == 1


def test_the_measures_declared_are_the_columns_kept():
    columns = {f.name for f in FlowTally._meta.fields} - {"id", "node", "dim", "grain", "day"}
    assert columns == set(FLOW_NAMES)


@pytest.fixture
def deadlines():
    for step in ("register", "dispatch", "accept", "handle", "verify", "report_in"):
        DeadlineRule.objects.create(category=None, urgency="normal", step=step,
                                    working_hours=Decimal("4"))


def test_a_random_workload_keeps_the_figures_equal_to_a_recount(
        flow, people, make_case, deadlines, upload, clock):
    first_day = timezone.localdate()
    rng = random.Random(20261122)
    tick = random.Random(7)  # the clock moves on its own dice, so the workload stays the same
    actors = [people.grid_worker, people.other_grid_worker, people.staff, people.street_staff,
              people.other_staff, people.south_staff, people.command, people.cg, people.zj,
              people.resident, people.other_resident]
    places = [IN_WEST, IN_WEST, IN_EAST, IN_SOUTH, (117.01, 36.615)]
    cases = []
    seen_actions: set[str] = set()
    for step in range(400):
        # Minutes to a working day between moves: steps end on time and late, durations add up.
        clock.advance(minutes=tick.choice([0, 7, 45, 130, 600, 1500]))
        roll = rng.random()
        if roll < 0.15 or not cases:
            lon, lat = rng.choice(places)
            reporter = rng.choice([people.resident, people.grid_worker, people.other_resident])
            cases.append(make_case(actor=reporter, title=f"事件{step}", lon=lon, lat=lat,
                                   category=rng.choice(["env.garbage", "road.manhole"])))
            continue
        if roll < 0.19:
            escalation.escalate_overdue(now=timezone.now() + timedelta(days=rng.randint(1, 9)))
            seen_actions.add("escalate")
            continue
        if roll < 0.25:
            fold.fold_batch(limit=rng.randint(1, 40))
            continue
        case = Case.objects.get(pk=rng.choice(cases).pk)
        moves = [(a, t) for a in actors for t in allowed_transitions(a, case)]
        if not moves:
            continue
        # Mostly forward, now and then sideways, so cases reach closure, rating and reopening.
        weights = [RARE.get(t.action, 1.0) for _, t in moves]
        actor, t = rng.choices(moves, weights=weights)[0]
        inputs = flow.inputs_for(t, actor, case)
        if t.action == "rate":
            inputs["rating"] = rng.choice([1, 2, 5])  # low ratings reopen the question
        try:
            transition(actor, case.pk, t.action, **inputs)
            seen_actions.add(t.action)
        except CaseError:
            pass  # a refused move is one of the outcomes; the workload goes on
    # The workload did reach the awkward moves.
    assert {"reopen", "merge", "return", "rework", "escalate", "rate"} <= seen_actions, \
        seen_actions
    report = check()
    assert report.ok, report.differences
    # The flows that hang on time were reached too: late steps and summed durations.
    totals = summary(people.command, "370102", first_day, timezone.localdate())["flows"]
    for name in ("registered_late", "handled_late", "checked_late", "register_seconds",
                 "handle_seconds", "discarded", "withdrawn", "verified"):
        assert totals[name] > 0, name
    # And the summary agrees with plain counts of the rows, folded or not.
    for code in (STREET, WEST, EAST, "370102"):
        data = summary(people.command, code, first_day, timezone.localdate())
        within = Case.objects.filter(region_path__contains=f"{code}.")
        assert data["flows"]["reported"] == within.count()
        assert data["stock"]["open"] == within.filter(state__in=STOCK_STATES).count()
        assert data["stock"]["overdue"] == within.filter(state__in=STOCK_STATES,
                                                         overdue=True).count()
        closures = CaseEvent.objects.filter(case__in=within,
                                            action__in=["verify", "confirm_closure"])
        assert data["flows"]["closed"] == closures.count()
    fold.fold_all()
    assert check().ok


@pytest.mark.django_db(transaction=True)
def test_two_folders_at_once_count_each_change_once(small_city, people):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
            "file:memorydb"):
        pytest.skip("the in-memory SQLite test database is not shared safely across threads")
    errors = []

    def worker():
        try:
            fold.fold_all(limit=3)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not FigureDelta.objects.exists()
    assert check().ok
    assert summary(people.command, STREET)["flows"]["reported"] == 5


def test_any_period_reads_whole_months_and_edge_days_alike(small_city, people):
    """Spread the journal over four months, fold, then ask for many periods: the month rows
    and the day rows at the edges must give what the day rows alone give."""
    from django.db.models import Sum

    from wangge.figures.models import Grain

    today = timezone.localdate()
    for i, delta in enumerate(FigureDelta.objects.filter(flow="reported").order_by("id")):
        FigureDelta.objects.filter(pk=delta.pk).update(day=today - timedelta(days=17 * i + 3))
    fold.fold_all()
    # (The timeline still says today, so a recount would now disagree — as it should.)
    assert not check().ok
    street_id = small_city["a"].region.parent.parent.pk
    rng = random.Random(4)
    for _ in range(60):
        last = today - timedelta(days=rng.randint(0, 120))
        first = last - timedelta(days=rng.choice([0, 6, 27, 30, 45, 89, 120]))
        expected = FlowTally.objects.filter(
            node_id=street_id, dim="", grain=Grain.DAY, day__gte=first,
            day__lte=last).aggregate(n=Sum("reported"))["n"] or 0
        got = summary(people.command, STREET, first, last)["flows"]["reported"]
        assert got == expected, (first, last)


def test_the_worker_runs_every_job_once(small_city, people, deadlines):
    from io import StringIO

    assert FigureDelta.objects.exists()
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert "figures.fold:" in out.getvalue() and "cases.escalate:" in out.getvalue()
    assert not FigureDelta.objects.exists()
    assert summary(people.command, STREET)["flows"]["reported"] == 5
