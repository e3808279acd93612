""""Everything under node X" must be one indexed prefix query on both databases."""

from __future__ import annotations

import pytest
from django.db import connection

from wangge.accounts.scope import visible_to
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q

pytestmark = pytest.mark.django_db


def _plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Tiny test tables are cheaper to scan; forbid that to see whether the index serves.
            cur.execute("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
        cur.execute(f"{explain} {sql}", params)
        return "\n".join(" ".join(str(c) for c in row) for row in cur.fetchall())


def test_subtree_query_returns_exactly_the_descendants(tree):
    street = tree["370102001"]
    codes = set(Region.objects.filter(subtree_q(street.path)).values_list("code", flat=True))
    assert codes == {"370102001", "370102001001", "370102001002", "370102001001001",
                     "370102001001002", "370102001002001", "370102001002002"}
    # A sibling whose code merely starts with the same digits is not inside.
    assert "370102002" not in codes


def test_subtree_query_uses_the_path_index(tree, community_staff):
    plan = _plan(visible_to(Region, community_staff).only("code"))
    if connection.vendor == "sqlite":
        assert "USING INDEX" in plan and "path" in plan, plan
    else:
        assert "Index" in plan and "path" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_path_must_end_with_separator():
    with pytest.raises(ValueError, match="ends with"):
        subtree_q("37.3701")
