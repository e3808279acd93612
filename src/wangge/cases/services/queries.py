"""Reading cases: the scoped list with its filters, and one case with everything around it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q

from ..models import Case, Category
from ..workflow import DISPATCHERS, OPEN_STATES
from .errors import CaseNotFound


@dataclass
class CaseFilters:
    """List filters. ``node`` is a region code (a grid, community, street …): cases in its
    subtree. ``category`` includes the category's children. ``q`` searches code, title,
    description and address."""

    state: str | None = None
    category: str | None = None
    source: str | None = None
    node: str | None = None
    overdue: bool | None = None
    q: str | None = None


def visible_cases(actor) -> QuerySet[Case]:
    return visible_to(Case.objects.select_related("category", "region"), actor)


def list_cases(actor, filters: CaseFilters) -> QuerySet[Case]:
    """The cases ``actor`` may see that match ``filters``, newest first."""
    qs = visible_cases(actor)
    if filters.state:
        qs = qs.filter(state__in=[s.strip() for s in filters.state.split(",") if s.strip()])
    if filters.category:
        qs = qs.filter(Q(category__code=filters.category)
                       | Q(category__parent__code=filters.category))
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.node:
        path = Region.objects.filter(code=filters.node).values_list("path", flat=True).first()
        # Narrowing the already scoped set: a node outside the scope simply finds nothing.
        qs = qs.filter(subtree_q(path, "region_path")) if path else qs.none()
    if filters.overdue is not None:
        late = Q(state__in=OPEN_STATES, due_at__lt=timezone.now())
        qs = qs.filter(late) if filters.overdue else qs.exclude(late)
    if filters.q:
        text = filters.q.strip()
        qs = qs.filter(Q(code__iexact=text) | Q(title__icontains=text)
                       | Q(description__icontains=text) | Q(address__icontains=text))
    return qs.order_by("-created_at", "-id")


def get_case(actor, code: str) -> Case:
    case = visible_cases(actor).filter(code=code).first()
    if case is None:
        raise CaseNotFound(_("no such case"))
    return case


def duplicate_candidates(actor, case: Case) -> list[Case]:
    """Possible duplicates offered to dispatchers only (others neither merge nor need them),
    and only among cases the dispatcher can see."""
    if getattr(actor, "role", None) not in DISPATCHERS:
        return []
    from ..duplicates import suggest_duplicates

    found = [c for c in suggest_duplicates(case) if c.pk != case.pk]
    if not found:
        return []
    visible = set(visible_to(Case, actor).filter(pk__in=[c.pk for c in found])
                  .values_list("pk", flat=True))
    return [c for c in found if c.pk in visible]


def active_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True).select_related("parent")
