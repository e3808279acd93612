"""The case workflow — 事件处置流程, declared once as data.

Seven steps of digital urban management (信息收集 → 案卷建立 → 任务派遣 → 任务处理 → 处理反馈 →
核查结案 → 综合评价) plus what grid governance adds: the whistle (吹哨) and report-in (报到),
return (回退), extension (延期), suspension (挂账/缓办), supervision (督办), rework (返工),
merge (合并), void (作废), on-the-spot handling (自处置) and the resident's rating.

``TRANSITIONS`` is the only place that says who may do what from which state. The engine in
``services.transition`` reads it; the docs diagram (``wangge workflow-diagram``) is generated
from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.accounts.roles import Role


class State(models.TextChoices):
    REPORTED = "reported", _("reported")  # 上报, awaiting registration
    REGISTERED = "registered", _("registered")  # 立案, awaiting dispatch
    DISPATCHED = "dispatched", _("dispatched")  # 派遣, awaiting the department(s)
    HANDLING = "handling", _("being handled")  # 处置中
    HANDLED = "handled", _("handled, awaiting verification")  # 处置反馈, 待核查
    SUSPENDED = "suspended", _("suspended")  # 挂账/缓办
    CLOSED = "closed", _("closed")  # 结案
    UNDER_REVIEW = "under_review", _("under review after a low rating")  # 复核
    REJECTED = "rejected", _("not registered")  # 不予立案
    VOIDED = "voided", _("voided")  # 作废
    MERGED = "merged", _("merged into another case")  # 已合并


OPEN_STATES = frozenset({State.REPORTED, State.REGISTERED, State.DISPATCHED, State.HANDLING,
                         State.HANDLED, State.UNDER_REVIEW})
FINAL_STATES = frozenset({State.REJECTED, State.VOIDED, State.MERGED})
# Open311 has two statuses; everything not closed for good is "open" to the resident.
OPEN311_CLOSED = frozenset({State.CLOSED, State.REJECTED, State.VOIDED, State.MERGED})

DISPATCHERS = frozenset({Role.STAFF, Role.COMMAND})
SUPERVISORS = frozenset({Role.COMMAND})


class Step(models.TextChoices):
    """Steps that carry a deadline (时限), set per category and urgency in DeadlineRule."""

    REGISTER = "register", _("registration")  # 立案时限
    DISPATCH = "dispatch", _("dispatch")  # 派遣时限
    REPORT_IN = "report_in", _("report-in")  # 报到时限 (whistle)
    ACCEPT = "accept", _("acceptance")  # 签收时限
    HANDLE = "handle", _("handling")  # 处置时限
    VERIFY = "verify", _("verification")  # 核查时限


@dataclass(frozen=True)
class Transition:
    """One allowed move: ``action`` takes a case from any of ``sources`` to ``target``.

    ``target`` None keeps the state (e.g. supervision). ``starts`` names the deadline step that
    begins on arrival; ``needs`` lists what the actor must supply (reason, evidence photo,
    departments, rating, master case, approval of a pending request).
    """

    action: str
    sources: frozenset[str]
    target: str | None
    roles: frozenset[str]
    label: str
    starts: str | None = None
    needs: tuple[str, ...] = ()
    department_only: bool = False  # the actor must be one of the case's departments
    lead_only: bool = False  # … and the lead (主办) one
    pending: str | None = None  # the pending request this action decides
    side_effects: tuple[str, ...] = field(default=())


def _t(action, sources, target, roles, label, **kw) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), label, **kw)


S = State
TRANSITIONS: tuple[Transition, ...] = (
    _t("register", {S.REPORTED}, S.REGISTERED, DISPATCHERS, _("register (立案)"),
       starts=Step.DISPATCH),
    _t("reject", {S.REPORTED}, S.REJECTED, DISPATCHERS, _("do not register (不予立案)"),
       needs=("reason",)),
    _t("dispatch", {S.REGISTERED}, S.DISPATCHED, DISPATCHERS, _("dispatch (派遣)"),
       starts=Step.ACCEPT, needs=("departments",)),
    _t("whistle", {S.REGISTERED, S.DISPATCHED, S.HANDLING}, S.DISPATCHED,
       frozenset({Role.STAFF}), _("blow the whistle (吹哨)"), starts=Step.REPORT_IN,
       needs=("departments",)),
    _t("report_in", {S.DISPATCHED, S.HANDLING}, None, frozenset({Role.HANDLER}),
       _("report in (报到)"), department_only=True),
    _t("accept", {S.DISPATCHED}, S.HANDLING, frozenset({Role.HANDLER}), _("accept (签收)"),
       starts=Step.HANDLE, department_only=True, lead_only=True),
    _t("return", {S.DISPATCHED, S.HANDLING}, S.REGISTERED, frozenset({Role.HANDLER}),
       _("return as mis-dispatched (回退)"), starts=Step.DISPATCH, needs=("reason",),
       department_only=True, lead_only=True),
    _t("contribute", {S.HANDLING}, None, frozenset({Role.HANDLER}),
       _("record assisting work (协办)"), needs=("note",), department_only=True),
    _t("handle", {S.HANDLING}, S.HANDLED, frozenset({Role.HANDLER}),
       _("report handled (处置反馈)"), starts=Step.VERIFY, needs=("note", "evidence"),
       department_only=True, lead_only=True),
    _t("request_extension", {S.HANDLING}, None, frozenset({Role.HANDLER}),
       _("ask for an extension (申请延期)"), needs=("reason", "days"), department_only=True,
       lead_only=True),
    _t("approve_extension", {S.HANDLING}, None, DISPATCHERS, _("approve extension"),
       pending="extension"),
    _t("refuse_extension", {S.HANDLING}, None, DISPATCHERS, _("refuse extension"),
       needs=("reason",), pending="extension"),
    _t("request_suspension", {S.HANDLING}, None, frozenset({Role.HANDLER}),
       _("ask to suspend (申请挂账/缓办)"), needs=("reason",), department_only=True,
       lead_only=True),
    _t("approve_suspension", {S.HANDLING}, S.SUSPENDED, DISPATCHERS, _("approve suspension"),
       pending="suspension"),
    _t("refuse_suspension", {S.HANDLING}, None, DISPATCHERS, _("refuse suspension"),
       needs=("reason",), pending="suspension"),
    _t("resume", {S.SUSPENDED}, S.HANDLING, DISPATCHERS, _("resume (恢复处置)"),
       starts=Step.HANDLE),
    _t("verify", {S.HANDLED}, S.CLOSED, frozenset({Role.GRID_WORKER, Role.STAFF}),
       _("verify and close (核查结案)"), needs=("evidence",)),
    _t("rework", {S.HANDLED}, S.HANDLING, frozenset({Role.GRID_WORKER, Role.STAFF}),
       _("verification failed, back for rework (返工)"), starts=Step.HANDLE,
       needs=("reason",)),
    _t("rate", {S.CLOSED}, None, frozenset({Role.RESIDENT}), _("rate (评价)"),
       needs=("rating",), side_effects=("low_rating_review",)),
    _t("reopen", {S.UNDER_REVIEW}, S.REGISTERED, DISPATCHERS, _("reopen after review (重新派遣)"),
       starts=Step.DISPATCH, needs=("reason",)),
    _t("confirm_closure", {S.UNDER_REVIEW}, S.CLOSED, DISPATCHERS,
       _("keep closed after review"), needs=("reason",)),
    _t("supervise", OPEN_STATES | {S.SUSPENDED}, None, SUPERVISORS, _("supervise (督办)"),
       needs=("note",)),
    _t("merge", {S.REPORTED, S.REGISTERED}, S.MERGED, DISPATCHERS,
       _("merge into a master case (合并)"), needs=("master",)),
    _t("void", OPEN_STATES - {S.HANDLED}, S.VOIDED, DISPATCHERS, _("void (作废)"),
       needs=("reason",)),
)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
# A rating at or below this sends the case to review (复核).
LOW_RATING = 2


def allowed_actions(state: str, role: str) -> list[Transition]:
    """The moves a role may make from a state (what the case page offers as buttons)."""
    return [t for t in TRANSITIONS if state in t.sources and role in t.roles]
