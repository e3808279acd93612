"""Pages to edit routing rules — 派遣规则: list, add, change, delete, and try a route.

Thin: the form turns input into models, ``routing``'s services check permission and scope,
validate and audit. A rule outside the administrator's subtree is a 404 like a missing one.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from wangge.accounts.models import Department
from wangge.accounts.permissions import permission_required
from wangge.accounts.scope import visible_to
from wangge.regions.models import Region

from . import routing
from .models import Category, RoutingRule

PER_PAGE = 50
# Where a service's error about a model field shows on the form (others go on top).
FORM_FIELD = {"region": "region_code", "category": "category", "lead": "lead",
              "assisting": "assisting"}


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        # Children indented under their parent; the code helps when names repeat.
        prefix = "— " if obj.parent_id else ""
        return f"{prefix}{obj.name} ({obj.code})"


def _department_label(obj: Department) -> str:
    # The node tells two "城管局" of different districts apart.
    return f"{obj.name} · {obj.region.name}"


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return _department_label(obj)


class DepartmentMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return _department_label(obj)


def _categories() -> list[Category]:
    """Parents each followed by their children, so the select reads as the two-level tree."""
    rows = list(Category.objects.filter(is_active=True).order_by("sort", "code"))
    children: dict[int | None, list[Category]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)
    ordered = []
    for top in children.get(None, []):
        ordered.append(top)
        ordered.extend(children.get(top.pk, []))
    return ordered


class RuleForm(forms.Form):
    category = CategoryChoiceField(label=_lazy("category"), queryset=Category.objects.none())
    # Typed by code: a city has thousands of grids, no select could list them.
    region_code = forms.CharField(
        label=_lazy("region code"), max_length=32,
        help_text=_lazy("The node the rule covers, with everything under it (e.g. a street "
                        "or grid code)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    lead = DepartmentChoiceField(label=_lazy("lead department"),
                                 queryset=Department.objects.none())
    assisting = DepartmentMultipleChoiceField(
        label=_lazy("assisting departments"), required=False,
        queryset=Department.objects.none(),
        widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_lazy("active"), required=False, initial=True)

    def __init__(self, user, *args, rule: RoutingRule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        cats = _categories()
        if rule is not None and rule.category not in cats:
            cats.append(rule.category)  # a retired category stays editable on its old rules
        self.fields["category"].queryset = Category.objects.filter(
            pk__in=[c.pk for c in cats])
        # Keep the tree order in the select (a queryset would re-sort by code).
        self.fields["category"].choices = [("", "---------")] + [
            (c.pk, self.fields["category"].label_from_instance(c)) for c in cats]
        departments = routing.departments_for(user).order_by("region__path", "code")
        self.fields["lead"].queryset = departments
        self.fields["assisting"].queryset = departments

    def clean_region_code(self) -> Region:
        code = self.cleaned_data["region_code"].strip()
        region = visible_to(Region, self.user).filter(code=code).first()
        if region is None:
            raise ValidationError(
                _("No region with code %(code)s in your area.") % {"code": code})
        return region


def _initial(rule: RoutingRule) -> dict:
    return {"category": rule.category_id, "region_code": rule.region.code,
            "lead": rule.lead_id, "assisting": [d.pk for d in rule.assisting.all()],
            "is_active": rule.is_active}


def _save(request: HttpRequest, form: RuleForm, rule: RoutingRule | None) -> bool:
    """Hand the form to the service; its validation errors land on the form's fields."""
    data = form.cleaned_data
    values = {"category": data["category"], "region": data["region_code"], "lead": data["lead"],
              "assisting": data["assisting"], "is_active": data["is_active"]}
    try:
        if rule is None:
            routing.create_rule(request.user, **values)
        else:
            routing.update_rule(request.user, rule, **values)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(FORM_FIELD.get(field), errors)
        return False
    return True


@permission_required("cases.configure")
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = routing.editable_rules(request.user).order_by("region__path", "category__code")
    q = request.GET.get("q", "").strip()
    if q:
        rules = rules.filter(region__code__startswith=q) | rules.filter(
            category__name__contains=q) | rules.filter(lead__name__contains=q)
    page = Paginator(rules, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cases/rules.html", {"page": page, "q": q, "trial": _trial(request)})


def _trial(request: HttpRequest) -> dict | None:
    """Try a route: which rule would a case of this category at this node get?"""
    cat_id = request.GET.get("try_category", "")
    code = request.GET.get("try_region", "").strip()
    if not cat_id.isdigit() or not code:
        return {"categories": _categories(), "asked": False}
    category = Category.objects.filter(pk=int(cat_id)).first()
    region = visible_to(Region, request.user).filter(code=code).first()
    result = routing.route(category, region) if category and region else None
    return {"categories": _categories(), "asked": True, "category": category, "region": region,
            "code": code, "result": result}


@permission_required("cases.configure")
def rule_create(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid() and _save(request, form, None):
        messages.success(request, _("Routing rule saved."))
        return redirect("case_rules:list")
    return render(request, "cases/rules_form.html", {"form": form, "rule": None},
                  status=400 if request.method == "POST" else 200)


def _rule_or_404(request: HttpRequest, pk: int) -> RoutingRule:
    return get_object_or_404(routing.editable_rules(request.user), pk=pk)


@permission_required("cases.configure")
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(request, pk)
    form = RuleForm(request.user, request.POST or None, initial=_initial(rule), rule=rule)
    if request.method == "POST" and form.is_valid() and _save(request, form, rule):
        messages.success(request, _("Routing rule saved."))
        return redirect("case_rules:list")
    return render(request, "cases/rules_form.html", {"form": form, "rule": rule},
                  status=400 if request.method == "POST" else 200)


@permission_required("cases.configure")
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(request, pk)
    routing.delete_rule(request.user, rule)
    messages.success(request, _("Routing rule deleted."))
    return redirect("case_rules:list")
