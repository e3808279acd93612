"""Command pages: the figures of a node (数据看板) and the one map (一张图).

Thin: the question comes from the query string (``service.read_question``), the numbers
from ``service.figures_page`` (through ``figures.service``, which checks scope and filters),
the map's layers from the API (``layers``) in the browser. A bad period or filter renders
the page with the error named, status 422; a node out of scope is a 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission, permission_required
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.cases.models import Category
from wangge.regions.models import Level, Region
from wangge.regions.queries import level_labels

from . import layers, service


def _errors(exc: ValidationError) -> list[str]:
    return [f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]


def _crumbs(user, node: Region) -> list[dict]:
    """The node's ancestors, top first; linked only within the user's scope (drill up)."""
    ancestors = list(node.ancestors())
    within = set(visible_to(Region, user).filter(code__in=[a.code for a in ancestors])
                 .values_list("code", flat=True))
    return [{"code": a.code, "name": a.name, "linked": a.code in within} for a in ancestors]


def _period_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, (label, _rule) in service.PRESETS.items()]


@permission_required("figures.view")
def figures_view(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """A node's figures for a period: headline, open by stage, trend, children to drill."""
    user = request.user
    context: dict = {
        "periods": _period_choices(),
        "choices": service.filter_choices(user),
        "can_map": has_permission(user, "command.map"),
        "is_handler": user.role == Role.HANDLER,
        "department": user.department,
    }
    status = 200
    try:
        question = service.read_question(code, request.GET)
        context["question"] = question
        page = service.figures_page(user, question)
    except ValidationError as exc:
        context["errors"] = _errors(exc)
        context["params"] = request.GET
        return render(request, "command/figures.html", context, status=422)
    node = page["summary"]["node"]
    query = question.query()
    # A bar of the children chart drills down like the table's link.
    page["charts"]["children"]["urls"] = [
        reverse("command:figures_node", args=[c["code"]]) + (f"?{query}" if query else "")
        for c in page["children"]]
    context.update(page)
    context.update({
        "node": node,
        "level_name": level_labels().get(node["level"], ""),
        "query": query,
        "is_grid": node["level"] == Level.GRID,
        "chart_strings": {"reported": _("reported"), "closed": _("closed"),
                          "open": _("open now"), "overdue": _("overdue now")},
    })
    return render(request, "command/figures.html", context, status=status)


def _map_strings() -> dict[str, str]:
    """What map.js writes on the page, translated here so the script holds no language."""
    return {
        "drawn": _("%(count)s areas on the map. Tap one to open it."),
        "single": _("The boundary of %(name)s with its cases."),
        "empty": _("Nothing here has a boundary to draw."),
        "loadFailed": _("The map could not be loaded. Reload the page to try again."),
        "points": _("Showing %(shown)s of %(total)s cases reported in the period."),
        "allPoints": _("%(total)s cases reported in the period."),
        "layerAreas": _("Areas"),
        "layerCases": _("Case points"),
        "layerHeat": _("Heat of cases"),
        "layerPlaces": _("Key places"),
        "openCase": _("Open the case"),
        "state": _("State"),
        "category": _("Category"),
        "open": _("open now"),
        "overdue": _("overdue now"),
        "reported": _("reported"),
    }


@permission_required("command.map")
def map_view(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """The one map of a node: children coloured by a measure, case points, heat, places."""
    user = request.user
    node = layers.map_node(user, code)
    context: dict = {
        "node": node,
        "crumbs": _crumbs(user, node),
        "level_name": level_labels().get(node.level, ""),
        "periods": _period_choices(),
        "measures": [(m.key, str(m.label)) for m in layers.MEASURES.values()],
        "categories": list(Category.objects.filter(parent__isnull=True, is_active=True)
                           .values_list("code", "name")),
        "is_grid": node.is_grid,
    }
    try:
        question = service.read_question(node.code, request.GET)
        measure = layers.measure_for(request.GET.get("measure", "").strip())
        if question.source or question.department:
            raise ValidationError({"source" if question.source else "department":
                                   "the map filters by category and period only"})
        layers.category_q(user, question.category)
    except ValidationError as exc:
        context.update({"errors": _errors(exc), "params": request.GET})
        return render(request, "command/map.html", context, status=422)
    p = question.period
    api = {"node": node.code, "start": p.start.isoformat(), "end": p.end.isoformat(),
           "category": question.category}
    context.update({
        "question": question,
        "measure": measure.key,
        "query": question.query(measure=measure.key if measure.key != layers.DEFAULT_MEASURE
                                else ""),
        "map_config": {
            "api": api,
            "measure": measure.key,
            "query": question.query(measure=measure.key if measure.key != layers.DEFAULT_MEASURE
                                    else ""),
            "areasUrl": reverse("api:command_map_areas"),
            "casesUrl": reverse("api:command_map_cases"),
            "heatUrl": reverse("api:command_map_heat"),
            "placesUrl": reverse("api:command_map_places"),
            "mapUrl": reverse("command:map_node", args=["__code__"]),
            "strings": _map_strings(),
        },
    })
    return render(request, "command/map.html", context)
