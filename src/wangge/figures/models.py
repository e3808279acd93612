"""Figures — 统计: tallies per node, kept current from a journal of changes.

``FigureDelta`` rows are written in the same transaction as the case change they describe
(one small insert), and folded into ``FlowTally`` and ``StockTally`` by a worker. Intake never
touches the shared tally rows, so a busy city does not queue on the city's row for today; a
read adds the few deltas not yet folded, so figures are current either way.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import models
from django.db.models import Q

from .measures import FLOW_NAMES


class Grain(models.TextChoices):
    DAY = "d", "day"
    MONTH = "m", "month"


def _month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_q(first: date, last: date) -> Q:
    """The ``FlowTally`` rows of a period (both days included): whole months inside it from
    month rows, the days at its edges from day rows — a year reads ~12 rows, not 365."""
    inner_first = first if first.day == 1 else _month_after(first)
    inner_end = _month_after(last) if _month_after(last) - timedelta(days=1) == last \
        else last.replace(day=1)  # the first day after the whole months
    if inner_first >= inner_end:  # no whole month inside: days only
        return Q(grain=Grain.DAY, day__gte=first, day__lte=last)
    q = Q(grain=Grain.MONTH, day__gte=inner_first, day__lt=inner_end)
    if first < inner_first:
        q |= Q(grain=Grain.DAY, day__gte=first, day__lt=inner_first)
    if inner_end <= last:
        q |= Q(grain=Grain.DAY, day__gte=inner_end, day__lte=last)
    return q


class FlowTally(models.Model):
    """Events per node, breakdown and local day or month — 流量. One column per declared flow.

    Each event is counted twice, in its day and in its month (``day`` is then the first of
    the month), so a year reads twelve month rows and a few days at the edges, not 365.
    """

    node = models.ForeignKey("regions.Region", on_delete=models.CASCADE, db_constraint=False,
                             related_name="+")
    dim = models.CharField(max_length=24, blank=True)  # "" total, "c:12", "s:patrol", "d:7"
    grain = models.CharField(max_length=1, choices=Grain.choices, default=Grain.DAY)
    day = models.DateField()
    reported = models.BigIntegerField(default=0)
    registered = models.BigIntegerField(default=0)
    registered_late = models.BigIntegerField(default=0)
    register_seconds = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    discarded = models.BigIntegerField(default=0)
    withdrawn = models.BigIntegerField(default=0)
    dispatched = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)
    handled = models.BigIntegerField(default=0)
    handled_late = models.BigIntegerField(default=0)
    handle_seconds = models.BigIntegerField(default=0)
    self_handled = models.BigIntegerField(default=0)
    reworked = models.BigIntegerField(default=0)
    verified = models.BigIntegerField(default=0)
    checked_late = models.BigIntegerField(default=0)
    extended = models.BigIntegerField(default=0)
    suspended = models.BigIntegerField(default=0)
    closed = models.BigIntegerField(default=0)
    closed_on_time = models.BigIntegerField(default=0)
    reopened = models.BigIntegerField(default=0)
    voided = models.BigIntegerField(default=0)
    merged = models.BigIntegerField(default=0)
    escalated = models.BigIntegerField(default=0)
    rated = models.BigIntegerField(default=0)
    rating_sum = models.BigIntegerField(default=0)
    satisfied = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "dim", "grain", "day"],
                                               name="flowtally_key")]

    MEASURES = FLOW_NAMES

    def __str__(self) -> str:
        return f"{self.node_id} {self.dim or 'total'} {self.grain} {self.day}"


class StockTally(models.Model):
    """Cases standing now per node, breakdown, state and overdue — 存量."""

    node = models.ForeignKey("regions.Region", on_delete=models.CASCADE, db_constraint=False,
                             related_name="+")
    dim = models.CharField(max_length=24, blank=True)
    state = models.CharField(max_length=14)
    overdue = models.BooleanField(default=False)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "dim", "state", "overdue"],
                                               name="stocktally_key")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.dim or 'total'} {self.state} {self.count}"


class FigureDelta(models.Model):
    """One change not yet folded into the tallies: a flow (``flow`` names it) or a stock move
    (``flow`` empty; ``state``/``overdue`` say which pile, ``amount`` ±1)."""

    region_id = models.IntegerField()  # the case's node (usually a grid)
    region_path = models.CharField(max_length=400)
    category_id = models.IntegerField()  # the top-level category
    source = models.CharField(max_length=10)
    department_id = models.IntegerField(null=True)
    day = models.DateField()
    flow = models.CharField(max_length=20, blank=True)
    state = models.CharField(max_length=14, blank=True)
    overdue = models.BooleanField(default=False)
    amount = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.region_path} {self.flow or self.state} {self.amount:+d}"
