"""The transition engine — 流转引擎: moves a case along ``workflow.TRANSITIONS``.

Every move is checked in the same order, and the first refusal wins:

1. the case is visible to the actor (404 otherwise, exactly like a missing case);
2. the actor's role is one the transition lists (403);
3. the case is still the version the actor saw (409: someone else changed it first);
4. the case's state is one the transition starts from (409, and nothing changes);
5. department actions: the actor's department holds an active (lead) assignment (403);
   rules about persons: a self-handled case is verified by someone else, only the reporter
   rates (403);
6. a decision on a pending request needs that request to be pending (409);
7. everything the transition ``needs`` is supplied and valid (422, naming the input).

Then, in one transaction: the case row is updated only if its version is still the one read
(optimistic lock; two actors at once — one wins, the other gets 409), the step that ended is
measured against its deadline, the next step's deadline starts, assignments and pending
requests change, the timeline line (CaseEvent) and the audit record are written and
notifications queued. A refusal at any point rolls all of it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.models import Department, User
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.audit.services import record
from wangge.core import clock
from wangge.figures import recorder as figures
from wangge.figures.recorder import Facts

from ..models import Assignment, AssignmentRole, Case, CaseEvent, Photo
from ..workflow import (
    BY_ACTION,
    DISPATCHERS,
    LOW_RATING,
    OPEN_STATES,
    TRANSITIONS,
    State,
    Step,
    Transition,
)
from .common import audit_actor, deadline_for, elapsed_ratio, event_for
from .errors import CaseConflict, CaseError, CaseForbidden, CaseInvalid, CaseNotFound

MAX_EXTENSION_DAYS = 30
MAX_TEXT = 5000


def _notify(users, subject: str, body: str, *, case: Case) -> None:
    from wangge.notifications.services import notify

    notify(list(users), subject, body, case=case)


# -- the public entry points --------------------------------------------------------------


def transition(actor, case_id: int | str, action: str, *, expected_version: int | None = None,
               **inputs: Any) -> Case:
    """Take ``action`` on the case (primary key or code) as ``actor``; return the updated case.

    ``expected_version`` is the version the actor's screen showed; when given, a case changed
    since is refused with 409 instead of acting on a state the actor never saw. Raises a
    ``CaseError`` subclass carrying the HTTP status (see the module docstring).
    """
    t = BY_ACTION.get(action)
    if t is None:
        raise CaseNotFound(_("there is no action %(action)s; known actions: %(known)s")
                           % {"action": repr(action),
                              "known": ", ".join(x.action for x in TRANSITIONS)})
    with transaction.atomic():
        case = _load(actor, case_id)
        _check_role(actor, case, t)
        if expected_version is not None and int(expected_version) != case.version:
            raise CaseConflict(
                _("someone else changed case %(code)s first (you saw version %(seen)s, it is "
                  "now %(version)s, %(state)s); reload it and decide again")
                % {"code": case.code, "seen": expected_version, "version": case.version,
                   "state": case.get_state_display()})
        check_allowed(actor, case, t)
        move = _Move(actor=actor, case=case, t=t, inputs=inputs, now=clock.now())
        move.prepare()
        move.apply()
    return Case.objects.select_related("category", "region").get(pk=case.pk)


def allowed_transitions(actor, case: Case) -> list[Transition]:
    """The moves ``actor`` could make on ``case`` now: the role's moves from the case's state
    (``workflow.allowed_actions``) less those the engine would refuse before looking at any
    input (not this department's case, not your own fix to verify, …)."""
    from ..workflow import allowed_actions

    out = []
    for t in allowed_actions(case.state, getattr(actor, "role", "")):
        try:
            check_allowed(actor, case, t)
        except CaseError:
            continue
        out.append(t)
    return out


# -- checks -------------------------------------------------------------------------------


def _load(actor, case_id: int | str) -> Case:
    lookup = {"code": case_id} if isinstance(case_id, str) else {"pk": case_id}
    case = (visible_to(Case.objects.select_related("category", "region"), actor)
            .filter(**lookup).first())
    if case is None:
        raise CaseNotFound(_("no such case"))
    return case


def _check_role(actor, case: Case, t: Transition) -> None:
    role = getattr(actor, "role", "")
    if role not in t.roles:
        raise CaseForbidden(_("a %(role)s may not %(action)s; this is for: %(roles)s") % {
            "role": Role(role).label if role in Role.values else role, "action": t.label,
            "roles": ", ".join(sorted(str(Role(r).label) for r in t.roles))})


def _active_assignment(actor, case: Case) -> Assignment | None:
    if getattr(actor, "department_id", None) is None:
        return None
    return (Assignment.objects.filter(case=case, department_id=actor.department_id, active=True)
            .select_related("department").first())


def check_allowed(actor, case: Case, t: Transition) -> None:
    """Everything about whether ``actor`` may take ``t`` on ``case`` that needs no input."""
    _check_role(actor, case, t)
    if case.state not in t.sources:
        raise CaseConflict(
            _("cannot %(action)s case %(code)s: it is %(state)s; this is allowed only when it "
              "is %(sources)s") % {
                "action": t.label, "code": case.code, "state": case.get_state_display(),
                "sources": ", ".join(sorted(str(State(s).label) for s in t.sources))})
    if t.department_only:
        assignment = _active_assignment(actor, case)
        if assignment is None:
            raise CaseForbidden(_("your department is not assigned case %(code)s")
                                % {"code": case.code})
        if t.lead_only and assignment.role != AssignmentRole.LEAD:
            raise CaseForbidden(_("only the lead department (主办) may %(action)s; your "
                                  "department assists on this case") % {"action": t.label})
        if t.action == "report_in":
            if not assignment.via_whistle:
                raise CaseConflict(_("your department was not summoned by a whistle on this "
                                     "case; there is nothing to report in to"))
            if assignment.reported_in_at is not None:
                at = timezone.localtime(assignment.reported_in_at)
                raise CaseConflict(_("your department already reported in at %(at)s")
                                   % {"at": f"{at:%Y-%m-%d %H:%M}"})
    if t.pending is not None and case.pending_request != t.pending:
        raise CaseConflict(_("there is no pending %(request)s request on case %(code)s")
                           % {"request": t.pending, "code": case.code})
    if t.action in ("request_extension", "request_suspension") and case.pending_request:
        raise CaseConflict(_("a %(request)s request is already pending; wait for the decision")
                           % {"request": case.pending_request})
    if t.action == "verify":
        fixer = _handled_by(case)
        if fixer is not None and fixer == actor.pk:
            if case.self_handled:
                message = _("you handled it on the spot yourself; someone else must verify it "
                            "(自处置须由他人核查)")
            else:
                message = _("you reported it handled yourself; someone else must verify it")
            raise CaseForbidden(message)
    if t.action == "rate":
        if actor.pk not in (case.reporter_id, case.requester_id):
            raise CaseForbidden(_("only the resident who reported or raised this case may "
                                  "rate it"))
        if case.rating is not None:
            raise CaseConflict(_("this case has been rated already"))


def _handled_by(case: Case) -> int | None:
    """Who last brought the case to "handled" (the department handler, or the grid worker
    who fixed it on the spot). Events that leave it handled without moving it there (a
    duplicate merged in, a supervision notice) are not handling, so they don't count."""
    return (CaseEvent.objects.filter(case=case, to_state=State.HANDLED)
            .exclude(from_state=State.HANDLED)
            .order_by("-at", "-id").values_list("actor_id", flat=True).first())


# -- one move -----------------------------------------------------------------------------


@dataclass
class _Move:
    actor: User
    case: Case
    t: Transition
    inputs: dict[str, Any]
    now: datetime
    updates: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    department: Department | None = None
    evidence: list[int] = field(default_factory=list)
    after: list[Callable[[CaseEvent], None]] = field(default_factory=list)
    # The step this move ends: (step, its due time, share of its limit used).
    ended: tuple[str, datetime | None, float | None] = ("", None, None)

    @property
    def target(self) -> str:
        return self.updates.get("state", self.t.target or self.case.state)

    # Inputs ------------------------------------------------------------------------------

    def missing(self, name: str) -> CaseInvalid:
        return CaseInvalid(_("%(name)s: %(action)s needs %(what)s") % {
            "name": name, "action": self.t.label, "what": _NEED_HELP.get(name, name)},
            field=name)

    def need(self, name: str) -> Any:
        value = self.inputs.get(name)
        if value is None or value == "" or value == []:
            raise self.missing(name)
        return value

    def text(self, name: str) -> str:
        value = str(self.need(name)).strip()
        if not value:
            raise self.missing(name)
        if len(value) > MAX_TEXT:
            raise CaseInvalid(_("%(name)s: at most %(n)d characters")
                              % {"name": name, "n": MAX_TEXT}, field=name)
        return value

    def number(self, name: str, low: int, high: int, *, required: bool = True) -> int | None:
        raw = self.inputs.get(name)
        if raw is None or raw == "":
            if required:
                self.need(name)
            return None
        try:
            value = int(raw)
            if value != float(raw):
                raise ValueError
        except (TypeError, ValueError):
            raise CaseInvalid(_("%(name)s: a whole number from %(low)d to %(high)d, not "
                                "%(value)s") % {"name": name, "low": low, "high": high,
                                               "value": repr(raw)}, field=name) from None
        if not low <= value <= high:
            raise CaseInvalid(_("%(name)s: a whole number from %(low)d to %(high)d, not "
                                "%(value)s") % {"name": name, "low": low, "high": high,
                                               "value": value}, field=name)
        return value

    # Preparation: everything checked, nothing written ------------------------------------

    def prepare(self) -> None:
        for name in self.t.needs:
            if name == "departments" and self.t.action == "dispatch" and self.case.route:
                continue  # the route suggested at intake stands in for a missing list
            if name in ("reason", "note"):
                self.note = self.text(name)
            elif name == "evidence":
                self.evidence = self._evidence()
            else:
                self.need(name)
        handler = _HANDLERS.get(self.t.action)
        if handler is not None:
            handler(self)
        self._timing()
        if self.target == State.CLOSED and self.case.state != State.CLOSED:
            self.detail["on_time"] = self._closed_on_time()

    def _closed_on_time(self) -> bool:
        """按期结案: no step of the case ever passed its deadline, this last one included."""
        if self.case.overdue or (self.ended[2] is not None and self.ended[2] > 1):
            return False
        return not CaseEvent.objects.filter(case=self.case).filter(
            Q(step_elapsed_ratio__gt=1) | Q(action="escalate")).exists()

    def _evidence(self) -> list[int]:
        raw = self.need("evidence")
        ids = raw if isinstance(raw, list | tuple) else [raw]
        try:
            ids = sorted({int(i) for i in ids})
        except (TypeError, ValueError):
            raise CaseInvalid(_("evidence: photo ids (numbers)"), field="evidence") from None
        usable = Photo.objects.filter(pk__in=ids).filter(
            Q(case=self.case) | Q(case__isnull=True, uploaded_by=self.actor))
        found = set(usable.values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise CaseInvalid(_("evidence: photo(s) %(ids)s are neither on this case nor among "
                                "your own unattached uploads")
                              % {"ids": ", ".join(map(str, missing))}, field="evidence")
        return ids

    def _timing(self) -> None:
        """End the running step (measured against its deadline) and start the next one."""
        case = self.case
        changes_state = self.target != case.state
        if case.step and (self.t.starts or changes_state):
            self.detail["step_ended"] = case.step
            self.ended = (case.step, case.due_at,
                          elapsed_ratio(case.step_started_at, case.due_at, self.now))
        if self.t.starts:
            self.updates.update(step=self.t.starts, step_started_at=self.now,
                                due_at=deadline_for(case, self.t.starts))
        elif changes_state:
            self.updates.update(step="", step_started_at=None, due_at=None)
        if "due_at" in self.updates and case.overdue:
            self.updates["overdue"] = False  # a new step or deadline starts on time
        if changes_state and case.pending_request and "pending_request" not in self.updates:
            # A request about the old state (an extension of handling) lapses with it.
            self.detail["pending_dropped"] = case.pending_request
            self.updates.update(pending_request="", pending_detail={})

    # Application: the guarded update first, so a lost race writes nothing -----------------

    def apply(self) -> None:
        case, t = self.case, self.t
        updates = dict(self.updates)
        if t.target is not None:
            updates.setdefault("state", t.target)
        changed = Case.objects.filter(pk=case.pk, version=case.version).update(
            **updates, version=F("version") + 1, updated_at=self.now)
        if not changed:
            raise CaseConflict(_("someone else changed case %(code)s first; reload it and "
                                 "decide again") % {"code": case.code})
        step, due, ratio = self.ended
        before = Facts.of(case)
        after = Facts.of(case, **updates)
        event = CaseEvent.objects.create(
            **event_for(case, self.actor, t.action, case.state, self.target, self.now,
                        note=self.note, detail=self.detail, department=self.department,
                        lead_department_id=after.department_id),
            step=step, step_due_at=due, step_elapsed_ratio=ratio)
        figures.record(before, after, [event])
        if self.evidence:
            Photo.objects.filter(pk__in=self.evidence).update(case=case)
            Photo.objects.filter(pk__in=self.evidence, event__isnull=True).update(event=event)
        for fn in self.after:
            fn(event)
        record(f"cases.{t.action}", case, actor=audit_actor(self.actor), detail={
            "code": case.code, "from": case.state, "to": self.target,
            "version": case.version + 1, **_audit_detail(self)})


_NEED_HELP = {
    "reason": gettext_lazy("a reason"),
    "note": gettext_lazy("a note of what was done"),
    "evidence": gettext_lazy("at least one evidence photo (photo ids)"),
    "departments": gettext_lazy("departments (codes, the lead first)"),
    "days": gettext_lazy("a number of working days"),
    "rating": gettext_lazy("a rating from 1 to 5"),
    "master": gettext_lazy("the code of the master case"),
}


def _audit_detail(move: _Move) -> dict:
    keep = {k: v for k, v in move.detail.items() if k != "comment"}
    if move.note:
        keep["note"] = move.note[:500]
    if move.evidence:
        keep["evidence"] = move.evidence
    return keep


# -- what each action does beyond the generic move ----------------------------------------


def _departments(move: _Move) -> tuple[Department, list[Department]]:
    raw = move.inputs.get("departments")
    if not raw and move.t.action == "dispatch" and move.case.route:
        codes = [move.case.route["lead"], *move.case.route.get("assisting", [])]
        move.detail["from_route"] = True
    else:
        raw = move.need("departments")
        codes = [c.strip() for c in raw.split(",")] if isinstance(raw, str) else list(raw)
        codes = [str(c).strip() for c in codes if str(c).strip()]
    if len(set(codes)) != len(codes):
        raise CaseInvalid(_("departments: a department is named twice"), field="departments")
    found = {d.code: d for d in
             Department.objects.filter(code__in=codes, is_active=True).select_related("region")}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise CaseInvalid(_("departments: no active department %(codes)s")
                          % {"codes": ", ".join(unknown)}, field="departments")
    # A department serves its node's subtree: it can only be sent to cases there.
    outside = [c for c in codes if not move.case.region_path.startswith(found[c].region.path)]
    if outside:
        raise CaseInvalid(_("departments: %(codes)s do not serve the area of case %(code)s")
                          % {"codes": ", ".join(outside), "code": move.case.code},
                          field="departments")
    depts = [found[c] for c in codes]
    return depts[0], depts[1:]


def _handlers_of(departments) -> list[User]:
    return list(User.objects.filter(department__in=departments, role=Role.HANDLER,
                                    is_active=True))


def _dispatchers_for(case: Case) -> list[User]:
    """Dispatchers at the deepest node above the case that has any (the community or street
    that registered it, before the district's command centre)."""
    codes = case.region_path.rstrip(".").split(".")
    paths = ["".join(f"{c}." for c in codes[:i]) for i in range(1, len(codes) + 1)]
    users = list(User.objects.filter(role__in=DISPATCHERS, is_active=True,
                                     region__path__in=paths).select_related("region"))
    if not users:
        return []
    deepest = max(len(u.region.path) for u in users)
    return [u for u in users if len(u.region.path) == deepest]


def _end_assignments(case: Case, reason: str, now: datetime) -> int:
    return Assignment.objects.filter(case=case, active=True).update(
        active=False, ended_at=now, end_reason=reason)


def _dispatch(move: _Move) -> None:
    lead, assisting = _departments(move)
    move.detail.update(lead=lead.code, assisting=[d.code for d in assisting])
    move.updates["lead_department"] = lead

    def after(event: CaseEvent) -> None:
        _end_assignments(move.case, "replaced by a new dispatch", move.now)
        Assignment.objects.bulk_create(
            [Assignment(case=move.case, department=lead, role=AssignmentRole.LEAD)]
            + [Assignment(case=move.case, department=d, role=AssignmentRole.ASSIST)
               for d in assisting])
        values = {"code": move.case.code, "title": move.case.title, "lead": lead.name}
        _notify(_handlers_of([lead, *assisting]), _("Case %(code)s dispatched") % values,
                _("%(title)s (lead: %(lead)s)") % values, case=move.case)

    move.after.append(after)


def _whistle(move: _Move) -> None:
    """吹哨: summon the departments to report in by the report-in deadline. Departments
    already on the case keep their assignment (now with a report-in due); the first named
    leads, and a different previous lead assists from now on."""
    lead, assisting = _departments(move)
    due = deadline_for(move.case, Step.REPORT_IN)
    move.detail.update(lead=lead.code, assisting=[d.code for d in assisting],
                       report_in_due_at=due.isoformat() if due else None)
    move.updates["lead_department"] = lead

    def after(event: CaseEvent) -> None:
        current = {a.department_id: a for a in
                   Assignment.objects.filter(case=move.case, active=True)}
        for dept in [lead, *assisting]:
            role = AssignmentRole.LEAD if dept is lead else AssignmentRole.ASSIST
            a = current.get(dept.pk)
            if a is None:
                Assignment.objects.create(case=move.case, department=dept, role=role,
                                          via_whistle=True, report_in_due_at=due)
            else:
                Assignment.objects.filter(pk=a.pk).update(
                    role=role, via_whistle=True, report_in_due_at=due, reported_in_at=None)
        Assignment.objects.filter(case=move.case, active=True, role=AssignmentRole.LEAD).exclude(
            department=lead).update(role=AssignmentRole.ASSIST)
        values = {"code": move.case.code, "title": move.case.title, "lead": lead.name}
        _notify(_handlers_of([lead, *assisting]), _("Whistle: report in on %(code)s") % values,
                _("%(title)s: report in by the deadline (lead: %(lead)s)") % values,
                case=move.case)

    move.after.append(after)


def _report_in(move: _Move) -> None:
    assignment = _active_assignment(move.actor, move.case)
    move.department = assignment.department
    late = assignment.report_in_due_at is not None and move.now > assignment.report_in_due_at
    move.detail.update(department=assignment.department.code, late=late)
    move.note = str(move.inputs.get("note") or "").strip()[:MAX_TEXT]
    move.after.append(lambda event: Assignment.objects.filter(pk=assignment.pk).update(
        reported_in_at=move.now))


def _department_event(move: _Move) -> None:
    assignment = _active_assignment(move.actor, move.case)
    move.department = assignment.department
    move.detail["department"] = assignment.department.code


def _return(move: _Move) -> None:
    _department_event(move)
    move.updates["lead_department"] = None  # back to the dispatcher, no department has it
    move.after.append(lambda event: _end_assignments(
        move.case, _("returned by %(department)s: %(reason)s")
        % {"department": move.department.code, "reason": move.note}, move.now))


def _contribute(move: _Move) -> None:
    assignment = _active_assignment(move.actor, move.case)
    move.department = assignment.department
    move.detail["department"] = assignment.department.code
    line = f"{timezone.localtime(move.now):%Y-%m-%d %H:%M} {move.note}"
    text = f"{assignment.contribution}\n{line}" if assignment.contribution else line
    move.after.append(lambda event: Assignment.objects.filter(pk=assignment.pk).update(
        contribution=text))


def _request_extension(move: _Move) -> None:
    _department_event(move)
    days = move.number("days", 1, MAX_EXTENSION_DAYS)
    move.detail["days"] = days
    move.updates.update(pending_request="extension", pending_detail={
        "days": days, "reason": move.note, "by": move.actor.username,
        "department": move.department.code, "at": move.now.isoformat()})


def _request_suspension(move: _Move) -> None:
    _department_event(move)
    move.updates.update(pending_request="suspension", pending_detail={
        "reason": move.note, "by": move.actor.username, "department": move.department.code,
        "at": move.now.isoformat()})


def _approve_extension(move: _Move) -> None:
    from wangge.workcalendar.services import add_working_days

    asked = int(move.case.pending_detail.get("days") or 0)
    days = move.number("days", 1, asked, required=False) or asked
    move.detail.update(days=days, asked=asked)
    move.updates.update(pending_request="", pending_detail={})
    if move.case.due_at is not None:
        new_due = add_working_days(move.case.due_at, days)
        move.updates["due_at"] = new_due
        move.detail.update(due_before=move.case.due_at.isoformat(), due_after=new_due.isoformat())


def _close_pending(move: _Move) -> None:
    move.detail["request"] = dict(move.case.pending_detail)
    move.updates.update(pending_request="", pending_detail={})


def _verify(move: _Move) -> None:
    move.updates["closed_at"] = move.now
    residents = _residents_of(move.case)
    if residents:
        values = {"code": move.case.code, "title": move.case.title}
        move.after.append(lambda event: _notify(
            residents, _("Case %(code)s is closed: please rate it") % values,
            _("%(title)s has been handled and checked. Tell us how it went (1-5).") % values,
            case=move.case))


def _residents_of(case: Case) -> list[User]:
    """The residents who may rate the case: the one who reported it or raised it (反映人)."""
    ids = {case.reporter_id, case.requester_id} - {None}
    return list(User.objects.filter(pk__in=ids, role=Role.RESIDENT, is_active=True))


def _rate(move: _Move) -> None:
    rating = move.number("rating", 1, 5)
    comment = str(move.inputs.get("comment") or "").strip()
    if len(comment) > MAX_TEXT:
        raise CaseInvalid(_("%(name)s: at most %(n)d characters")
                          % {"name": "comment", "n": MAX_TEXT}, field="comment")
    move.note = comment
    move.detail["rating"] = rating
    move.updates.update(rating=rating, rating_comment=comment)
    if rating <= LOW_RATING:
        # 差评复核: a low rating reopens the question of whether the case was really solved.
        move.updates["state"] = State.UNDER_REVIEW
        move.detail["low_rating_review"] = True
        values = {"code": move.case.code, "title": move.case.title, "rating": rating,
                  "comment": comment}
        move.after.append(lambda event: _notify(
            _dispatchers_for(move.case), _("Low rating, review %(code)s") % values,
            _("%(title)s: the resident rated it %(rating)s; please review. %(comment)s")
            % values, case=move.case))


def _reopen(move: _Move) -> None:
    # The old rating stays in the timeline; the resident rates the new outcome afresh.
    move.updates.update(rating=None, rating_comment="", closed_at=None)


def _supervise(move: _Move) -> None:
    """督办: the notice goes to the departments on the case, or to the dispatchers while no
    department has it."""
    assigned = Department.objects.filter(assignments__case=move.case,
                                         assignments__active=True).distinct()
    users = _handlers_of(assigned) if assigned.exists() else _dispatchers_for(move.case)
    move.detail["notified"] = sorted(u.username for u in users)
    move.after.append(lambda event: _notify(
        users, _("Supervision notice on %(code)s") % {"code": move.case.code},
        f"{move.case.title}: {move.note}", case=move.case))


def _merge(move: _Move) -> None:
    code = str(move.need("master")).strip()
    master = visible_to(Case, move.actor).filter(code=code).first()
    if master is None:
        raise CaseInvalid(_("master: no case %(code)s that you can see") % {"code": code},
                          field="master")
    if master.pk == move.case.pk:
        raise CaseInvalid(_("master: a case cannot be merged into itself"), field="master")
    if master.state not in OPEN_STATES:
        raise CaseInvalid(_("master: case %(code)s is %(state)s; merge into an open case")
                          % {"code": code, "state": master.get_state_display()},
                          field="master")
    move.updates["master"] = master
    move.detail["master"] = master.code

    def after(event: CaseEvent) -> None:
        CaseEvent.objects.create(**event_for(
            master, move.actor, "merge_in", master.state, master.state, move.now,
            note=_("%(code)s merged into this case") % {"code": move.case.code},
            detail={"merged": move.case.code}))

    move.after.append(after)


_HANDLERS: dict[str, Callable[[_Move], None]] = {
    "dispatch": _dispatch,
    "whistle": _whistle,
    "report_in": _report_in,
    "accept": _department_event,
    "return": _return,
    "contribute": _contribute,
    "handle": _department_event,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "refuse_extension": _close_pending,
    "request_suspension": _request_suspension,
    "approve_suspension": _close_pending,
    "refuse_suspension": _close_pending,
    "verify": _verify,
    "rate": _rate,
    "reopen": _reopen,
    "supervise": _supervise,
    "merge": _merge,
}
