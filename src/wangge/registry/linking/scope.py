"""Which linkage work a data steward sees — 融合数据权限: one place for the rule.

Linkage is about pairs of source rows and the persons they make up, and the rows come from
several departments. A steward (``registry.link``) works on a pair or a person when

- at least one of its rows belongs to a dataset of **his own department** (he answers for
  that data), and
- **all** its rows lie within **his subtree** (``region_path``): he never moves rows of an
  area he does not serve.

He then sees the other department's rows of that pair or person too — masked, because he
has to judge whether they describe the same person — but never their clear values. Rows
without a grid lie in nobody's subtree (a district-wide account included) and so are out of
every steward's reach until an import places them.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from wangge.accounts.permissions import require_permission
from wangge.regions.tree import subtree_q

from ..models import LinkDecision, Person, PersonStatus, ReviewItem, SourceRecord

PERMISSION = "registry.link"


def can_link(user, token=None) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may do linkage work (stewards)."""
    require_permission(user, PERMISSION, token)


def _area(user) -> str | None:
    region = getattr(user, "region", None)
    if region is None or getattr(user, "department_id", None) is None:
        return None
    return region.path


def rows_in_area_q(user, prefix: str = "") -> Q:
    """Source rows (``prefix`` leads to one) lying in ``user``'s subtree."""
    path = _area(user)
    if path is None:
        return Q(pk__in=[])
    return subtree_q(path, f"{prefix}region_path")


def _own_q(user, prefix: str = "") -> Q:
    return Q(**{f"{prefix}dataset__department_id": user.department_id})


def pair_q(user, prefix: str = "") -> Q:
    """Review items or decisions (``record_a``/``record_b``) the steward works on."""
    if _area(user) is None:
        return Q(pk__in=[])
    return (rows_in_area_q(user, f"{prefix}record_a__")
            & rows_in_area_q(user, f"{prefix}record_b__")
            & (_own_q(user, f"{prefix}record_a__") | _own_q(user, f"{prefix}record_b__")))


def review_items(user) -> QuerySet[ReviewItem]:
    return ReviewItem.objects.filter(pair_q(user))


def decisions(user) -> QuerySet[LinkDecision]:
    return LinkDecision.objects.filter(pair_q(user))


def area_persons(user) -> QuerySet[Person]:
    """Active persons with rows, all of them in the steward's subtree (any department's)."""
    if _area(user) is None:
        return Person.objects.none()
    rows = SourceRecord.objects.filter(person=OuterRef("pk"))
    return Person.objects.filter(Exists(rows), ~Exists(rows.exclude(rows_in_area_q(user))),
                                 status=PersonStatus.ACTIVE)


def persons(user) -> QuerySet[Person]:
    """Persons in the steward's subtree holding a row of his department."""
    if _area(user) is None:
        return Person.objects.none()
    rows = SourceRecord.objects.filter(person=OuterRef("pk"))
    return area_persons(user).filter(Exists(rows.filter(_own_q(user))))


def may_merge(user, person_ids: list[int]) -> bool:
    """Persons the steward may put together: all of them in his subtree, and one of them
    (at least) holding a row of his department — the pair rule, for persons."""
    wanted = set(person_ids)
    return (set(area_persons(user).filter(pk__in=wanted).values_list("pk", flat=True))
            == wanted and persons(user).filter(pk__in=wanted).exists())


def rows(user) -> QuerySet[SourceRecord]:
    """Source rows of persons the steward works on (any department's, shown masked)."""
    return SourceRecord.objects.filter(person__in=persons(user).values("pk"))
