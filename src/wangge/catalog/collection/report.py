"""The burden report — 减负报告: what a department's forms did not have to ask.

Per form: targets, fields total (targets × fields), pre-filled versus asked (totals and per
field), and how far the answers have come in each grid. Over the department's forms: the
share of fields pre-filled (the burden saved). Counts only: no personal value appears here.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q

from wangge.catalog.fields import get_field
from wangge.catalog.models import CollectionForm, FormStatus
from wangge.regions.models import Region

from .prefill import Plan

BURDEN_KEYS = ("targets", "fields_total", "prefilled", "asked")


def share(part: int, whole: int) -> float:
    """``part / whole`` as a fraction in [0, 1] (0 when there is nothing)."""
    return round(part / whole, 4) if whole else 0.0


def form_report(form: CollectionForm) -> dict:
    """The burden and progress of an issued (or closed) form."""
    rows = list(form.targets.values_list("region_id", "prefilled", "asked", "answered_at"))
    per_field = [{"field": code, "label": get_field(code).label,
                  "prefilled": sum(code in pre for _r, pre, _a, _t in rows),
                  "asked": sum(code in asked for _r, _p, asked, _t in rows)}
                 for code in form.fields]
    grids: dict[int, dict] = {}
    for region_id, _pre, asked, answered_at in rows:
        grid = grids.setdefault(region_id, {"targets": 0, "answered": 0, "asked": 0})
        grid["targets"] += 1
        grid["asked"] += len(asked)
        grid["answered"] += answered_at is not None
    names = dict(Region.objects.filter(pk__in=grids).values_list("pk", "code"))
    labels = dict(Region.objects.filter(pk__in=grids).values_list("pk", "name"))
    by_grid = sorted(({"code": names.get(pk, ""), "name": labels.get(pk, ""), **g}
                      for pk, g in grids.items()), key=lambda g: g["code"])
    burden = {k: int((form.burden or {}).get(k, 0)) for k in BURDEN_KEYS}
    answered = sum(g["answered"] for g in by_grid)
    return {"burden": burden, "answered": answered, "open": burden["targets"] - answered,
            "saved_share": share(burden["prefilled"], burden["fields_total"]),
            "per_field": per_field, "by_grid": by_grid}


def preview_report(result: Plan) -> dict:
    """The same figures for a draft, from what issuing it now would do."""
    burden = result.burden
    return {"burden": burden, "answered": 0, "open": burden["targets"],
            "saved_share": share(burden["prefilled"], burden["fields_total"]),
            "per_field": result.per_field(), "by_grid": []}


def chart_data(report: dict) -> dict:
    """The answered-by-grid bar chart's numbers (ECharts reads them from the page)."""
    grids = report["by_grid"]
    return {"labels": [g["name"] for g in grids],
            "answered": [g["answered"] for g in grids],
            "open": [g["targets"] - g["answered"] for g in grids]}


def overview(forms: Iterable[CollectionForm]) -> dict:
    """Each form's burden saved and progress, and the department's totals over issued ones."""
    forms = list(forms)
    answered = dict(CollectionForm.objects.filter(pk__in=[f.pk for f in forms]).annotate(
        n=Count("targets", filter=Q(targets__answered_at__isnull=False)))
        .values_list("pk", "n"))
    rows, totals = [], dict.fromkeys(BURDEN_KEYS, 0)
    for form in forms:
        burden = {k: int((form.burden or {}).get(k, 0)) for k in BURDEN_KEYS}
        if form.status != FormStatus.DRAFT:
            for k in BURDEN_KEYS:
                totals[k] += burden[k]
        rows.append({"form": form, "burden": burden, "answered": answered.get(form.pk, 0),
                     "saved_share": share(burden["prefilled"], burden["fields_total"])})
    totals["saved_share"] = share(totals["prefilled"], totals["fields_total"])
    return {"rows": rows, "totals": totals}
