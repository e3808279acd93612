"""What the figures count, declared once — 统计口径.

A *flow* counts timeline events in a period (reported, closed …): each is named by the case
actions that move it, optionally with a condition on the event (its detail, the state it left,
how much of its step's time limit it used), and optionally a value other than 1 (the rating,
for the rating sum; the seconds the step took, for the duration sums behind average times).
A *stock* counts cases as they stand now, by state and whether they are past their deadline
(open, by stage, overdue).

The evaluation indicators (``wangge.evaluation.indicators``) are formulas over these flows.

Every figure is kept for every node from the grid up; broken down by category, source and
department from ``BREAKDOWN_LEVEL`` up (a street sees its categories at once; below it a
community reads its own handful of cases directly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.cases.workflow import OPEN_STATES, TRANSITIONS, State, Step
from wangge.regions.models import Level

SATISFIED_FROM = 4  # a rating of 4 or 5 counts as satisfied (满意)


@dataclass(frozen=True)
class Flow:
    """One flow. ``when``/``value`` read the timeline event (``CaseEvent``) as the recorder
    sees it; ``when_q``/``value_key``/``duration`` say the same over raw rows, for the
    independent recount (``recount.py``)."""

    name: str
    label: object
    actions: tuple[str, ...]
    when: Callable[[object], bool] | None = None  # on the event
    value: Callable[[object], int] | None = None  # 1 unless given
    when_q: Q | None = None  # the same condition as a Q over CaseEvent
    value_key: str | None = None  # a JSON key of the detail whose integer is the value
    # The value is the whole seconds the step this event ended had run (from the event that
    # started it): summed, it is the numerator of an average time (平均受理/处置时长).
    duration: bool = False


def _on_time(event) -> bool:
    return bool((event.detail or {}).get("on_time"))


def _rating(event) -> int:
    return int((event.detail or {}).get("rating") or 0)


def _late(event) -> bool:
    """The step this event ended used more than its time limit (ratio > 1, measured in working
    time of the official calendar, as ``cases.deadlines`` does)."""
    return event.step_elapsed_ratio is not None and event.step_elapsed_ratio > 1


LATE_Q = Q(step_elapsed_ratio__gt=1)
# A report thrown out before it was registered: not registered (不予立案), or voided or merged
# as a duplicate while still only reported. These are the invalid reports (无效上报).
_DROPPED_EARLY = ("void", "merge")


def _discarded(event) -> bool:
    return event.action == "reject" or event.from_state == State.REPORTED


def _withdrawn(event) -> bool:
    return event.from_state != State.REPORTED


FLOWS: tuple[Flow, ...] = (
    Flow("reported", _("reported (上报)"), ("report",)),
    Flow("registered", _("registered (立案)"), ("register",)),
    Flow("registered_late", _("registered late (超时立案)"), ("register",),
         when=_late, when_q=LATE_Q),
    Flow("register_seconds", _("seconds from report to registration"), ("register",),
         duration=True),
    Flow("rejected", _("not registered (不予立案)"), ("reject",)),
    Flow("discarded", _("invalid reports (无效上报)"), ("reject", *_DROPPED_EARLY),
         when=_discarded, when_q=Q(action="reject") | Q(from_state=State.REPORTED)),
    Flow("withdrawn", _("registered, then voided or merged (撤销)"), _DROPPED_EARLY,
         when=_withdrawn, when_q=~Q(from_state=State.REPORTED)),
    Flow("dispatched", _("dispatched (派遣)"), ("dispatch", "whistle")),
    Flow("returned", _("returned (回退)"), ("return",)),
    Flow("handled", _("handled (处置)"), ("handle", "self_handle")),
    Flow("handled_late", _("handled past the deadline (超期处置)"), ("handle",),
         when=_late, when_q=LATE_Q),
    Flow("handle_seconds", _("seconds of handling (处置用时)"), ("handle",), duration=True),
    Flow("self_handled", _("fixed on the spot (自处置)"), ("self_handle",)),
    Flow("reworked", _("sent back for rework (返工)"), ("rework",)),
    Flow("verified", _("passed verification (核查通过)"), ("verify",)),
    Flow("checked_late", _("verified past the deadline (超时核查)"), ("verify", "rework"),
         when=_late, when_q=LATE_Q),
    Flow("extended", _("extended (延期)"), ("approve_extension",)),
    Flow("suspended", _("suspended (缓办)"), ("approve_suspension",)),
    Flow("closed", _("closed (结案)"), ("verify", "confirm_closure")),
    Flow("closed_on_time", _("closed on time (按期结案)"), ("verify", "confirm_closure"),
         when=_on_time, when_q=Q(detail__on_time=True)),
    Flow("reopened", _("reopened after review (重新派遣)"), ("reopen",)),
    Flow("voided", _("voided (作废)"), ("void",)),
    Flow("merged", _("merged (合并)"), ("merge",)),
    Flow("escalated", _("went overdue (超期)"), ("escalate",)),
    Flow("rated", _("rated (评价)"), ("rate",)),
    Flow("rating_sum", _("sum of ratings"), ("rate",), value=_rating, value_key="rating"),
    Flow("satisfied", _("satisfied (满意)"), ("rate",),
         when=lambda e: _rating(e) >= SATISFIED_FROM,
         when_q=Q(detail__rating__gte=SATISFIED_FROM)),
)
FLOW_NAMES: tuple[str, ...] = tuple(f.name for f in FLOWS)
FLOWS_BY_ACTION: dict[str, tuple[Flow, ...]] = {}
for _flow in FLOWS:
    for _action in _flow.actions:
        FLOWS_BY_ACTION[_action] = (*FLOWS_BY_ACTION.get(_action, ()), _flow)
DURATION_FLOWS: tuple[Flow, ...] = tuple(f for f in FLOWS if f.duration)


def _step_starters() -> dict[str, tuple[str, ...]]:
    """The actions that start each deadline step: the transitions declaring it, and intake
    (a report starts registration; a fix on the spot starts verification)."""
    out: dict[str, tuple[str, ...]] = {str(Step.REGISTER): ("report",),
                                       str(Step.VERIFY): ("self_handle",)}
    for t in TRANSITIONS:
        if t.starts:
            out[str(t.starts)] = (*out.get(str(t.starts), ()), t.action)
    return out


# step -> the actions whose event starts it: the start of the step a duration flow measures.
STEP_STARTERS: dict[str, tuple[str, ...]] = _step_starters()

# Cases counted as standing stock: not finished (closed or ended for good).
STOCK_STATES: frozenset[str] = frozenset({*OPEN_STATES, State.SUSPENDED})

BREAKDOWN_LEVEL = Level.TOWNSHIP


class Dim:
    """The breakdowns: ``""`` is the node's total; the others are prefixed keys."""

    TOTAL = ""
    CATEGORY = "c"
    SOURCE = "s"
    DEPARTMENT = "d"

    BREAKDOWNS = (CATEGORY, SOURCE, DEPARTMENT)

    @staticmethod
    def key(kind: str, value: object) -> str:
        return "" if kind == Dim.TOTAL else f"{kind}:{value}"
