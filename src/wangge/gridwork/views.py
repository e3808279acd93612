"""Grid matters pages — 网格事项准入清单: a department's items and its application form, the
district's review queue, an item with its full history, and the public list (no login).

Thin: ``service`` decides, checks and audits. A refusal renders the refusal page with its
status and message; a bad input renders the form again with the error on its field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import has_permission, permission_required

from . import service
from .forms import ApplyForm
from .models import MatterStatus
from .service import Application, Invalid, MatterError


def refusals(view: Callable) -> Callable:
    """A service's refusal becomes the refusal page, with its status and message."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except MatterError as exc:
            return render(request, "gridwork/refused.html",
                          {"message": exc.message, "status": exc.status}, status=exc.status)

    return wrapped


def _can(user) -> dict[str, bool]:
    return {"apply": has_permission(user, "gridwork.apply"),
            "review": has_permission(user, "gridwork.review")}


@permission_required("gridwork.view")
@refusals
def index(request: HttpRequest) -> HttpResponse:
    """The items the user sees (a department: its own), and the form to apply for one."""
    can = _can(request.user)
    form = ApplyForm(request.POST or None) if can["apply"] else None
    if request.method == "POST":
        service.require(request.user, "gridwork.apply")
        if form.is_valid():
            data = form.cleaned_data
            try:
                item = service.apply(request.user, Application(
                    name=data["name"], basis=data["basis"], duties=data["duties"],
                    frequency=data["frequency"], fields=tuple(data["fields"])))
            except Invalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Application sent to the district for review."))
                return redirect("gridwork:item", pk=item.pk)
    status = 422 if form is not None and form.errors else 200
    return render(request, "gridwork/index.html", {
        "items": service.visible_items(request.user)[:200], "form": form, "can": can,
    }, status=status)


@permission_required("gridwork.review")
def queue(request: HttpRequest) -> HttpResponse:
    """Applications waiting for the reviewer's district: admissions and exits."""
    return render(request, "gridwork/queue.html",
                  {"items": service.review_queue(request.user), "can": _can(request.user)})


@permission_required("gridwork.view")
@refusals
def item(request: HttpRequest, pk: int) -> HttpResponse:
    """One item, what the user may do with it now, and its full history."""
    found = service.get_item(request.user, pk)
    can = _can(request.user)
    mine = request.user.department_id == found.department_id
    reviewer = can["review"] and request.user.region_id == found.region_id
    return render(request, "gridwork/item.html", {
        "item": found, "decisions": found.decisions.select_related("by"),
        "may_review_admission": reviewer and found.status == MatterStatus.APPLIED,
        "may_review_exit": reviewer and found.status == MatterStatus.EXIT_APPLIED,
        "may_apply_exit": can["apply"] and mine and found.status == MatterStatus.ADMITTED,
    })


@require_POST
@permission_required("gridwork.view")
@refusals
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Admit, refuse, apply for exit, approve or refuse an exit; the service checks who."""
    day = parse_date(request.POST.get("on") or "") if request.POST.get("on") else None
    if request.POST.get("on") and day is None:
        raise Invalid(_("The date is not valid (YYYY-MM-DD)."), field="on")
    service.decide(request.user, pk, action, request.POST.get("note", ""), on=day)
    messages.success(request, _("Done."))
    return redirect("gridwork:item", pk=pk)


def public(request: HttpRequest) -> HttpResponse:
    """The public list (no login): admitted items with their effective date, exited ones
    with their exit date. Department, basis, duties — no personal data."""
    items = list(service.public_items())
    return render(request, "gridwork/public.html", {
        "admitted": [i for i in items if i.on_list],
        "exited": [i for i in items if i.status == MatterStatus.EXITED],
    })
