"""Tree queries in one place: the subtree prefix query and the revision counter."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now


def subtree_q(path: str, field: str = "path") -> Q:
    """Q for every row whose ``field`` lies in the subtree whose path is ``path``.

    PostgreSQL serves ``LIKE 'p%'`` from the ``varchar_pattern_ops`` index Django creates for
    indexed text columns. SQLite's LIKE is case-insensitive, so it can't use a plain index;
    there the same set is a half-open range on the binary collation: paths end with ".", and
    "/" is the character after ".", so ``[p, p[:-1] + "/")`` holds exactly the descendants.
    """
    if not path.endswith("."):
        raise ValueError(f"a tree path ends with '.': {path!r}")
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": path, f"{field}__lt": path[:-1] + "/"})
    return Q(**{f"{field}__startswith": path})


def bump_geometry_revision() -> None:
    """Record that boundaries changed; locate indexes compare this number."""
    from .models import TreeRevision

    updated = TreeRevision.objects.filter(pk=1).update(
        geometry_revision=F("geometry_revision") + 1, changed_at=Now()
    )
    if not updated:
        TreeRevision.objects.get_or_create(pk=1, defaults={"geometry_revision": 1})
    # This process sees its own change at once (other processes within a second).
    from .locate import recheck_revision

    recheck_revision()
    transaction.on_commit(recheck_revision)


def geometry_revision() -> int:
    from .models import TreeRevision

    row = TreeRevision.objects.filter(pk=1).values_list("geometry_revision", flat=True).first()
    return row or 0
