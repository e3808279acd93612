from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from wangge.accounts.permissions import permission_required

from . import filters


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("who"), required=False)
    action = forms.CharField(label=_("action"), required=False)
    object_id = forms.CharField(label=_("object"), required=False)
    node = forms.CharField(label=_("node code"), required=False)
    since = forms.DateField(label=_("from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("to"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))


@permission_required("audit.view")
def audit_search(request):
    form = AuditSearchForm(request.GET or None)
    criteria = form.cleaned_data if form.is_valid() else {}
    records = filters.search(request.user, **{k: v for k, v in criteria.items() if v})
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    return render(request, "audit/search.html", {"form": form, "page": page})
