"""Routing — 派遣规则: which department leads (主办) and which assist (协办) on a case.

A rule says "category C in region R → lead department (+ assisting)". For a case in a grid,
the rules that can apply are those of the case's category or its parent category, at the grid
or any node above it. The most specific wins: the deepest node first, and at the same node the
exact category before its parent. A case no rule covers goes to the dispatcher's queue
(``route`` returns None).

The rule services below are the only code that writes rules. Administrators (permission
``cases.configure``) edit the rules of their own subtree; an unbound administrator all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet

from wangge.accounts.models import Department
from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import visible_to
from wangge.audit.services import record
from wangge.core.memo import Snapshot
from wangge.regions.models import Region

from .models import Category, RoutingRule


@dataclass(frozen=True)
class RouteResult:
    """Where a case goes: the lead department, the assisting ones, and the rule that said so."""

    lead: Department
    assisting: tuple[Department, ...]
    rule_id: int
    rule_region_code: str
    exact_category: bool  # False when the rule is for the parent category


def _path_prefixes(path: str) -> list[str]:
    """Every node path on the way to ``path``: "37.3701." → ["37.", "37.3701."]."""
    codes = path.rstrip(".").split(".")
    return [".".join(codes[: i + 1]) + "." for i in range(len(codes))]


def route(category: Category, region: Region | str | None) -> RouteResult | None:
    """The most specific active rule for ``category`` at ``region`` (a node or its path).

    Two queries whatever the depth: the candidate rules of the whole path at once, then the
    winner's assisting departments. Inactive rules, and rules whose lead department is
    inactive, are passed over so a less specific rule can still apply.
    """
    path = region if isinstance(region, str) else (region.path if region is not None else "")
    if not path or category is None:
        return None
    rules = _active_rules.get()
    prefixes = _path_prefixes(path)
    categories = [category.pk] + ([category.parent_id] if category.parent_id else [])
    for prefix in reversed(prefixes):  # the deepest node first, own category before parent
        for category_id in categories:
            found = rules.get((category_id, prefix))
            if found is not None:
                return replace(found, exact_category=category_id == category.pk)
    return None


def _load_active_rules() -> dict[tuple[int, str], RouteResult]:
    rules = (RoutingRule.objects.filter(is_active=True, lead__is_active=True)
             .select_related("lead", "region")
             .only("category_id", "lead", "region", "lead__code", "lead__name",
                   "lead__region_id", "lead__is_active", "region__code", "region__path")
             .prefetch_related(Prefetch("assisting", queryset=Department.objects.filter(
                 is_active=True).order_by("code"))))
    out = {}
    for rule in rules:
        assisting = tuple(d for d in rule.assisting.all() if d.pk != rule.lead_id)
        out[(rule.category_id, rule.region.path)] = RouteResult(
            lead=rule.lead, assisting=assisting, rule_id=rule.pk,
            rule_region_code=rule.region.code, exact_category=True)
    return out


_active_rules = Snapshot(_load_active_rules).clear_on(RoutingRule, Department)


# --- Editing rules ------------------------------------------------------------------------

def editable_rules(user) -> QuerySet[RoutingRule]:
    """Rules at nodes in the user's subtree — the ones the user may see and edit."""
    return (RoutingRule.objects.filter(region__in=visible_to(Region, user))
            .select_related("category", "category__parent", "region", "lead")
            .prefetch_related("assisting"))


def departments_for(user) -> QuerySet[Department]:
    """Active departments a rule in the user's subtree could name.

    A department serves its own node's subtree, so a rule may name one at the rule's node or
    above it: the user's subtree plus the user's ancestors (e.g. a city bureau).
    """
    qs = Department.objects.filter(is_active=True).select_related("region")
    region = getattr(user, "region", None)
    if region is None:
        return qs.filter(region__in=visible_to(Region, user))
    above = _path_prefixes(region.path)[:-1]
    return qs.filter(region__in=visible_to(Region, user)) | qs.filter(region__path__in=above)


def _check_editor(user, region: Region) -> None:
    require_permission(user, "cases.configure")
    if not visible_to(Region, user).filter(pk=region.pk).exists():
        raise PermissionDenied("cases.configure: region outside your area")


def _clean(category: Category, region: Region, lead: Department,
           assisting: list[Department], exclude_pk: int | None = None) -> None:
    """Refuse a rule that could never route sensibly, naming the field at fault."""
    errors: dict[str, str] = {}
    if category.parent_id is not None and category.parent.parent_id is not None:
        errors["category"] = f"category {category.code} is deeper than two levels"
    for field, dept in [("lead", lead)] + [("assisting", d) for d in assisting]:
        if not region.path.startswith(dept.region.path):
            errors.setdefault(field, f"department {dept.code} ({dept.name}) serves "
                                     f"{dept.region.name}, which does not cover {region.name}")
        elif not dept.is_active:
            errors.setdefault(field, f"department {dept.code} ({dept.name}) is inactive")
    if lead in assisting:
        errors["assisting"] = f"department {lead.code} is already the lead department"
    clash = RoutingRule.objects.filter(category=category, region=region)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        errors["region"] = (f"a rule for {category.name} at {region.name} ({region.code}) "
                            "already exists; edit that one")
    if errors:
        raise ValidationError(errors)


def _describe(rule: RoutingRule, assisting: Iterable[Department]) -> dict:
    return {"category": rule.category.code, "region": rule.region.code, "lead": rule.lead.code,
            "assisting": sorted(d.code for d in assisting), "is_active": rule.is_active}


@transaction.atomic
def create_rule(user, *, category: Category, region: Region, lead: Department,
                assisting: Iterable[Department] = (), is_active: bool = True) -> RoutingRule:
    """Add a routing rule at ``region`` (in the user's subtree)."""
    _check_editor(user, region)
    assisting = list(assisting)
    _clean(category, region, lead, assisting)
    rule = RoutingRule.objects.create(category=category, region=region, lead=lead,
                                      is_active=is_active)
    rule.assisting.set(assisting)
    record("cases.routing_rule.create", rule, detail=_describe(rule, assisting))
    return rule


@transaction.atomic
def update_rule(user, rule: RoutingRule, *, category: Category, region: Region,
                lead: Department, assisting: Iterable[Department] = (),
                is_active: bool = True) -> RoutingRule:
    """Change a rule; both its old and its new node must be in the user's subtree."""
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    _check_editor(user, rule.region)
    _check_editor(user, region)
    assisting = list(assisting)
    before = _describe(rule, rule.assisting.all())
    _clean(category, region, lead, assisting, exclude_pk=rule.pk)
    rule.category, rule.region, rule.lead, rule.is_active = category, region, lead, is_active
    rule.save()
    rule.assisting.set(assisting)
    record("cases.routing_rule.update", rule,
           detail={"before": before, "after": _describe(rule, assisting)})
    return rule


@transaction.atomic
def delete_rule(user, rule: RoutingRule) -> None:
    """Remove a rule; cases it routed keep their departments."""
    rule = RoutingRule.objects.select_related("category", "region", "lead").get(pk=rule.pk)
    _check_editor(user, rule.region)
    detail = _describe(rule, rule.assisting.all())
    pk = rule.pk
    rule.delete()
    record("cases.routing_rule.delete", object_type="cases.routingrule", object_id=pk,
           detail=detail)
