"""Catalogue pages — 数据目录: datasets and their standard fields, managing them, access
requests and their decisions, shared rows, the access log, and the lists sent down to grids.

Thin: ``service`` decides and audits, ``rows`` reads and logs, ``lists`` finds the lists.
A refusal (``CatalogError``) renders the refusal page with its status and message; a bad
input renders the form again with the error on its field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.models import Department
from wangge.accounts.permissions import has_permission, permission_required
from wangge.accounts.scope import visible_to
from wangge.registry.models import SourceRecord
from wangge.registry.retention import due_for_retention

from . import catalogue, lists, rows, service
from .fields import standard_fields
from .forms_ui import DatasetForm, DecisionForm, PublishForm, RequestForm
from .models import Entity, RequestStatus, SharingClass
from .service import CatalogError, Invalid

PER_PAGE = 50
CSV_TYPE = "text/csv; charset=utf-8"


def refusals(view: Callable) -> Callable:
    """A service's refusal becomes the refusal page, with its status and message."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except CatalogError as exc:
            return render(request, "catalog/refused.html",
                          {"message": exc.message, "status": exc.status}, status=exc.status)

    return wrapped


# Where a service's error about an input shows on a form (others go on top).
FORM_FIELD = {"fields": ("carried", "fields_asked")}


def _form_error(form, exc: Invalid) -> None:
    names = FORM_FIELD.get(exc.field, (exc.field,))
    target = next((n for n in names if n in form.fields), None)
    form.add_error(target, exc.message)


def _query(params: dict) -> str:
    return urlencode({k: v for k, v in params.items() if v})


# -- the catalogue ------------------------------------------------------------------------


@permission_required("catalog.view")
@refusals
def catalogue_view(request: HttpRequest) -> HttpResponse:
    """Datasets, filtered by department, sharing class, entity and a text search."""
    filters = catalogue.CatalogueFilter.from_query(request.GET)
    datasets = catalogue.catalogue(request.user, filters)
    page = Paginator(datasets, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "catalog/index.html", {
        "page": page, "filters": filters,
        "query": _query({"department": filters.department,
                         "sharing_class": filters.sharing_class, "entity": filters.entity,
                         "q": filters.q}),
        "departments": Department.objects.filter(datasets__isnull=False).distinct()
        .order_by("code"),
        "sharing_classes": SharingClass.choices, "entities": Entity.choices,
        "can_create": has_permission(request.user, "catalog.manage"),
        "can_lists": has_permission(request.user, "catalog.lists"),
        "can_requests": request.user.department_id is not None and (
            has_permission(request.user, "catalog.request")
            or has_permission(request.user, "catalog.approve")),
    })


@permission_required("catalog.view")
def fields_view(request: HttpRequest) -> HttpResponse:
    """The standard field definitions every dataset, import and form uses."""
    return render(request, "catalog/fields.html",
                  {"rows": catalogue.field_rows(standard_fields().values()), "tab": "fields"})


@permission_required("catalog.view")
@refusals
def dataset_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    dataset = catalogue.get_dataset(user, code)
    status = service.grant_status(user, dataset)
    readable = status.code in ("own", "open", "sent_down", "live")
    return render(request, "catalog/dataset.html", {
        "dataset": dataset, "fields": catalogue.field_specs(dataset), "status": status,
        "rows_visible": visible_to(SourceRecord, user).filter(dataset=dataset).count(),
        "can_manage": catalogue.can_manage(user, dataset),
        "can_read": readable and has_permission(user, "catalog.read"),
        "can_see_log": service.is_owner_steward(user, dataset),
        # Rows past retention that the next daily pass removes (owner's steward only).
        "retention_due": (due_for_retention(dataset)
                          if service.is_owner_steward(user, dataset) else None),
        "publish_form": PublishForm(initial={"flows_down": dataset.flows_down,
                                             "tag": dataset.tag_id},
                                    tags=catalogue.publish_tags(dataset)),
    })


def _save_dataset(request: HttpRequest, form: DatasetForm, dataset) -> object | None:
    try:
        return catalogue.save_dataset(request.user, dataset, form.to_input())
    except Invalid as exc:
        _form_error(form, exc)
    except service.Conflict as exc:
        form.add_error("code" if "code" in form.fields else None, exc.message)
    return None


@permission_required("catalog.manage")
@refusals
def dataset_create(request: HttpRequest) -> HttpResponse:
    form = DatasetForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = _save_dataset(request, form, None)
        if saved is not None:
            messages.success(request, _("Dataset saved."))
            return redirect("catalog:dataset", code=saved.code)
    return render(request, "catalog/dataset_form.html", {"form": form, "dataset": None},
                  status=422 if request.method == "POST" else 200)


def _managed(request: HttpRequest, code: str):
    dataset = catalogue.get_dataset(request.user, code)
    if not catalogue.can_manage(request.user, dataset):
        raise service.Forbidden(_("Only a steward of %(department)s or an administrator "
                                  "manages this dataset.")
                                % {"department": dataset.department.name})
    return dataset


@permission_required("catalog.manage")
@refusals
def dataset_edit(request: HttpRequest, code: str) -> HttpResponse:
    dataset = _managed(request, code)
    form = DatasetForm(request.user, request.POST or None, dataset=dataset,
                       initial=DatasetForm.initial_for(dataset))
    if request.method == "POST" and form.is_valid():
        saved = _save_dataset(request, form, dataset)
        if saved is not None:
            messages.success(request, _("Dataset saved."))
            return redirect("catalog:dataset", code=saved.code)
    return render(request, "catalog/dataset_form.html", {"form": form, "dataset": dataset},
                  status=422 if request.method == "POST" else 200)


@permission_required("catalog.manage")
@require_POST
@refusals
def dataset_publish(request: HttpRequest, code: str) -> HttpResponse:
    dataset = _managed(request, code)
    form = PublishForm(request.POST, tags=catalogue.publish_tags(dataset))
    if not form.is_valid():
        raise Invalid(" ".join(e for errs in form.errors.values() for e in errs))
    catalogue.set_published(request.user, dataset, flows_down=form.cleaned_data["flows_down"],
                          tag=form.cleaned_data["tag"])
    messages.success(request, _("Publishing saved."))
    return redirect("catalog:dataset", code=dataset.code)


# -- requests --------------------------------------------------------------------------------


@permission_required("catalog.request")
@refusals
def request_create(request: HttpRequest, code: str) -> HttpResponse:
    dataset = catalogue.get_dataset(request.user, code)
    form = RequestForm(dataset, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service.request_access(request.user, dataset, purpose=data["purpose"],
                                   fields=data["fields_asked"], days=data["days"])
        except Invalid as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Request sent to %(department)s.")
                             % {"department": dataset.department.name})
            return redirect("catalog:requests")
    return render(request, "catalog/request_form.html",
                  {"form": form, "dataset": dataset,
                   "status": service.grant_status(request.user, dataset)},
                  status=422 if request.method == "POST" else 200)


@permission_required("catalog.view")
def requests_view(request: HttpRequest) -> HttpResponse:
    """The department's requests, and (for its stewards) those for its datasets."""
    user = request.user
    visible = service.visible_requests(user)
    outgoing = visible.filter(department_id=user.department_id)
    incoming = (visible.filter(dataset__department_id=user.department_id)
                if has_permission(user, "catalog.approve") else visible.none())
    pages = {"outgoing": Paginator(outgoing, PER_PAGE).get_page(request.GET.get("page")),
             "incoming": Paginator(incoming, PER_PAGE).get_page(request.GET.get("ipage"))}
    known = standard_fields()
    for page in pages.values():
        for req in page:
            req.field_labels = [known[c].label if c in known else c for c in req.fields]
    return render(request, "catalog/requests.html", {
        **pages,
        "pending": RequestStatus.PENDING, "approved": RequestStatus.APPROVED,
        "decision_form": DecisionForm(),
    })


@permission_required("catalog.view")
@require_POST
@refusals
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if action == "withdraw":
        service.withdraw(request.user, pk)
    elif action in service.DECISIONS:
        service.decide(request.user, pk, action, note)
    else:
        raise service.NotFound(_("No such action."))
    messages.success(request, service.done_message(action))
    return redirect("catalog:requests")


# -- shared rows -------------------------------------------------------------------------------


def _rows_context(request: HttpRequest, result: rows.RowsPage, grids) -> dict:
    return {"result": result, "dataset": result.dataset, "grids": grids,
            "query": _query({"grid": result.grid}),
            "items": [{"row": r, "cells": list(zip(result.fields, result.cells(r),
                                                   strict=True))}
                      for r in result.rows],
            "page": Paginator(range(result.total), result.page_size).get_page(result.page)}


@permission_required("catalog.read")
@refusals
def records_view(request: HttpRequest, code: str) -> HttpResponse:
    """The rows of a dataset the reader may read, masked, paged; each view logged."""
    dataset = catalogue.get_dataset(request.user, code, permission="catalog.read")
    result = rows.read(request.user, dataset, permission="catalog.read", channel="page",
                       page=request.GET.get("page"), grid=request.GET.get("grid", ""))
    context = _rows_context(request, result, rows.grid_choices(request.user, dataset))
    context["export_url"] = reverse("catalog:records_export", args=[dataset.code])
    return render(request, "catalog/records.html", context)


def _csv(name: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type=CSV_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@permission_required("catalog.read")
@refusals
def records_export(request: HttpRequest, code: str) -> HttpResponse:
    dataset = catalogue.get_dataset(request.user, code, permission="catalog.read")
    return _csv(*rows.export_csv(request.user, dataset, permission="catalog.read",
                                 grid=request.GET.get("grid", "")))


@permission_required("catalog.approve")
@refusals
def access_log_view(request: HttpRequest, code: str) -> HttpResponse:
    dataset = catalogue.get_dataset(request.user, code, permission="catalog.approve")
    entries = rows.access_log(request.user, dataset)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "catalog/access_log.html", {"dataset": dataset, "page": page})


# -- lists sent down -----------------------------------------------------------------------


@permission_required("catalog.lists")
@refusals
def lists_view(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/lists.html", {"lists": lists.lists_for(request.user)})


@permission_required("catalog.lists")
@refusals
def list_view(request: HttpRequest, code: str) -> HttpResponse:
    result = lists.read_list(request.user, code, page=request.GET.get("page"),
                             grid=request.GET.get("grid", ""))
    context = _rows_context(request, result, rows.grid_choices(request.user, result.dataset))
    context["export_url"] = reverse("catalog:list_export", args=[code])
    return render(request, "catalog/list.html", context)


@permission_required("catalog.lists")
@refusals
def list_export(request: HttpRequest, code: str) -> HttpResponse:
    return _csv(*lists.export_list(request.user, code, grid=request.GET.get("grid", "")))


urlpatterns = [
    path("", catalogue_view, name="index"),
    path("fields/", fields_view, name="fields"),
    path("datasets/new/", dataset_create, name="dataset_create"),
    path("datasets/<slug:code>/", dataset_detail, name="dataset"),
    path("datasets/<slug:code>/edit/", dataset_edit, name="dataset_edit"),
    path("datasets/<slug:code>/publish/", dataset_publish, name="dataset_publish"),
    path("datasets/<slug:code>/request/", request_create, name="request_create"),
    path("datasets/<slug:code>/records/", records_view, name="records"),
    path("datasets/<slug:code>/records.csv", records_export, name="records_export"),
    path("datasets/<slug:code>/log/", access_log_view, name="access_log"),
    path("requests/", requests_view, name="requests"),
    path("requests/<int:pk>/<slug:action>/", request_action, name="request_action"),
    path("lists/", lists_view, name="lists"),
    path("lists/<slug:code>/", list_view, name="list"),
    path("lists/<slug:code>/export.csv", list_export, name="list_export"),
]
