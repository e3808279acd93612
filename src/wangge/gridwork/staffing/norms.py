"""The staffing model — 网格员配置标准, declared once as data.

Everything the workload and staffing pages compute comes from the tables below; changing a
norm is a one-line edit here, never a code change.

* ``MINUTES`` — declared minutes per unit of recorded work (工作量折算): what one case found,
  one verification, one task target, one visit costs a grid worker on average, walking
  included. Patrol time is counted as logged (its hours, as is).
* ``HOURS_PER_MONTH`` — the field hours one full-time grid worker has in a month for the work
  counted here: 21.75 working days × 8 h = 174 h, less meetings, training and reporting
  outside the platform (about a third).
* ``NORMS`` — households one grid worker can serve, per grid kind (``regions.GridType``):
  城市社区 300–500 户/网格员 for residential grids; commercial grids (商务楼宇) carry fewer
  households but firms; rural villages are spread out (200–300 户); dedicated grids (专属网格:
  a school, a hospital, a park) are staffed by workload alone.
* ``THRESHOLDS`` — a grid's load ratio (needed ÷ actual workers) above ``overloaded`` marks
  it overloaded (a split is proposed), below ``light`` marks it light (a merge with a touching
  light grid is proposed).

Needed workers of a grid or community = max(households ÷ norm, workload hours ÷ capacity),
with capacity = ``HOURS_PER_MONTH`` scaled to the period's length; rounded up for a community.
"""

from __future__ import annotations

from dataclasses import dataclass

# Minutes per unit of work. Keys are the workload columns of ``service.WorkRow``.
MINUTES: dict[str, float] = {
    "cases_found": 20,  # 发现上报: spot, photograph, locate, report
    "fixed_on_spot": 30,  # 自处置: fix it there and then
    "verifications": 20,  # 核查: go back and check a department's fix
    "targets_done": 15,  # 任务对象完成: one household / building / place of a task
    "targets_unable": 10,  # 无法完成: went, nobody home / refused — time spent all the same
    "visits": 30,  # 走访: a key-care person, a not-at-home attempt included
}
PATROL_MINUTES_PER_HOUR = 60  # patrol time is counted as logged

HOURS_PER_MONTH = 120.0
MONTH_DAYS = 30.0  # a period of n days has capacity HOURS_PER_MONTH × n / MONTH_DAYS


@dataclass(frozen=True)
class Norm:
    """Households per grid worker for one grid kind: ``households`` is the planning figure
    (needed = households ÷ it), ``low``–``high`` the range policy documents allow."""

    households: int | None
    low: int | None
    high: int | None
    zh: str


NORMS: dict[str, Norm] = {
    "residential": Norm(400, 300, 500, "城市社区住宅网格 300–500 户/网格员"),
    "commercial": Norm(300, 200, 400, "商务楼宇网格 按入驻企业与住户 200–400 户/网格员"),
    "rural": Norm(250, 200, 300, "农村网格 200–300 户/网格员"),
    "dedicated": Norm(None, None, None, "专属网格 按工作量配置"),
}
DEFAULT_KIND = "residential"  # a grid without a declared kind is planned as residential

THRESHOLDS: dict[str, float] = {
    "overloaded": 1.2,  # 超负荷: needs 20 % more than it has
    "light": 0.5,  # 负荷偏轻: half of its workers' capacity unused
}


def norm_for(kind: str | None) -> Norm:
    return NORMS.get(kind or DEFAULT_KIND, NORMS[DEFAULT_KIND])


def capacity_hours(days: int) -> float:
    """One worker's field hours in a period of ``days`` days."""
    return HOURS_PER_MONTH * days / MONTH_DAYS


def work_hours(counts: dict[str, float], patrol_hours: float) -> float:
    """Declared hours of the recorded work plus the patrol hours."""
    minutes = sum(MINUTES[k] * counts.get(k, 0) for k in MINUTES)
    return minutes / 60 + patrol_hours * PATROL_MINUTES_PER_HOUR / 60


def needed(households: int, hours: float, days: int, kind: str | None) -> float:
    """Workers needed (not rounded): the larger of the households rule and the workload."""
    norm = norm_for(kind)
    by_households = households / norm.households if norm.households else 0.0
    return max(by_households, hours / capacity_hours(days))


def load_status(ratio: float | None) -> str:
    """"overloaded", "light", "ok", or "no_worker" (ratio None: work but nobody to do it)."""
    if ratio is None:
        return "no_worker"
    if ratio > THRESHOLDS["overloaded"]:
        return "overloaded"
    if ratio < THRESHOLDS["light"]:
        return "light"
    return "ok"
