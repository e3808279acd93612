"""What the figures count, declared once — 统计口径.

A *flow* counts timeline events in a period (reported, closed …): each is named by the case
actions that move it, optionally with a condition on the event's detail, and optionally a value
other than 1 (the rating, for the rating sum). A *stock* counts cases as they stand now, by
state and whether they are past their deadline (open, by stage, overdue).

Every figure is kept for every node from the grid up; broken down by category, source and
department from ``BREAKDOWN_LEVEL`` up (a street sees its categories at once; below it a
community reads its own handful of cases directly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from wangge.cases.workflow import OPEN_STATES, State
from wangge.regions.models import Level

SATISFIED_FROM = 4  # a rating of 4 or 5 counts as satisfied (满意)


@dataclass(frozen=True)
class Flow:
    name: str
    label: object
    actions: tuple[str, ...]
    when: Callable[[dict], bool] | None = None  # on the event's detail
    value: Callable[[dict], int] | None = None  # 1 unless given
    # The same condition and value as SQL over CaseEvent, for the recount from raw rows:
    # a Q on the event (``detail__…``) and a JSON key whose integer is the value.
    when_q: dict | None = None
    value_key: str | None = None


def _on_time(detail: dict) -> bool:
    return bool(detail.get("on_time"))


def _rating(detail: dict) -> int:
    return int(detail.get("rating") or 0)


FLOWS: tuple[Flow, ...] = (
    Flow("reported", _("reported (上报)"), ("report",)),
    Flow("registered", _("registered (立案)"), ("register",)),
    Flow("rejected", _("not registered (不予立案)"), ("reject",)),
    Flow("dispatched", _("dispatched (派遣)"), ("dispatch", "whistle")),
    Flow("returned", _("returned (回退)"), ("return",)),
    Flow("handled", _("handled (处置)"), ("handle", "self_handle")),
    Flow("self_handled", _("fixed on the spot (自处置)"), ("self_handle",)),
    Flow("reworked", _("sent back for rework (返工)"), ("rework",)),
    Flow("extended", _("extended (延期)"), ("approve_extension",)),
    Flow("suspended", _("suspended (缓办)"), ("approve_suspension",)),
    Flow("closed", _("closed (结案)"), ("verify", "confirm_closure")),
    Flow("closed_on_time", _("closed on time (按期结案)"), ("verify", "confirm_closure"),
         when=_on_time, when_q={"detail__on_time": True}),
    Flow("voided", _("voided (作废)"), ("void",)),
    Flow("merged", _("merged (合并)"), ("merge",)),
    Flow("escalated", _("went overdue (超期)"), ("escalate",)),
    Flow("rated", _("rated (评价)"), ("rate",)),
    Flow("rating_sum", _("sum of ratings"), ("rate",), value=_rating, value_key="rating"),
    Flow("satisfied", _("satisfied (满意)"), ("rate",),
         when=lambda d: _rating(d) >= SATISFIED_FROM,
         when_q={"detail__rating__gte": SATISFIED_FROM}),
)
FLOW_NAMES: tuple[str, ...] = tuple(f.name for f in FLOWS)
FLOWS_BY_ACTION: dict[str, tuple[Flow, ...]] = {}
for _flow in FLOWS:
    for _action in _flow.actions:
        FLOWS_BY_ACTION[_action] = (*FLOWS_BY_ACTION.get(_action, ()), _flow)

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
