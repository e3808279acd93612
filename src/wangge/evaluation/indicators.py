"""The evaluation indicators — 综合评价指标, declared once as data with their formulas.

Every indicator is ``scale × numerator / denominator`` over *named counts*: the flows the
figures keep (``wangge.figures.measures.FLOWS``, events in the period) and the few derived
counts below, each a sum or difference of flows written as a formula string. A count
indicator has no denominator; an average divides a summed duration by a count. One evaluator
(``evaluate``) turns counts into values for every indicator; nothing is written per indicator.

All counts are *flows of the period*: a case reported last month and registered this month
counts as registered this month. A rate can therefore pass 100 % when work from before the
period is finished in it; the index clips every normalised score to 0-100.

Normalisation to a 0-100 score (for the governance index) is declared per indicator too —
see ``NORMALISERS`` for the kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from wangge.figures.measures import FLOW_NAMES


class Unit:
    """What a unit of evaluation is: region nodes, departments or grid workers."""

    STREET = "street"  # 街道/乡镇
    COMMUNITY = "community"  # 社区/村
    DEPARTMENT = "department"  # 职能部门
    GRID_WORKER = "grid_worker"  # 网格员

    ALL = (STREET, COMMUNITY, DEPARTMENT, GRID_WORKER)
    REGIONS = frozenset({STREET, COMMUNITY})


REGION = Unit.REGIONS
REGION_DEPT = Unit.REGIONS | {Unit.DEPARTMENT}

# Counts derived from the flows, by name: "应立案数", "应处置数", "应结案数" and the on-time
# counts. Each is a formula over flows (or derived counts listed before it).
DERIVED: dict[str, str] = {
    # 有效上报数: reports not thrown out (not registered, or voided/merged while only reported).
    "valid_reports": "reported - discarded",
    # 应立案数: valid reports that need registering (a fix on the spot skips registration).
    "to_register": "reported - discarded - self_handled",
    "registered_on_time": "registered - registered_late",
    # 应处置数: each dispatch that stood (not returned) and each rework asks for one handling.
    "to_handle": "dispatched - returned + reworked",
    "handled_by_department": "handled - self_handled",
    "handled_on_time": "handled - self_handled - handled_late",
    # 应结案数: what the period put on the books to be closed — registered, fixed on the
    # spot (straight to verification) and reopened after a low rating — less what was
    # registered and then voided or merged (no longer due).
    "due_for_closure": "registered + self_handled + reopened - withdrawn",
    # 按期结案率's denominator: 应结案数 − 缓办数 (a suspension approved stops the clock).
    "due_for_closure_less_suspended": "registered + self_handled + reopened - withdrawn - "
                                      "suspended",
    "checks": "verified + reworked",  # 核查数: verifications, passed or sent back
    "checks_on_time": "verified + reworked - checked_late",
}

# Counts from grid work (``gridwork.staffing.results``), kept for grid workers only: results
# of the work, never how many records, photos or forms it produced.
GRIDWORK_COUNTS: dict[str, object] = {
    "targets_due": _("task targets due in the period (hers, or unassigned in her grid)"),
    "targets_on_time": _("of them, done or reported impossible by the due day"),
    "care_persons": _("key-care persons with a visit interval in her grid"),
    "visits_overdue": _("of them, past their visit interval at the end of the period"),
}
COUNT_NAMES: frozenset[str] = frozenset(FLOW_NAMES) | frozenset(GRIDWORK_COUNTS)

# What a grid worker's indicators may be built on — 成效口径: problems found, fixed, solved,
# checked on time, rated; work settled on time; people not left unvisited. Nothing that only
# counts paperwork (photos, records, forms filled) belongs here; a test holds every grid-worker
# indicator to this list.
RESULT_COUNTS: frozenset[str] = frozenset({
    "reported", "discarded", "self_handled", "closed", "rated", "satisfied", "rating_sum",
    "verified", "reworked", "checked_late", *GRIDWORK_COUNTS})

_TERM = re.compile(r"\s*([+-])?\s*([a-z_]+)\s*")


def parse(formula: str) -> tuple[tuple[int, str], ...]:
    """``"a - b + c"`` → ((1, "a"), (-1, "b"), (1, "c")); names must be known counts."""
    terms, pos = [], 0
    while pos < len(formula):
        m = _TERM.match(formula, pos)
        if m is None or (terms and m.group(1) is None):
            raise ValueError(f"bad formula {formula!r} at {pos}")
        sign, name = m.groups()
        if name not in COUNT_NAMES and name not in DERIVED:
            raise ValueError(f"{formula!r}: {name!r} is neither a flow nor a derived count")
        terms.append((-1 if sign == "-" else 1, name))
        pos = m.end()
    if not terms:
        raise ValueError("empty formula")
    return tuple(terms)


def count(formula: str, counts: Mapping[str, int]) -> int:
    """The value of a formula over the flows in ``counts`` (derived counts expanded)."""
    total = 0
    for sign, name in parse(formula):
        total += sign * (count(DERIVED[name], counts) if name in DERIVED
                         else int(counts.get(name, 0) or 0))
    return total


class Direction:
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better


@dataclass(frozen=True)
class Norm:
    """How a value becomes a 0-100 score: ``kind`` names one of ``NORMALISERS``."""

    kind: str
    good: float | None = None  # band: the value scoring 100
    bad: float | None = None  # band: the value scoring 0
    base: str | None = None  # per: the count the value is a share of


@dataclass(frozen=True)
class Indicator:
    code: str
    zh: str
    en: object
    numerator: str
    denominator: str | None  # None: a plain count
    unit: str  # "%", "count" or "hours"
    direction: str
    definition: object
    norm: Norm
    units: frozenset[str] = field(default=REGION)
    scale: float = 1.0  # seconds → hours: 1/3600

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


HOUR = 1 / 3600
RATIO = Norm("ratio")


INDICATORS: tuple[Indicator, ...] = (
    Indicator("registration_rate", "立案率", _("registration rate"), "registered", "to_register",
              "%", Direction.HIGHER,
              _("Registered (立案) ÷ reports to register (应立案数 = reports − invalid reports − "
                "fixed on the spot)."), RATIO),
    Indicator("registration_on_time_rate", "按时立案率", _("registered on time"),
              "registered_on_time", "registered", "%", Direction.HIGHER,
              _("Registrations within the registration time limit ÷ registrations."), RATIO),
    Indicator("dispatch_accuracy", "派遣准确率", _("dispatch accuracy"),
              "dispatched - returned", "dispatched", "%", Direction.HIGHER,
              _("1 − returned as mis-dispatched (回退) ÷ dispatched (派遣, whistles included)."),
              RATIO, REGION_DEPT),
    Indicator("handling_rate", "处置率", _("handling rate"), "handled_by_department", "to_handle",
              "%", Direction.HIGHER,
              _("Handlings reported by departments ÷ handlings due (应处置数 = dispatched − "
                "returned + sent back for rework)."), RATIO, REGION_DEPT),
    Indicator("handling_on_time_rate", "按期处置率", _("handled on time"), "handled_on_time",
              "to_handle", "%", Direction.HIGHER,
              _("Handlings reported within the handling time limit (extensions included) ÷ "
                "handlings due."), RATIO, REGION_DEPT),
    Indicator("late_handlings", "超期处置", _("handled past the deadline"), "handled_late", None,
              "count", Direction.LOWER,
              _("Handlings reported after the handling time limit. Scored as the share of "
                "handlings that were late."), Norm("per", base="handled_by_department"),
              REGION_DEPT),
    Indicator("rework_rate", "返工率", _("rework rate"), "reworked", "handled", "%",
              Direction.LOWER,
              _("Sent back for rework at verification (返工) ÷ handlings (on the spot "
                "included)."), RATIO, REGION_DEPT),
    Indicator("extension_rate", "延期率", _("extension rate"), "extended", "to_handle", "%",
              Direction.LOWER, _("Extensions approved (延期) ÷ handlings due."), RATIO,
              REGION_DEPT),
    Indicator("closure_rate", "结案率", _("closure rate"), "closed", "due_for_closure", "%",
              Direction.HIGHER,
              _("Closed (结案) ÷ due for closure (应结案数 = registered + fixed on the spot + "
                "reopened after review − registered then voided or merged)."), RATIO),
    Indicator("closure_on_time_rate", "按期结案率", _("closed on time"), "closed_on_time",
              "due_for_closure_less_suspended", "%", Direction.HIGHER,
              _("Closed with no step past its time limit (按期结案数) ÷ (due for closure − "
                "suspended, 缓办)."), RATIO),
    Indicator("verification_pass_rate", "核查通过率", _("verification pass rate"), "verified",
              "checks", "%", Direction.HIGHER,
              _("Verifications passed ÷ (passed + sent back for rework)."), RATIO, REGION_DEPT),
    Indicator("verification_on_time_rate", "核查及时率", _("verified on time"),
              "checks_on_time", "checks", "%", Direction.HIGHER,
              _("Verifications (passed or sent back) within the verification time limit ÷ "
                "verifications."), RATIO, REGION | {Unit.GRID_WORKER}),
    Indicator("valid_report_rate", "有效上报率", _("valid reports"), "valid_reports",
              "reported", "%", Direction.HIGHER,
              _("Reports not thrown out (not registered, or voided or merged as a duplicate "
                "before registration) ÷ reports."), RATIO, REGION | {Unit.GRID_WORKER}),
    Indicator("avg_registration_hours", "平均受理时长", _("average time to register"),
              "register_seconds", "registered", "hours", Direction.LOWER,
              _("Clock hours from the report to its registration, averaged over "
                "registrations."), Norm("band", good=2, bad=48), scale=HOUR),
    Indicator("avg_handling_hours", "平均处置时长", _("average handling time"), "handle_seconds",
              "handled_by_department", "hours", Direction.LOWER,
              _("Clock hours from the start of handling (签收, or 返工/恢复) to the handling "
                "report, averaged over handlings by departments."),
              Norm("band", good=8, bad=240), REGION_DEPT, scale=HOUR),
    Indicator("satisfaction_rate", "群众满意率", _("resident satisfaction"), "satisfied", "rated",
              "%", Direction.HIGHER,
              _("Ratings of 4 or 5 stars ÷ ratings (for a grid worker: of the cases she "
                "found)."), RATIO, frozenset(Unit.ALL)),
    Indicator("problems_found", "发现问题数", _("problems found"), "reported", None, "count",
              Direction.HIGHER,
              _("Cases the grid worker reported. Scored against the best grid worker "
                "compared."), Norm("best"), frozenset({Unit.GRID_WORKER})),
    Indicator("fixed_on_spot", "自处置数", _("fixed on the spot"), "self_handled", None, "count",
              Direction.HIGHER,
              _("Cases the grid worker fixed on the spot (自处置). Scored against the best grid "
                "worker compared."), Norm("best"), frozenset({Unit.GRID_WORKER})),
    Indicator("problems_solved", "问题解决数", _("problems solved"), "closed", None, "count",
              Direction.HIGHER,
              _("Cases the grid worker found that were closed (结案) in the period. Scored "
                "against the best grid worker compared."), Norm("best"),
              frozenset({Unit.GRID_WORKER})),
    Indicator("targets_on_time_rate", "任务按期完成率", _("task targets on time"),
              "targets_on_time", "targets_due", "%", Direction.HIGHER,
              _("Task targets due in the period (hers, or unassigned in her grid) done or "
                "reported impossible with a reason by the due day ÷ targets due."), RATIO,
              frozenset({Unit.GRID_WORKER})),
    Indicator("overdue_visits", "逾期未走访", _("key-care persons overdue for a visit"),
              "visits_overdue", None, "count", Direction.LOWER,
              _("Key-care persons in her grid past their visit interval at the end of the "
                "period. Scored as the share of key-care persons visited in time."),
              Norm("per", base="care_persons"), frozenset({Unit.GRID_WORKER})),
)
BY_CODE: dict[str, Indicator] = {i.code: i for i in INDICATORS}


@dataclass(frozen=True)
class Value:
    """One indicator's value for one unit: ``value`` None when the denominator is empty."""

    indicator: Indicator
    numerator: int
    denominator: int | None
    value: float | None


def evaluate(indicator: Indicator, counts: Mapping[str, int]) -> Value:
    """scale × numerator ÷ denominator; no denominator (≤ 0) → no value."""
    num = count(indicator.numerator, counts)
    if indicator.denominator is None:
        return Value(indicator, num, None, num * indicator.scale)
    den = count(indicator.denominator, counts)
    return Value(indicator, num, den, num / den * indicator.scale if den > 0 else None)


def evaluate_all(counts: Mapping[str, int], unit: str) -> dict[str, Value]:
    return {i.code: evaluate(i, counts) for i in INDICATORS if unit in i.units}


# -- normalisation to 0-100 ---------------------------------------------------------------

def _clip(x: float) -> float:
    return max(0.0, min(100.0, x))


def _ratio(v: Value, peers: list[Value], counts: Mapping[str, int]) -> float:
    """A share as-is ×100 (higher better) or inverted, 100 × (1 − share) (lower better)."""
    share = v.value if v.indicator.direction == Direction.HIGHER else 1 - v.value
    return _clip(100 * share)


def _band(v: Value, peers: list[Value], counts: Mapping[str, int]) -> float:
    """Linear between the value scoring 100 (``good``) and the one scoring 0 (``bad``):
    absolute, so a unit's score does not move because its peers did."""
    n = v.indicator.norm
    return _clip(100 * (n.bad - v.value) / (n.bad - n.good))


def _per(v: Value, peers: list[Value], counts: Mapping[str, int]) -> float | None:
    """A count where fewer is better, as 100 × (1 − count ÷ ``base``): late handlings per
    handling, so a large street is not punished for being large."""
    base = count(v.indicator.norm.base, counts)
    return _clip(100 * (1 - v.value / base)) if base > 0 else None


def _best(v: Value, peers: list[Value], counts: Mapping[str, int]) -> float:
    """A count where more is better, as a share of the best unit compared (it scores 100)."""
    top = max((p.value for p in peers if p.value is not None), default=0)
    return _clip(100 * v.value / top) if top > 0 else 0.0


NORMALISERS: dict[str, Callable[[Value, list[Value], Mapping[str, int]], float | None]] = {
    "ratio": _ratio, "band": _band, "per": _per, "best": _best}


def score(v: Value, peers: list[Value], counts: Mapping[str, int]) -> float | None:
    """The 0-100 score of ``v`` (a unit with ``counts``) among ``peers``, the same indicator
    for every unit compared. No value → no score (the index leaves it out)."""
    if v.value is None:
        return None
    return NORMALISERS[v.indicator.norm.kind](v, peers, counts)
