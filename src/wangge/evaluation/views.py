"""Evaluation pages — 综合评价: the ranking, a unit's card, the index weights.

Thin: ``service`` checks permission and scope, computes and validates; a node or unit
outside the reader's area is a 404 like a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from wangge.accounts.permissions import permission_required
from wangge.figures.service import home_node

from . import service
from .indicators import BY_CODE, INDICATORS, Unit
from .models import WeightSet

UNIT_CHOICES = (
    (Unit.STREET, _lazy("streets")),
    (Unit.COMMUNITY, _lazy("communities")),
    (Unit.DEPARTMENT, _lazy("departments")),
    (Unit.GRID_WORKER, _lazy("grid workers")),
)


def _params(request: HttpRequest) -> dict:
    g = request.GET
    return {"kind": g.get("unit") or Unit.STREET, "node": g.get("node") or None,
            "start": g.get("start") or None, "end": g.get("end") or None}


def _errors(exc: ValidationError) -> list[str]:
    return [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]


@permission_required("evaluation.view")
def index(request: HttpRequest) -> HttpResponse:
    """The ranking of one kind of unit inside a node, with trend arrows and a bar chart."""
    p = _params(request)
    context = {"units": UNIT_CHOICES, "unit": p["kind"], "node_code": p["node"] or "",
               "start": p["start"] or "", "end": p["end"] or ""}
    try:
        data = service.ranking(request.user, p["kind"], p["node"], p["start"], p["end"])
    except ValidationError as exc:
        context["errors"] = _errors(exc)
        return render(request, "evaluation/index.html", context, status=422)
    chart = {"names": [r["unit"]["name"] for r in data["rows"] if r["score"] is not None],
             "scores": [r["score"] for r in data["rows"] if r["score"] is not None],
             "previous": [r["previous_score"] for r in data["rows"] if r["score"] is not None],
             "labels": {"now": _("this period"), "before": _("previous period")}}
    context.update(data=data, chart=chart, node_code=data["node"]["code"],
                   start=data["period"]["start"], end=data["period"]["end"],
                   home=home_node(request.user).code)
    return render(request, "evaluation/index.html", context)


@permission_required("evaluation.view")
def unit(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """One unit's card: index score, every indicator with its formula parts and definition,
    the dimensions (radar) and what moved the score."""
    p = _params(request)
    try:
        card = service.unit_card(request.user, kind, key, p["node"], p["start"], p["end"])
    except ValidationError as exc:
        return render(request, "evaluation/unit.html", {"errors": _errors(exc)}, status=422)
    chinese = service._chinese()
    chart = {
        "dimensions": [{"name": d["zh"] if chinese else d["en"], "max": 100}
                       for d in card["dimensions"]],
        "now": [d["score"] or 0 for d in card["dimensions"]],
        "before": [d["previous_score"] or 0 for d in card["dimensions"]],
        "labels": {"now": _("this period"), "before": _("previous period")},
    }
    for row in card["indicators"]:
        row["label"] = row["zh"] if chinese else row["en"]
        row["text"] = value_text(row["value"], row["unit"])
        row["previous_text"] = value_text(row["previous_value"], row["unit"])
    return render(request, "evaluation/unit.html", {
        "card": card, "chart": chart, "kind": kind, "query": request.GET.urlencode(),
        "unit_label": dict(UNIT_CHOICES).get(kind, kind)})


def value_text(value: float | None, unit: str) -> str:
    """A value as people read it: 83.3 %, 1.1 h, 4 — or a dash when it is undefined."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit == "hours":
        return _("%(n).1f h") % {"n": value}
    return f"{value:g}"


def _spec_from_post(post, current: dict) -> dict:
    """The weight set as submitted: each dimension's weight, and for each indicator the
    dimension it belongs to (or none) and its weight there."""
    dims = []
    for d in current["dimensions"]:
        code = d["code"]
        chosen = {i.code: post.get(f"w-{i.code}", "0") for i in INDICATORS
                  if post.get(f"d-{i.code}") == code}
        dims.append({"code": code, "zh": d["zh"], "en": d["en"],
                     "weight": post.get(f"dim-{code}", "0"), "indicators": chosen})
    return {"dimensions": dims}


def _rows(spec: dict, post=None) -> list[dict]:
    """One row per indicator: its dimension and weight now (or as just submitted)."""
    where = {ind: (d["code"], w) for d in spec["dimensions"] for ind, w in d["indicators"].items()}
    rows = []
    for i in INDICATORS:
        dim, weight = where.get(i.code, ("", 0))
        if post is not None:
            dim, weight = post.get(f"d-{i.code}", ""), post.get(f"w-{i.code}", "0")
        rows.append({"indicator": i, "dimension": dim, "weight": weight})
    return rows


@permission_required("evaluation.configure")
def weights(request: HttpRequest) -> HttpResponse:
    """Administrators edit the index: dimension weights, which indicator sits in which
    dimension with what weight. Each save is a new, audited version; the history stays."""
    current = service.current_weights()
    errors: dict[str, list[str]] = {}
    post = None
    if request.method == "POST":
        post = request.POST
        try:
            ws = service.save_weights(request.user, _spec_from_post(post, current.spec),
                                      post.get("note", ""))
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Saved as version %(v)s.") % {"v": ws.version})
            return redirect("evaluation:weights")
    dims = [{**d, "submitted": post.get(f"dim-{d['code']}") if post else d["weight"],
             "error": " ".join(errors.get(f"{d['code']}.weight", []) + errors.get(d["code"], []))}
            for d in current.spec["dimensions"]]
    rows = _rows(current.spec, post)
    for r in rows:
        r["error"] = " ".join(m for k, v in errors.items() if k.endswith(f".{r['indicator'].code}")
                              for m in v)
    top = [f"{k}: {' '.join(v)}" for k, v in errors.items()
           if "." not in k and k not in {d["code"] for d in dims}]
    history = list(WeightSet.objects.select_related("created_by")[:20])
    return render(request, "evaluation/weights.html", {
        "current": current, "dims": dims, "rows": rows, "errors": top, "has_errors": bool(errors),
        "note": post.get("note", "") if post else "", "history": history, "by_code": BY_CODE,
    }, status=422 if errors else 200)
