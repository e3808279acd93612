"""Fold the journal into the tallies — 汇总: every delta, for its node and each node above it,
in the total and (from ``BREAKDOWN_LEVEL`` up) in its category, source and department.

Two folders may run at once and no delta is counted twice: on PostgreSQL a folder takes its
batch with ``FOR UPDATE SKIP LOCKED`` and deletes it in the transaction that adds it to the
tallies; on SQLite the write transaction (BEGIN IMMEDIATE) admits one folder at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction

from wangge.regions.models import Region

from .measures import BREAKDOWN_LEVEL, FLOW_NAMES, Dim
from .models import FigureDelta, FlowTally, Grain, StockTally


class Ancestors:
    """Node ids and levels above (and including) a node, from its materialised path."""

    def __init__(self) -> None:
        self._by_code: dict[str, tuple[int, int]] = {}

    def of(self, path: str) -> list[tuple[int, int]]:
        codes = [c for c in path.split(".") if c]
        missing = [c for c in codes if c not in self._by_code]
        if missing:
            for pk, code, level in Region.objects.filter(code__in=missing).values_list(
                    "id", "code", "level"):
                self._by_code[code] = (pk, level)
        return [self._by_code[c] for c in codes if c in self._by_code]


def keys_for(ancestors: list[tuple[int, int]], category_id: int, source: str,
             department_id: int | None) -> list[tuple[int, str]]:
    """(node, dim) pairs one delta adds to."""
    dims = [Dim.key(Dim.CATEGORY, category_id), Dim.key(Dim.SOURCE, source)]
    if department_id is not None:
        dims.append(Dim.key(Dim.DEPARTMENT, department_id))
    out = []
    for node, level in ancestors:
        out.append((node, Dim.TOTAL))
        if level <= BREAKDOWN_LEVEL:
            out += [(node, d) for d in dims]
    return out


def grains(day) -> tuple[tuple[str, object], ...]:
    """The tally rows one day's event adds to: its day and its month."""
    return ((Grain.DAY, day), (Grain.MONTH, day.replace(day=1)))


def aggregate(deltas: Iterable, ancestors: Ancestors | None = None
              ) -> tuple[dict, dict]:
    """Sum deltas into {(node, dim, grain, day): {flow: n}} and
    {(node, dim, state, overdue): n}."""
    ancestors = ancestors or Ancestors()
    flows: dict = defaultdict(lambda: defaultdict(int))
    stock: dict = defaultdict(int)
    for d in deltas:
        keys = keys_for(ancestors.of(d.region_path), d.category_id, d.source, d.department_id)
        if d.flow:
            for grain, day in grains(d.day):
                for node, dim in keys:
                    flows[(node, dim, grain, day)][d.flow] += d.amount
        else:
            for node, dim in keys:
                stock[(node, dim, d.state, d.overdue)] += d.amount
    return flows, stock


UPSERT_ROWS = 500  # rows per INSERT … ON CONFLICT statement


def _upsert(table: str, columns: list[str], key: list[str], add: list[str],
            rows: list[tuple]) -> None:
    """Add ``rows`` into ``table``: insert new keys, add to the ``add`` columns of old ones.

    Many rows per statement (one round trip and one plan per 500 rows), in key order so that
    two folders touching the same rows lock them in the same order and never deadlock.
    """
    rows.sort(key=lambda r: r[:len(key)])
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_ROWS):
            part = rows[start:start + UPSERT_ROWS]
            # Table and column names come from the model; every value is a bound parameter.
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
                f"{', '.join([one] * len(part))} ON CONFLICT ({', '.join(key)}) "
                f"DO UPDATE SET {updates}", [v for row in part for v in row])


def _upsert_flows(flows: dict) -> None:
    rows = [(node, dim, grain, day, *(counts.get(m, 0) for m in FLOW_NAMES))
            for (node, dim, grain, day), counts in flows.items()]
    if rows:
        _upsert(FlowTally._meta.db_table, ["node_id", "dim", "grain", "day", *FLOW_NAMES],
                ["node_id", "dim", "grain", "day"], list(FLOW_NAMES), rows)


def _upsert_stock(stock: dict) -> None:
    rows = [(node, dim, state, overdue, n)
            for (node, dim, state, overdue), n in stock.items() if n]
    if rows:
        _upsert(StockTally._meta.db_table, ["node_id", "dim", "state", "overdue", "count"],
                ["node_id", "dim", "state", "overdue"], ["count"], rows)


def fold_batch(limit: int = 5000) -> int:
    """Fold up to ``limit`` deltas, oldest first; return how many."""
    with transaction.atomic():
        qs = FigureDelta.objects.order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        deltas = list(qs[:limit])
        if not deltas:
            return 0
        flows, stock = aggregate(deltas)
        _upsert_flows(flows)
        _upsert_stock(stock)
        FigureDelta.objects.filter(pk__in=[d.pk for d in deltas]).delete()
    return len(deltas)


def fold_all(limit: int = 5000) -> int:
    """Fold until the journal is empty (what has been committed so far)."""
    total = 0
    while True:
        n = fold_batch(limit)
        total += n
        if n < limit:
            return total
