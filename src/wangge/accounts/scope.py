"""Scoping — 数据权限: every staff account sees only its node's subtree.

This module is the one place that turns "who is asking" into a row filter. Models declare
``scope_path_field`` (the path that places a row in the tree); pages and API fetch through
``visible_to`` / ``get_visible_or_404`` and never filter by region themselves.

A model whose rows need more than the subtree rule (cases: a department handler sees only what
his department is assigned, a resident only what she reported) declares a classmethod
``scope_refine(user, base: Q) -> Q`` that receives the subtree filter and returns the final
one. It is called from here, for signed-in active users only, so the rule still lives in one
place per model and every fetch goes through it.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from wangge.regions.tree import subtree_q

from .roles import UNBOUND_ROLES

M = TypeVar("M", bound=Model)


def scope_q(user, model: type[Model]) -> Q:
    """The filter that limits ``model`` rows to what ``user`` may see.

    Unauthenticated users see nothing. Administrators and auditors without a node serve the
    whole deployment. Everyone else sees the subtree of their node — as refined by the model's
    ``scope_refine`` hook when it declares one.
    """
    field = getattr(model, "scope_path_field", None)
    if field is None:
        raise TypeError(f"{model.__name__} declares no scope_path_field; it cannot be scoped")
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    base = _subtree_scope(user, field)
    refine = getattr(model, "scope_refine", None)
    return refine(user, base) if refine is not None else base


def _subtree_scope(user, field: str) -> Q:
    region = getattr(user, "region", None)
    if region is None:
        if user.role in UNBOUND_ROLES:
            return Q()
        return Q(pk__in=[])
    return subtree_q(region.path, field)


def visible_to(queryset: QuerySet[M] | type[M], user) -> QuerySet[M]:
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    return qs.filter(scope_q(user, qs.model))


def get_visible_or_404(queryset: QuerySet[M] | type[M], user, **lookup) -> M:
    """Fetch one row the user may see; anything else — missing or out of scope — is a 404.

    Out-of-scope rows answer exactly like missing ones, so guessing IDs tells nothing.
    """
    qs = visible_to(queryset, user)
    try:
        return qs.get(**lookup)
    except qs.model.DoesNotExist:
        raise Http404 from None
