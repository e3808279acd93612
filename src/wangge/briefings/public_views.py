"""The public transparency page — 政务公开 (no login). Thin: see ``public`` for what is
published and why nothing personal is."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from . import public


def index(request: HttpRequest) -> HttpResponse:
    try:
        node = public.public_node(request.GET.get("node"))
        listing = public.matters(node, request.GET.get("page"))
    except ValidationError:
        raise Http404 from None
    data = public.figures(node)
    windows = [(label, data["windows"][key], public.present(data["windows"][key]))
               for key, label in public.WINDOW_LABELS.items()]
    items = [{**m, "state_label": public.state_label(m["state"])} for m in listing["items"]]
    return render(request, "public/index.html", {
        "node": node, "data": data, "as_of": parse_datetime(data["as_of"]), "windows": windows,
        "matters": listing, "items": items, "choices": public.node_choices(),
        "query": urlencode({"node": node.code}),
        "chart": {"months": [m["month"] for m in data["by_month"]],
                  "received": [m["received"] for m in data["by_month"]],
                  "closed": [m["closed"] for m in data["by_month"]],
                  "labels": {"received": str(public.FIGURES[0][1]),
                             "closed": str(public.FIGURES[1][1])}},
    })
