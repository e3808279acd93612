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
from .models import FigureDelta, FlowTally, StockTally


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


def aggregate(deltas: Iterable, ancestors: Ancestors | None = None
              ) -> tuple[dict, dict]:
    """Sum deltas into {(node, dim, day): {flow: n}} and {(node, dim, state, overdue): n}."""
    ancestors = ancestors or Ancestors()
    flows: dict = defaultdict(lambda: defaultdict(int))
    stock: dict = defaultdict(int)
    for d in deltas:
        keys = keys_for(ancestors.of(d.region_path), d.category_id, d.source, d.department_id)
        if d.flow:
            for node, dim in keys:
                flows[(node, dim, d.day)][d.flow] += d.amount
        else:
            for node, dim in keys:
                stock[(node, dim, d.state, d.overdue)] += d.amount
    return flows, stock


def _upsert_flows(flows: dict) -> None:
    if not flows:
        return
    table = FlowTally._meta.db_table
    columns = ", ".join(FLOW_NAMES)
    marks = ", ".join(["%s"] * (3 + len(FLOW_NAMES)))
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in FLOW_NAMES)
    # Table and column names come from the model; every value is a bound parameter.
    sql = (f"INSERT INTO {table} (node_id, dim, day, {columns}) VALUES ({marks}) "  # noqa: S608
           f"ON CONFLICT (node_id, dim, day) DO UPDATE SET {updates}")
    # In key order, so two folders touching the same rows lock them in the same order.
    rows = [(node, dim, day, *(counts.get(m, 0) for m in FLOW_NAMES))
            for (node, dim, day), counts in sorted(flows.items())]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _upsert_stock(stock: dict) -> None:
    rows = [(node, dim, state, overdue, n)
            for (node, dim, state, overdue), n in sorted(stock.items()) if n]
    if not rows:
        return
    table = StockTally._meta.db_table
    sql = (f"INSERT INTO {table} (node_id, dim, state, overdue, count) "  # noqa: S608
           f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (node_id, dim, state, overdue) "
           f"DO UPDATE SET count = {table}.count + excluded.count")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
