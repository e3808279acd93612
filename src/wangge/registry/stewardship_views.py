"""Pages for a resident's own data and for erasure requests — 个人数据与删除/匿名化申请.

Thin: ``own_data`` and ``erasure`` own the rules and the transactions. Without the
permission a page is a 403; a person or request out of scope (or not hers) is a 404; a bad
form re-renders with the error named, status 422.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import has_permission, permission_required
from wangge.accounts.scope import get_visible_or_404

from . import erasure, own_data
from .models import ErasureKind, Person

PAGE_SIZE = 30


class ErasureForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("what should happen"),
                             choices=ErasureKind.choices, widget=forms.RadioSelect,
                             initial=ErasureKind.ANONYMISE)
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=erasure.REASON_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}))


class OwnErasureForm(ErasureForm):
    person = forms.IntegerField(widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("decision"), widget=forms.RadioSelect,
        choices=(("approve", gettext_lazy("approve and carry out")),
                 ("refuse", gettext_lazy("refuse"))))
    note = forms.CharField(label=gettext_lazy("note"), required=False,
                           max_length=erasure.NOTE_MAX,
                           help_text=gettext_lazy("Required when refusing: the requester "
                                                  "reads it."),
                           widget=forms.Textarea(attrs={"rows": 2}))


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, messages_ in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
        form.add_error(field if field in form.fields else None, messages_)


# --- a resident's own data ---------------------------------------------------------------------

def _own_page(request: HttpRequest, form: OwnErasureForm | None = None, status: int = 200
              ) -> HttpResponse:
    user = request.user
    failed = form.cleaned_data.get("person") if form is not None and hasattr(
        form, "cleaned_data") else None
    return render(request, "registry/privacy/me.html", {
        "records": own_data.own_records(user),
        "requests": erasure.requests_of(user)[:20],
        "form": form, "blank_form": OwnErasureForm(), "failed_person": failed,
    }, status=status)


@permission_required(own_data.PERMISSION)
def own_data_page(request: HttpRequest) -> HttpResponse:
    """What the platform holds about her, masked, from whom and since when."""
    return _own_page(request)


@require_POST
@permission_required(own_data.PERMISSION)
def own_export(request: HttpRequest) -> HttpResponse:
    """Her data as JSON, clear values included (audited in the service)."""
    payload = own_data.export_own_data(request.user)
    response = HttpResponse(json.dumps(payload, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@permission_required(own_data.PERMISSION)
def own_erase(request: HttpRequest) -> HttpResponse:
    """She asks for her record to be anonymised or deleted."""
    form = OwnErasureForm(request.POST)
    if form.is_valid():
        try:
            _req, created = erasure.request_own_erasure(
                request.user, form.cleaned_data["person"], form.cleaned_data["kind"],
                form.cleaned_data["reason"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Your request was sent to the data stewards.")
                             if created else _("You have already asked for this."))
            return redirect("registry_privacy:me")
    return _own_page(request, form, status=422)


# --- erasure requests -------------------------------------------------------------------------

@login_required
def erasure_list(request: HttpRequest) -> HttpResponse:
    """Stewards: the requests of their subtree, pending first. Everyone: their own."""
    user = request.user
    if not erasure.can_list(user):
        raise PermissionDenied(erasure.DECIDE_PERMISSION)
    deciding = has_permission(user, erasure.DECIDE_PERMISSION)
    page = Paginator(erasure.requests_to_decide(user), PAGE_SIZE).get_page(
        request.GET.get("page")) if deciding else None
    return render(request, "registry/privacy/erasure_list.html", {
        "deciding": deciding, "page": page, "mine": erasure.requests_of(user)[:PAGE_SIZE],
        "own_data": has_permission(user, own_data.PERMISSION),
    })


@permission_required(erasure.REQUEST_PERMISSION)
def erasure_new(request: HttpRequest, person_id: int) -> HttpResponse:
    """Staff ask to anonymise or delete a person they can see."""
    person = get_visible_or_404(Person.objects.select_related("region"), request.user,
                                pk=person_id)
    form = ErasureForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                req, created = erasure.request_erasure(
                    request.user, person.pk, form.cleaned_data["kind"],
                    form.cleaned_data["reason"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Request sent to the data stewards.") if created
                                 else _("You have already asked for this."))
                return redirect("registry_privacy:erasure_detail", pk=req.pk)
        status = 422
    return render(request, "registry/privacy/erasure_new.html",
                  {"person": person, "form": form}, status=status)


def _detail(request: HttpRequest, req, form: DecisionForm | None = None, status: int = 200
            ) -> HttpResponse:
    can_decide = erasure.can_decide(request.user, req)
    return render(request, "registry/privacy/erasure_detail.html", {
        "req": req, "can_decide": can_decide,
        "own_request": req.requested_by_id == request.user.pk,
        "form": form or (DecisionForm() if can_decide else None),
        "kept": erasure.KEPT_COLUMNS,
    }, status=status)


@login_required
def erasure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, erasure.get_request_or_404(request.user, pk))


@require_POST
@permission_required(erasure.DECIDE_PERMISSION)
def erasure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """A steward approves (carrying it out) or refuses, with a note."""
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            req = erasure.decide(request.user, pk, form.cleaned_data["decision"] == "approve",
                                 form.cleaned_data["note"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("registry_privacy:erasure_detail", pk=req.pk)
    req = erasure.get_request_or_404(request.user, pk)
    return _detail(request, req, form, status=422)
