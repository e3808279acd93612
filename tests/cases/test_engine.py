"""The transition engine: every row of the table allowed from each of its states and refused
from every other; roles, departments, versions, and what each action leaves behind."""

from __future__ import annotations

import itertools
import threading
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from tests.cases.conftest import Flow
from wangge.audit.models import AuditRecord
from wangge.cases.models import Assignment, Case, CaseEvent
from wangge.cases.services import (
    CaseConflict,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    allowed_transitions,
    check_allowed,
    transition,
)
from wangge.cases.workflow import BY_ACTION, LOW_RATING, OPEN_STATES, TRANSITIONS, State
from wangge.workcalendar.services import add_working_days

pytestmark = pytest.mark.django_db

ALL_STATES = list(State.values)


def _snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.version, case.step, case.due_at, case.pending_request,
            CaseEvent.objects.filter(case=case).count(),
            Assignment.objects.filter(case=case, active=True).count(),
            AuditRecord.objects.count())


def _valid_pairs():
    return [pytest.param(t, s, id=f"{t.action}-from-{s}")
            for t in TRANSITIONS for s in sorted(t.sources)]


@pytest.fixture
def fake_deadlines(monkeypatch):
    """Every step gets a deadline three working days out (the rules are another module's)."""
    calls = []

    def deadline_for(case, step):
        calls.append(step)
        return add_working_days(timezone.now(), 3)

    monkeypatch.setattr("wangge.cases.deadlines.deadline_for", deadline_for)
    return calls


@pytest.fixture
def notified(monkeypatch):
    sent = []

    def notify(users, subject, body, *, case=None, **kw):
        sent.append(({u.username for u in users}, subject, case.code if case else None))
        return []

    monkeypatch.setattr("wangge.notifications.services.notify", notify)
    return sent


# -- the table, row by row ----------------------------------------------------------------


@pytest.mark.parametrize(("t", "source"), _valid_pairs())
def test_every_transition_is_allowed_from_each_of_its_states(flow: Flow, t, source, media):
    case = flow.new_case(source, whistle=t.action == "report_in", pending=t.pending)
    before = Case.objects.get(pk=case.pk)
    actor = flow.actor_for(t)
    assert t in allowed_transitions(actor, before), "the case page must offer it"
    after = flow.act(case, t.action, actor=actor)
    assert after.state == (t.target or source)
    assert after.version == before.version + 1
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.action, event.from_state, event.to_state, event.actor_id) == (
        t.action, source, after.state, actor.pk)
    audit = AuditRecord.objects.order_by("-seq").first()
    assert audit.action == f"cases.{t.action}" and audit.object_id == str(case.pk)
    if t.starts:
        assert after.step == t.starts and after.step_started_at == event.at
    if t.pending:
        assert after.pending_request == ""


@pytest.mark.parametrize("t", [pytest.param(t, id=t.action) for t in TRANSITIONS])
def test_every_transition_is_refused_from_every_other_state(flow: Flow, t, media):
    actor = flow.actor_for(t)
    refused_for_state = 0
    for state in ALL_STATES:
        if state in t.sources:
            continue
        case = flow.new_case(state)
        visible = Case.objects.filter(pk=case.pk).filter(
            pk__in=_visible_ids(actor)).exists()
        inputs = flow.inputs_for(t, actor, case)
        before = _snapshot(case)  # after any photo upload the inputs needed
        expected = CaseConflict if visible else CaseNotFound
        with pytest.raises(expected) as err:
            transition(actor, case.pk, t.action, **inputs)
        if visible:
            refused_for_state += 1
            assert err.value.status == 409
            assert Case.objects.get(pk=case.pk).get_state_display() in err.value.message
        assert _snapshot(case) == before, f"{t.action} from {state} changed something"
    assert refused_for_state, f"{t.action} was never refused for its state"


def _visible_ids(user):
    from wangge.accounts.scope import visible_to

    return visible_to(Case, user).values("pk")


@pytest.mark.parametrize("t", [pytest.param(t, id=t.action) for t in TRANSITIONS])
def test_every_transition_refuses_roles_it_does_not_list(flow: Flow, people, t, media):
    source = sorted(t.sources)[0]
    case = flow.new_case(source, whistle=t.action == "report_in", pending=t.pending)
    outsider = next(u for u in (people.staff, people.grid_worker, people.command)
                    if u.role not in t.roles)
    inputs = flow.inputs_for(t, flow.actor_for(t), case)
    before = _snapshot(case)
    with pytest.raises(CaseForbidden) as err:
        transition(outsider, case.pk, t.action, **inputs)
    assert err.value.status == 403 and "may not" in err.value.message
    assert _snapshot(case) == before
    assert t not in allowed_transitions(outsider, case)


def test_unknown_action_is_404(flow, people):
    case = flow.new_case(State.REPORTED)
    with pytest.raises(CaseNotFound, match="no action 'teleport'"):
        transition(people.staff, case.pk, "teleport")


# -- departments ----------------------------------------------------------------------------


def test_only_the_lead_department_accepts_and_handles(flow, people, media):
    case = flow.new_case(State.DISPATCHED)  # CG lead, ZJ assisting
    with pytest.raises(CaseForbidden, match="only the lead department"):
        transition(people.zj, case.pk, "accept")
    # A department with no part in the case doesn't even see it.
    with pytest.raises(CaseNotFound):
        transition(people.sw, case.pk, "accept")
    case = transition(people.cg, case.pk, "accept")
    # Assisting departments record their work; it lands on their assignment.
    transition(people.zj, case.pk, "contribute", note="清理了雨水口")
    zj = Assignment.objects.get(case=case, department__code="ZJ")
    assert "清理了雨水口" in zj.contribution and zj.role == "assist"
    fresh = Case.objects.get(pk=case.pk)
    assert [t.action for t in allowed_transitions(people.zj, fresh)] == ["contribute"]


def test_dispatch_needs_departments_that_serve_the_area(flow, people):
    case = flow.new_case(State.REGISTERED)
    with pytest.raises(CaseInvalid, match="departments") as err:
        transition(people.staff, case.pk, "dispatch")
    assert err.value.status == 422
    with pytest.raises(CaseInvalid, match="QF do not serve"):
        transition(people.staff, case.pk, "dispatch", departments=["QF"])
    with pytest.raises(CaseInvalid, match="no active department NOPE"):
        transition(people.staff, case.pk, "dispatch", departments=["CG", "NOPE"])
    with pytest.raises(CaseInvalid, match="named twice"):
        transition(people.staff, case.pk, "dispatch", departments=["CG", "CG"])
    assert Case.objects.get(pk=case.pk).state == State.REGISTERED


def test_dispatch_uses_the_route_suggested_at_intake(flow, people, monkeypatch, departments):
    monkeypatch.setattr("wangge.cases.routing.route", lambda category, region: SimpleNamespace(
        lead=departments["SW"], assisting=[departments["ZJ"]]))
    case = flow.new_case(State.REGISTERED)
    assert case.route == {"lead": "SW", "assisting": ["ZJ"]}
    case = transition(people.staff, case.pk, "dispatch")
    active = dict(Assignment.objects.filter(case=case, active=True)
                  .values_list("department__code", "role"))
    assert active == {"SW": "lead", "ZJ": "assist"}
    assert CaseEvent.objects.filter(case=case).last().detail["from_route"] is True


def test_missing_inputs_are_named(flow, people, media):
    case = flow.new_case(State.REPORTED)
    with pytest.raises(CaseInvalid, match="reason"):
        transition(people.staff, case.pk, "reject")
    with pytest.raises(CaseInvalid, match="reason"):
        transition(people.staff, case.pk, "reject", reason="   ")
    case = flow.new_case(State.HANDLING)
    with pytest.raises(CaseInvalid, match="evidence"):
        transition(people.cg, case.pk, "handle", note="修好了")
    with pytest.raises(CaseInvalid, match=r"evidence: photo.*999999"):
        transition(people.cg, case.pk, "handle", note="修好了", evidence=[999999])
    assert Case.objects.get(pk=case.pk).state == State.HANDLING


def test_evidence_must_be_on_the_case_or_the_actors_own(flow, people, upload):
    case = flow.new_case(State.HANDLING)
    someone_elses = upload(people.grid_worker)  # unattached, but not CG's
    with pytest.raises(CaseInvalid, match="evidence"):
        transition(people.cg, case.pk, "handle", note="好了", evidence=[someone_elses.pk])
    own = upload(people.cg)
    transition(people.cg, case.pk, "handle", note="好了", evidence=[own.pk])
    own.refresh_from_db()
    assert own.case_id == case.pk and own.event.action == "handle"


# -- versions and races ---------------------------------------------------------------------


def test_two_people_at_once_one_wins_the_other_is_told(flow, people):
    case = flow.new_case(State.REPORTED)
    seen = case.version
    transition(people.staff, case.pk, "register", expected_version=seen)
    before = _snapshot(case)
    with pytest.raises(CaseConflict, match=r"someone else changed case .* first"):
        transition(people.street_staff, case.pk, "reject", expected_version=seen,
                   reason="重复")
    assert _snapshot(case) == before


def test_a_write_between_read_and_update_loses_cleanly(flow, people, monkeypatch):
    """The guarded UPDATE (version unchanged since read) is what decides a true race."""
    import wangge.cases.services.engine as engine

    case = flow.new_case(State.REPORTED)
    real = engine.check_allowed

    def slow_check(actor, c, t):
        real(actor, c, t)
        # Someone else's transaction commits here, between our read and our write.
        Case.objects.filter(pk=c.pk).update(version=F("version") + 1)

    monkeypatch.setattr(engine, "check_allowed", slow_check)
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(CaseConflict, match="someone else changed"):
        transition(people.staff, case.pk, "register")
    assert Case.objects.get(pk=case.pk).state == State.REPORTED
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.django_db(transaction=True)
def test_threads_racing_on_one_case_one_wins(flow, people):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is not shared safely across threads")
    case = flow.new_case(State.REPORTED)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def worker(user, action, inputs):
        try:
            barrier.wait()
            transition(user, case.pk, action, expected_version=case.version, **inputs)
            results.append("won")
        except CaseConflict:
            results.append("409")
        except BaseException as exc:  # surfaced below
            results.append(repr(exc))
        finally:
            connection.close()

    jobs = [(people.staff, "register", {}), (people.street_staff, "register", {}),
            (people.staff, "reject", {"reason": "重复"}),
            (people.street_staff, "void", {"reason": "误报"})]
    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["409", "409", "409", "won"]
    assert Case.objects.get(pk=case.pk).version == case.version + 1
    assert CaseEvent.objects.filter(case=case).exclude(action="report").count() == 1


# -- deadlines on the timeline ------------------------------------------------------------


def test_the_step_that_ends_is_measured_against_its_deadline(flow, people, fake_deadlines):
    case = flow.new_case(State.REPORTED)
    assert case.step == "register" and case.due_at is not None
    case = flow.act(case, "register")
    event = CaseEvent.objects.filter(case=case).last()
    assert event.step == "register"
    assert event.step_due_at is not None
    assert 0 <= event.step_elapsed_ratio < 0.01  # registered at once
    assert case.step == "dispatch" and case.due_at > timezone.now()


def test_extension_approval_pushes_the_deadline_by_working_days(flow, people, fake_deadlines):
    case = flow.new_case(State.HANDLING)
    with pytest.raises(CaseInvalid, match="days"):
        transition(people.cg, case.pk, "request_extension", reason="材料未到")
    case = transition(people.cg, case.pk, "request_extension", reason="材料未到", days=5)
    assert case.pending_request == "extension" and case.pending_detail["days"] == 5
    with pytest.raises(CaseConflict, match="already pending"):
        transition(people.cg, case.pk, "request_suspension", reason="x")
    # The approver may grant fewer days than asked, never more.
    with pytest.raises(CaseInvalid, match="from 1 to 5"):
        transition(people.staff, case.pk, "approve_extension", days=6)
    due = case.due_at
    case = transition(people.staff, case.pk, "approve_extension", days=3)
    assert case.due_at == add_working_days(due, 3)
    assert case.pending_request == "" and case.state == State.HANDLING
    with pytest.raises(CaseConflict, match="no pending extension"):
        transition(people.staff, case.pk, "approve_extension")


def test_extension_refused_keeps_the_deadline(flow, people, fake_deadlines):
    case = flow.new_case(State.HANDLING, pending="extension")
    due = case.due_at
    case = transition(people.staff, case.pk, "refuse_extension", reason="不符合延期条件")
    assert case.due_at == due and case.pending_request == ""
    event = CaseEvent.objects.filter(case=case).last()
    assert event.note == "不符合延期条件" and event.detail["request"]["days"] == 2


def test_a_pending_request_lapses_when_the_case_moves_on(flow, people, upload):
    case = flow.new_case(State.HANDLING, pending="extension")
    case = transition(people.cg, case.pk, "handle", note="提前完成",
                      evidence=[upload(people.cg).pk])
    assert case.pending_request == ""
    assert CaseEvent.objects.filter(case=case).last().detail["pending_dropped"] == "extension"


def test_suspension_stops_the_clock_and_resume_restarts_it(flow, people, fake_deadlines):
    case = flow.new_case(State.SUSPENDED)
    assert (case.step, case.due_at) == ("", None)
    case = flow.act(case, "resume")
    assert case.state == State.HANDLING and case.step == "handle" and case.due_at


# -- the whistle ------------------------------------------------------------------------------


def test_whistle_summons_departments_who_each_report_in(flow, people, fake_deadlines,
                                                        notified):
    case = flow.new_case(State.REGISTERED)
    case = transition(people.staff, case.pk, "whistle", departments=["CG", "ZJ", "SW"])
    assert case.state == State.DISPATCHED and case.step == "report_in"
    summoned = {a.department.code: a for a in Assignment.objects.filter(case=case, active=True)}
    assert {k: (a.role, a.via_whistle) for k, a in summoned.items()} == {
        "CG": ("lead", True), "ZJ": ("assist", True), "SW": ("assist", True)}
    assert all(a.report_in_due_at == case.due_at for a in summoned.values())
    assert notified[-1][0] == {"h_cg", "h_zj", "h_sw"}
    for handler in (people.zj, people.sw, people.cg):
        transition(handler, case.pk, "report_in", note="已到场")
    reported = Assignment.objects.filter(case=case, active=True, reported_in_at__isnull=False)
    assert reported.count() == 3
    with pytest.raises(CaseConflict, match="already reported in"):
        transition(people.zj, case.pk, "report_in")
    timeline = [(e.action, e.department.code if e.department else None)
                for e in CaseEvent.objects.filter(case=case)]
    assert timeline[-3:] == [("report_in", "ZJ"), ("report_in", "SW"), ("report_in", "CG")]
    case = transition(people.cg, case.pk, "accept")
    assert case.state == State.HANDLING and case.step == "handle"


def test_whistle_on_a_dispatched_case_changes_the_lead(flow, people):
    case = flow.new_case(State.DISPATCHED)  # CG lead, ZJ assisting
    transition(people.staff, case.pk, "whistle", departments=["ZJ", "SW"])
    roles = dict(Assignment.objects.filter(case=case, active=True)
                 .values_list("department__code", "role"))
    assert roles == {"CG": "assist", "ZJ": "lead", "SW": "assist"}


def test_report_in_without_a_whistle_is_refused(flow, people):
    case = flow.new_case(State.DISPATCHED)
    with pytest.raises(CaseConflict, match="not summoned by a whistle"):
        transition(people.cg, case.pk, "report_in")


# -- return, verify, rate, merge, supervise ---------------------------------------------------


def test_return_keeps_the_reason_and_the_department_loses_the_case(flow, people):
    case = flow.new_case(State.HANDLING)
    case = transition(people.cg, case.pk, "return", reason="属于供水管线，非城管职责")
    assert case.state == State.REGISTERED and case.step == "dispatch"
    ended = Assignment.objects.filter(case=case)
    assert not ended.filter(active=True).exists()
    assert all("非城管职责" in a.end_reason and a.ended_at for a in ended)
    assert CaseEvent.objects.filter(case=case).last().note == "属于供水管线，非城管职责"
    with pytest.raises(CaseNotFound):
        transition(people.cg, case.pk, "accept")
    # Re-dispatched elsewhere, the new department sees it.
    transition(people.staff, case.pk, "dispatch", departments=["SW"])
    assert transition(people.sw, case.pk, "accept").state == State.HANDLING


def test_self_handled_case_is_verified_by_someone_else(flow, people, upload, make_case):
    evidence = upload(people.grid_worker)
    case = make_case(people.grid_worker, self_handled=True, photos=[evidence.pk])
    assert case.state == State.HANDLED
    with pytest.raises(CaseForbidden, match="someone else must verify"):
        transition(people.grid_worker, case.pk, "verify",
                   evidence=[upload(people.grid_worker).pk])
    assert BY_ACTION["verify"] not in allowed_transitions(people.grid_worker, case)
    case = transition(people.staff, case.pk, "verify", evidence=[upload(people.staff).pk])
    assert case.state == State.CLOSED and case.closed_at


def test_merging_a_duplicate_in_does_not_make_the_dispatcher_its_fixer(flow, people, upload,
                                                                       make_case):
    """A duplicate merged into a self-handled case leaves a "handled → handled" line by the
    dispatcher; she did not fix it, so she may still verify (the demo history met this)."""
    case = make_case(people.grid_worker, self_handled=True,
                     photos=[upload(people.grid_worker).pk])
    dup = make_case(title="重复上报")
    transition(people.staff, dup.pk, "merge", master=case.code)
    assert CaseEvent.objects.filter(case=case).last().action == "merge_in"
    case = transition(people.staff, case.pk, "verify", evidence=[upload(people.staff).pk])
    assert case.state == State.CLOSED


def test_only_the_reporter_rates(flow, people):
    case = flow.new_case(State.CLOSED)
    # Another resident can't even see the case; the rule holds behind the scope too.
    with pytest.raises(CaseNotFound):
        transition(people.other_resident, case.pk, "rate", rating=5)
    with pytest.raises(CaseForbidden, match="only the resident who reported"):
        check_allowed(people.other_resident, case, BY_ACTION["rate"])
    with pytest.raises(CaseInvalid, match="rating: a whole number from 1 to 5"):
        transition(people.resident, case.pk, "rate", rating=6)
    case = transition(people.resident, case.pk, "rate", rating=5, comment="很快")
    assert (case.state, case.rating, case.rating_comment) == (State.CLOSED, 5, "很快")
    with pytest.raises(CaseConflict, match="rated already"):
        transition(people.resident, case.pk, "rate", rating=1)


def test_low_rating_sends_the_case_to_review_and_tells_the_dispatchers(flow, people, notified):
    case = flow.new_case(State.CLOSED)
    case = transition(people.resident, case.pk, "rate", rating=LOW_RATING, comment="没修好")
    assert case.state == State.UNDER_REVIEW and case.rating == LOW_RATING
    users, subject, code = notified[-1]
    assert users == {"staff_w"} and code == case.code and "review" in subject
    case = transition(people.staff, case.pk, "reopen", reason="重新派遣")
    assert case.state == State.REGISTERED and case.rating is None
    rates = CaseEvent.objects.filter(case=case, action="rate")
    assert rates.get().detail == {"rating": LOW_RATING, "low_rating_review": True}


def test_merge_into_a_visible_open_master(flow, people, make_case):
    master = make_case(title="主案件")
    dup = make_case(title="重复上报")
    elsewhere = make_case(people.south_staff, lon=117.11, lat=36.605, title="别处")
    with pytest.raises(CaseInvalid, match=r"no case .* that you can see"):
        transition(people.staff, dup.pk, "merge", master=elsewhere.code)
    with pytest.raises(CaseInvalid, match="into itself"):
        transition(people.staff, dup.pk, "merge", master=dup.code)
    closed = flow.new_case(State.CLOSED)
    with pytest.raises(CaseInvalid, match="merge into an open case"):
        transition(people.staff, dup.pk, "merge", master=closed.code)
    dup = transition(people.staff, dup.pk, "merge", master=master.code)
    assert dup.state == State.MERGED and dup.master_id == master.pk
    line = CaseEvent.objects.filter(case=master).last()
    assert (line.action, line.detail) == ("merge_in", {"merged": dup.code})


def test_supervision_notifies_the_departments(flow, people, notified):
    case = flow.new_case(State.HANDLING)
    case = transition(people.command, case.pk, "supervise", note="请加快处置")
    assert notified[-1][0] == {"h_cg", "h_zj"} and "Supervision" in notified[-1][1]
    assert case.state == State.HANDLING
    reported = flow.new_case(State.REPORTED)
    transition(people.command, reported.pk, "supervise", note="请尽快立案")
    assert notified[-1][0] == {"staff_w"}


def test_allowed_actions_follow_the_table_for_each_person(flow, people):
    case = flow.new_case(State.REPORTED)
    staff = {t.action for t in allowed_transitions(people.staff, case)}
    assert staff == {t.action for t in TRANSITIONS
                     if State.REPORTED in t.sources and people.staff.role in t.roles}
    assert allowed_transitions(people.resident, case) == []
    assert {t.action for t in allowed_transitions(people.command, case)} >= {"supervise"}


def test_open_states_are_the_ones_supervision_reaches():
    assert BY_ACTION["supervise"].sources == OPEN_STATES | {State.SUSPENDED}


def test_timeline_is_ordered_and_attributed(flow, people):
    case = flow.new_case(State.HANDLED)
    lines = list(CaseEvent.objects.filter(case=case))
    assert [e.action for e in lines] == ["report", "register", "dispatch", "accept", "handle"]
    assert [e.actor_name for e in lines] == ["resident_w", "staff_w", "staff_w", "h_cg", "h_cg"]
    assert lines[3].department.code == "CG"
    assert all(b.at >= a.at for a, b in itertools.pairwise(lines))
