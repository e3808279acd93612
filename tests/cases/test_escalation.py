"""Escalation of overdue cases (超期升级): one level up, once per step, never twice."""

from __future__ import annotations

import itertools
import os
import signal
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from tests.factories import build_tree, make_user
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.cases import escalation
from wangge.cases.escalation import escalate_overdue
from wangge.cases.models import Case, CaseEvent, Category, CategoryKind
from wangge.cases.workflow import State, Step
from wangge.notifications.models import Notification
from wangge.regions.models import Region

GRID = "370102001001001"  # 西社区第一网格
COMMUNITY = "370102001001"
STREET = "370102001"
DISTRICT = "370102"

_codes = itertools.count(1)


def make_category(code: str = "01", name: str = "市容环境", parent: Category | None = None,
                  kind: str = CategoryKind.EVENT) -> Category:
    return Category.objects.get_or_create(
        code=code, defaults={"name": name, "parent": parent, "kind": kind})[0]


def make_case(region: Region | None, *, title: str = "井盖丢失", description: str = "",
              category: Category | None = None, state: str = State.HANDLING,
              step: str = Step.HANDLE, due_at=None, started_at=None,
              lon: float | None = None, lat: float | None = None, **extra) -> Case:
    """A case written directly, as the engine would leave it mid-way."""
    now = timezone.now()
    return Case.objects.create(
        code=f"T{next(_codes):08d}", title=title, description=description,
        category=category or make_category(), source="patrol", state=state,
        region=region, region_path=region.path if region else "", step=step,
        step_started_at=started_at or now - timedelta(days=3),
        due_at=due_at or now - timedelta(hours=1), lon=lon, lat=lat, **extra)


def _events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, action="escalate"))


@pytest.fixture
def people(tree):
    return {
        "community": make_user("west_staff", Role.STAFF, tree[COMMUNITY]),
        "street": make_user("street_staff", Role.STAFF, tree[STREET]),
        "street_cmd": make_user("street_cmd", Role.COMMAND, tree[STREET]),
        "street_worker": make_user("street_gw", Role.GRID_WORKER, tree[STREET]),
        "district": make_user("district_cmd", Role.COMMAND, tree[DISTRICT]),
    }


@pytest.mark.django_db
def test_overdue_case_goes_to_the_street_and_its_people_are_told(tree, people):
    case = make_case(tree[GRID])
    assert escalate_overdue() == 1
    case.refresh_from_db()
    assert case.escalated_to == tree[STREET]
    assert case.escalation_level == 1
    assert case.version == 2  # a stale editor of the case is told someone else changed it
    assert case.state == State.HANDLING  # escalation does not move the workflow
    (event,) = _events(case)
    assert event.detail["from"] == COMMUNITY and event.detail["to"] == STREET
    assert event.actor is None and event.actor_name.startswith("system:")
    assert "解放路街道" in event.note
    assert AuditRecord.objects.filter(action="cases.escalate", object_id=str(case.pk)).exists()
    told = set(Notification.objects.filter(case=case).values_list("user__username", flat=True))
    # Staff and command at the street; not the grid worker there, not the community, not above.
    assert told == {"street_staff", "street_cmd"}


@pytest.mark.django_db
def test_a_second_pass_escalates_nothing(tree, people):
    cases = [make_case(tree[GRID]) for _ in range(3)]
    assert escalate_overdue() == 3
    assert escalate_overdue() == 0
    assert escalate_overdue(now=timezone.now() + timedelta(days=5)) == 0
    for case in cases:
        case.refresh_from_db()
        assert case.escalation_level == 1 and len(_events(case)) == 1
    assert Notification.objects.count() == 3 * 2


@pytest.mark.django_db
def test_only_open_cases_past_their_deadline(tree):
    on_time = make_case(tree[GRID], due_at=timezone.now() + timedelta(hours=2))
    no_deadline = make_case(tree[GRID])
    Case.objects.filter(pk=no_deadline.pk).update(due_at=None)
    closed = make_case(tree[GRID], state=State.CLOSED)
    suspended = make_case(tree[GRID], state=State.SUSPENDED)
    voided = make_case(tree[GRID], state=State.VOIDED)
    assert escalate_overdue() == 0
    for case in (on_time, no_deadline, closed, suspended, voided):
        assert _events(case) == []
    # The on-time case's turn comes when its deadline passes.
    assert escalate_overdue(now=timezone.now() + timedelta(hours=3)) == 1
    assert len(_events(on_time)) == 1


@pytest.mark.django_db
def test_each_new_step_late_again_goes_one_level_higher(tree, people):
    case = make_case(tree[GRID])
    escalate_overdue()
    # The department accepted late; the handling step starts now and is late in its turn.
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(step=Step.VERIFY, step_started_at=now,
                                           due_at=now + timedelta(hours=4))
    assert escalate_overdue(now=now + timedelta(hours=5)) == 1
    case.refresh_from_db()
    assert case.escalated_to == tree[DISTRICT] and case.escalation_level == 2
    assert Notification.objects.filter(case=case, user=people["district"]).count() == 1


@pytest.mark.django_db
def test_at_the_top_of_the_tree_it_stays_and_is_not_retried(tree):
    top = make_user("province_cmd", Role.COMMAND, tree["37"])
    case = make_case(tree[GRID], escalated_to=tree["37"], escalation_level=4)
    assert escalate_overdue() == 1
    case.refresh_from_db()
    assert case.escalated_to == tree["37"] and case.escalation_level == 4
    (event,) = _events(case)
    assert event.detail["to"] == "" and event.detail["from"] == "37"
    assert Notification.objects.filter(case=case, user=top).count() == 1
    assert escalate_overdue() == 0


@pytest.mark.django_db
def test_a_case_without_a_region_is_marked_not_looped_over(tree):
    case = make_case(None)
    assert escalate_overdue() == 1
    assert len(_events(case)) == 1 and not Notification.objects.exists()
    assert escalate_overdue() == 0


@pytest.mark.django_db
def test_a_case_placed_at_a_community_goes_to_its_street(tree):
    case = make_case(tree[COMMUNITY])
    escalate_overdue()
    case.refresh_from_db()
    assert case.escalated_to == tree[STREET]


@pytest.mark.django_db
def test_batches_smaller_than_the_backlog(tree):
    cases = [make_case(tree[GRID]) for _ in range(7)]
    assert escalate_overdue(batch=3) == 7
    assert CaseEvent.objects.filter(action="escalate").count() == 7
    assert {c.pk for c in cases} == set(
        CaseEvent.objects.filter(action="escalate").values_list("case_id", flat=True))
    with pytest.raises(ValueError):
        escalate_overdue(batch=0)


@pytest.mark.django_db
def test_a_failing_case_is_left_for_the_next_pass_and_the_rest_go_on(tree, people,
                                                                    monkeypatch):
    bad = make_case(tree[GRID], title="坏")
    good = [make_case(tree[GRID]) for _ in range(3)]
    real_notify = escalation.notify

    def flaky(users, subject, body, *, case=None, **kw):
        if case.pk == bad.pk:
            raise RuntimeError("mail server on fire")
        return real_notify(users, subject, body, case=case, **kw)

    monkeypatch.setattr(escalation, "notify", flaky)
    assert escalate_overdue(batch=2) == 3
    bad.refresh_from_db()
    assert bad.escalation_level == 0 and _events(bad) == []  # its savepoint rolled back
    assert all(len(_events(c)) == 1 for c in good)
    monkeypatch.setattr(escalation, "notify", real_notify)
    assert escalate_overdue() == 1
    bad.refresh_from_db()
    assert bad.escalation_level == 1


@pytest.mark.django_db
def test_command_runs_one_pass(tree, capsys):
    make_case(tree[GRID])
    call_command("escalate")
    assert "escalated 1 case(s)" in capsys.readouterr().out
    call_command("escalate")
    assert "escalated 0 case(s)" in capsys.readouterr().out
    record = AuditRecord.objects.get(action="cases.escalate")
    assert record.actor.startswith("system:escalate")
    with pytest.raises(CommandError):
        call_command("escalate", "--batch", "0")
    with pytest.raises(CommandError):
        call_command("escalate", "--loop", "0")


@pytest.mark.django_db
def test_command_loop_runs_passes_until_told_to_stop(tree, capsys, monkeypatch):
    make_case(tree[GRID])
    passes = []
    real = escalation.escalate_overdue

    def counted(**kw):
        passes.append(kw)
        if len(passes) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # what systemd or docker stop sends
        return real(**kw)

    monkeypatch.setattr(escalation, "escalate_overdue", counted)
    before = signal.getsignal(signal.SIGTERM)
    call_command("escalate", "--loop", "0.01", "--batch", "50")
    assert len(passes) == 3 and passes[0] == {"batch": 50}
    out = capsys.readouterr().out.splitlines()
    assert out == ["escalated 1 case(s)", "escalated 0 case(s)", "escalated 0 case(s)"]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


IN_MEMORY_SKIP = (
    "SQLite's in-memory test database is a shared-cache database where a lock conflict is an "
    "immediate SQLITE_LOCKED error instead of a wait, so threads can't share it as workers "
    "would; a file database (BEGIN IMMEDIATE, one writer at a time) runs this test, "
    "PostgreSQL runs it with SKIP LOCKED, and the sequential second pass is tested above")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_escalate_each_case_exactly_once():
    # Only known once the test database exists, hence a skip at run time, not collection.
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(IN_MEMORY_SKIP)
    tree = build_tree()
    for role, code in ((Role.STAFF, STREET), (Role.COMMAND, STREET)):
        make_user(f"{role}_{code}", role, tree[code])
    cases = [make_case(tree[GRID]) for _ in range(60)]
    now = timezone.now()
    workers = 3
    barrier = threading.Barrier(workers)
    counts: list[int] = []
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            counts.append(escalate_overdue(now=now, batch=4))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) == len(cases)
    per_case = {c.pk: 0 for c in cases}
    for case_id in CaseEvent.objects.filter(action="escalate").values_list("case_id", flat=True):
        per_case[case_id] += 1
    assert set(per_case.values()) == {1}
    assert set(Case.objects.values_list("escalation_level", flat=True)) == {1}
    assert AuditRecord.objects.filter(action="cases.escalate").count() == len(cases)
    # Two people at the street, one message each per case.
    assert Notification.objects.count() == 2 * len(cases)

