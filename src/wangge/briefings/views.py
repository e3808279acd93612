"""Briefing pages — 简报页面: the list, the printable page and the XLSX download. Thin: the
scope, the reader's filtering and the audit are in ``service``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from wangge.accounts.permissions import permission_required
from wangge.accounts.scope import visible_to
from wangge.regions.models import Region

from . import service
from .models import Kind
from .render import tables

PER_PAGE = 30
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _node_choices(user) -> list[Region]:
    return list(visible_to(Region, user).filter(level__lte=service.LOWEST_LEVEL)
                .order_by("path"))


@permission_required("briefings.view")
def briefing_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    node = request.GET.get("node", "")
    errors: dict = {}
    try:
        qs = service.list_briefings(request.user, kind=kind, node=node)
    except ValidationError as exc:
        errors = exc.message_dict
        qs = service.list_briefings(request.user)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (("kind", kind), ("node", node)) if v})
    return render(request, "briefings/list.html", {
        "page": page, "kinds": Kind.choices, "kind": kind, "node": node, "errors": errors,
        "nodes": _node_choices(request.user), "query": query,
    }, status=422 if errors else 200)


@permission_required("briefings.view")
def briefing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    briefing = service.get_briefing(request.user, pk)
    parts = tables(service.sections_for(request.user, briefing))
    charts = {t.key: t.chart for t in parts if t.chart}
    return render(request, "briefings/detail.html", {
        "briefing": briefing, "content": briefing.content, "tables": parts, "charts": charts,
    })


@permission_required("briefings.view")
def briefing_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    briefing, data = service.export_xlsx(request.user, pk)
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{service.file_name(briefing, "xlsx")}"')
    return response
