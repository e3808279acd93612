"""Step deadlines and traffic lights — 处置时限与红黄绿灯.

A step's limit comes from ``DeadlineRule`` in working hours of the official calendar
(``wangge.workcalendar``): the rule for the case's own category wins, then its parent's
(大类), then the default rule (category empty), each for the case's urgency. No rule means
the step has no deadline.

The light compares working time used with the limit: green below 80 %, yellow from 80 % up
to the due instant, red once the due instant has passed. A step that ended on a Saturday for
a Friday 17:30 deadline used exactly 100 % of working time, but the case page and the queue
must still show it late, so "red" is decided on the clock, not on the ratio alone.
"""

from __future__ import annotations

import datetime as dt

from wangge.core import clock
from wangge.core.memo import Snapshot
from wangge.workcalendar.services import (
    add_working_hours,
    working_day_hours,
    working_hours_between,
)

from .models import Case, Category, DeadlineRule
from .workflow import OPEN_STATES

GREEN, YELLOW, RED = "green", "yellow", "red"
YELLOW_FROM = 0.8  # share of the limit used from which the light turns yellow


def rule_for(case: Case, step: str) -> DeadlineRule | None:
    """The most specific rule for ``case``'s category and urgency at ``step``, or None."""
    rules, parents = _rules.get()
    own = case.category_id
    for category_id in (own, parents.get(own), None):  # own, its class (大类), the default
        rule = rules.get((category_id, case.urgency, step))
        if rule is not None:
            return rule
    return None


def _load_rules():
    rules = {(r.category_id, r.urgency, r.step): r for r in DeadlineRule.objects.all()}
    parents = dict(Category.objects.filter(parent__isnull=False).values_list("id", "parent_id"))
    return rules, parents


_rules = Snapshot(_load_rules).clear_on(DeadlineRule, Category)


def limit_hours(case: Case, step: str) -> float | None:
    """The working hours ``case`` is given for ``step`` (None: no deadline)."""
    rule = rule_for(case, step)
    return float(rule.working_hours) if rule is not None else None


def deadline_for(case: Case, step: str, start: dt.datetime | None = None) -> dt.datetime | None:
    """When ``step`` is due if it starts at ``start`` (default: now); None without a rule."""
    hours = limit_hours(case, step)
    if hours is None:
        return None
    return add_working_hours(start or clock.now(), hours)


def elapsed_ratio(start: dt.datetime, due: dt.datetime, at: dt.datetime) -> float:
    """Working time used by ``at`` as a share of the working time from ``start`` to ``due``.

    1.0 means exactly on the limit. A zero-hour limit (due at start) is measured against
    one working day past due, so the figure stays finite for the timeline and the API.
    """
    limit = working_hours_between(start, due)
    if limit > 0:
        return working_hours_between(start, at) / limit
    if at <= due:
        return 1.0
    return 1.0 + working_hours_between(due, at) / working_day_hours()


def light_for(start: dt.datetime | None, due: dt.datetime | None,
              at: dt.datetime) -> str | None:
    """The light of a deadline running from ``start`` to ``due``, looked at ``at``."""
    if start is None or due is None:
        return None
    if at > due:
        return RED
    return YELLOW if elapsed_ratio(start, due, at) >= YELLOW_FROM else GREEN


def traffic_light(case: Case, now: dt.datetime | None = None) -> str | None:
    """green / yellow / red for the case's running step, None if no deadline is running.

    Cases that are closed, suspended (挂账, the clock is stopped), voided or merged have no
    light.
    """
    if case.state not in OPEN_STATES or not case.step:
        return None
    return light_for(case.step_started_at, case.due_at, now or clock.now())
