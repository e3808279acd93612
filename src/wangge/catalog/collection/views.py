"""Collection-form pages — 采集表: build, preview, issue and report (a department); the
to-do list and the answer page (the grid, on a phone).

Thin: every rule lives in ``service`` / ``fill``; a refusal renders the page again with the
service's words and its status (409 / 422); out of scope or another department's form is 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import has_permission, permission_required
from wangge.catalog.fields import get_field
from wangge.catalog.models import FormStatus

from . import fill, report, service
from .errors import FormError
from .inputs import AnswerForm, BuildForm
from .prefill import local_day

TARGETS_PER_PAGE = 50


def index(request: HttpRequest) -> HttpResponse:
    """A department's forms with the burden saved; a grid worker goes to his to-do list."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_permission(user, service.MANAGE):
        if has_permission(user, fill.FILL):
            return redirect("collection:todo")
        raise PermissionDenied(service.MANAGE)
    try:
        forms = service.manageable_forms(user)
    except FormError as exc:
        return render(request, "catalog/forms/list.html", {"error": exc.message},
                      status=exc.status)
    return render(request, "catalog/forms/list.html",
                  {"overview": report.overview(forms), "can_fill": has_permission(user, fill.FILL)})


@permission_required(service.MANAGE)
def new(request: HttpRequest) -> HttpResponse:
    """Build a draft form."""
    user = request.user
    form = BuildForm(user, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            created = service.create_form(user, form.spec())
        except FormError as exc:
            form.show_errors(exc.errors or {"": exc.message})
            status = exc.status
        else:
            messages.success(request, _("Draft saved. Check what it will ask, then issue it."))
            return redirect("collection:detail", pk=created.pk)
    elif request.method == "POST":
        status = 422
    return render(request, "catalog/forms/build.html", {"form": form, "editing": None},
                  status=status)


@permission_required(service.MANAGE)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft."""
    user = request.user
    current = service.get_manageable(user, pk)
    if current.status != FormStatus.DRAFT:
        messages.error(request, _("Only a draft can be changed."))
        return redirect("collection:detail", pk=pk)
    form = BuildForm(user, request.POST or None, initial=BuildForm.initial_for(current))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            service.update_form(user, pk, form.spec())
        except FormError as exc:
            form.show_errors(exc.errors or {"": exc.message})
            status = exc.status
        else:
            messages.success(request, _("Draft saved."))
            return redirect("collection:detail", pk=pk)
    elif request.method == "POST":
        status = 422
    return render(request, "catalog/forms/build.html", {"form": form, "editing": current},
                  status=status)


def _detail_context(user, form) -> dict:
    context: dict = {"cf": form, "labels": [get_field(c).label for c in form.fields]}
    if form.status == FormStatus.DRAFT:
        result = service.preview(user, form)
        refusal = service.refusal_for(form, result)
        context.update({"report": report.preview_report(result), "refusal": refusal,
                        "pointers": result.pointers})
    else:
        context["report"] = report.form_report(form)
        context["chart"] = report.chart_data(context["report"])
        context["chart_height"] = max(220, 28 * len(context["report"]["by_grid"]) + 60)
        context["chart_strings"] = {"answered": _("answered"), "open": _("open")}
    return context


@permission_required(service.MANAGE)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's preview (what it would pre-fill, ask or be refused for), or an issued
    form's burden report and progress by grid."""
    form = service.get_manageable(request.user, pk)
    return render(request, "catalog/forms/detail.html", _detail_context(request.user, form))


@require_POST
@permission_required(service.MANAGE)
def issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue a draft; a refusal shows the draft again with the reason and the pointers."""
    try:
        done = service.issue_form(request.user, pk)
    except FormError as exc:
        form = service.get_manageable(request.user, pk)
        context = _detail_context(request.user, form)
        context["error"] = exc
        return render(request, "catalog/forms/detail.html", context, status=exc.status)
    if done.already:
        messages.info(request, _("This form was already issued."))
    else:
        b = done.form.burden
        messages.success(request, _("Issued to %(targets)d persons: %(prefilled)d values "
                                    "pre-filled, %(asked)d asked.") % b)
    return redirect("collection:detail", pk=pk)


@require_POST
@permission_required(service.MANAGE)
def close(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        service.close_form(request.user, pk)
    except FormError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The form is closed: no more answers are taken."))
    return redirect("collection:detail", pk=pk)


@permission_required(fill.FILL)
def todo(request: HttpRequest) -> HttpResponse:
    """The user's targets of issued forms: open ones first, with due dates."""
    targets = fill.todo(request.user)
    page = Paginator(targets, TARGETS_PER_PAGE).get_page(request.GET.get("page"))
    open_count = targets.filter(answered_at__isnull=True).count()
    return render(request, "catalog/forms/todo.html",
                  {"page": page, "open_count": open_count})


def _answer_form(target, data=None, *, editing: bool) -> AnswerForm:
    initial = {"key": uuid.uuid4().hex, "edit": editing}
    return AnswerForm(target.asked, data, initial=initial, editing=editing)


@permission_required(fill.FILL)
def target(request: HttpRequest, pk: int) -> HttpResponse:
    """One person of a form: pre-filled values (masked, with source and date) and inputs for
    the asked fields only. POST answers (or, with "edit", changes the answer)."""
    user = request.user
    item = fill.get_target(user, pk)
    answered = item.answered_at is not None
    asked_to_edit = (request.POST.get("edit") in ("1", "True", "on")
                     if request.method == "POST" else request.GET.get("edit") == "1")
    editing = answered and asked_to_edit
    form = _answer_form(item, request.POST if request.method == "POST" else None,
                        editing=editing)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = fill.submit_answer(user, pk, form.values(),
                                            key=form.cleaned_data["key"],
                                            edit=bool(form.cleaned_data.get("edit")))
            except FormError as exc:
                form.show_errors(exc.errors or {"": exc.message})
                status = exc.status
            else:
                messages.success(request, _("Answer saved.") if not result.replayed
                                 else _("Answer already saved."))
                return redirect("collection:target", pk=pk)
        else:
            status = 422
        item = fill.get_target(user, pk)
    return render(request, "catalog/forms/target.html",
                  _target_context(item, form, editing=editing), status=status)


def _target_context(item, form: AnswerForm, *, editing: bool) -> dict:
    sources = fill.sources_of([item])
    prefilled = []
    for code in item.form.fields:
        if code not in item.prefilled:
            continue
        known = item.prefilled[code]
        dataset = sources.get(known.get("dataset", ""))
        prefilled.append({"field": code, "label": get_field(code).label,
                          "display": known.get("display", ""),
                          "source": dataset.name if dataset else known.get("dataset", ""),
                          "department": dataset.department.name if dataset else "",
                          "date": local_day(known.get("observed_at") or "")})
    row = fill.answer_record(item) if item.answered_at else None
    answer = fill.answer_display(item, row)
    return {"item": item, "form": form, "prefilled": prefilled, "editing": editing,
            "answer": [{"label": get_field(c).label, "display": answer.get(c, "")}
                       for c in item.asked],
            "can_answer": item.form.status == FormStatus.ISSUED,
            "edit_url": reverse("collection:target", args=[item.pk]) + "?edit=1"}
